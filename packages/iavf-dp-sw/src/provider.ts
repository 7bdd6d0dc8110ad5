// The emudev provider "iavf-dp-sw": bound to an emu_iavf device, it keeps a Backend per device — the shared block
// its data halves (the net_iavfbe port's, in worker threads) run from — and follows the device's ops: configured,
// queues enabled and disabled, closed (each disabling or closing returns only once no worker touches what went).
import type { EmudevProvider, EmudevResources } from "@emu/emudev";
import { MAX_QUEUE_PAIRS, VfCap } from "@emu/iavf-common";
import { Backend } from "./backend.js";
import type { DataPathCounters } from "./stats.js";

/** The provider's name (`dev.attach(IAVF_DP_SW)`). */
export const IAVF_DP_SW = "iavf-dp-sw";

/**
 * What the data path implements, so the device offers the guest only these: basic L2, RSS by virtchnl and by the
 * VFQF registers, VLAN filters (no stripping or insertion), write-back on ITR, Mbps link speeds, RX polling.
 */
export const DATA_PATH_FEATURES =
  VfCap.OFFLOAD_L2 |
  VfCap.OFFLOAD_RSS_PF |
  VfCap.OFFLOAD_RSS_REG |
  VfCap.OFFLOAD_VLAN |
  VfCap.OFFLOAD_WB_ON_ITR |
  VfCap.CAP_ADV_LINK_SPEED |
  VfCap.OFFLOAD_RX_POLLING;

const backends = new WeakMap<object, Backend>();

function report(e: unknown): void {
  process.emitWarning(`iavf-dp-sw: ${e instanceof Error ? e.message : String(e)}`);
}

/** The software data path for emu_iavf devices: `registry.registerProvider(iavfDpSw)`, then `dev.attach("iavf-dp-sw")`. */
export const iavfDpSw: EmudevProvider = {
  name: IAVF_DP_SW,
  attributes: { features: BigInt(DATA_PATH_FEATURES), queueCount: 2 * MAX_QUEUE_PAIRS, deviceCount: 1024 },
  ops: {
    attached(dev) {
      backends.get(dev)?.dispose();
      backends.set(dev, new Backend(dev, report));
    },
    deviceConfigured(dev) {
      backends.get(dev)?.refresh();
    },
    queueStateSet(dev, queue, enabled) {
      backends.get(dev)?.queueChanged(queue, enabled);
    },
    deviceClosed(dev) {
      backends.get(dev)?.closed();
    },
    migrationRunning(dev, running) {
      backends.get(dev)?.migrationRunning(running);
    },
    migrationDone(dev) {
      backends.get(dev)?.refresh();
    },
    detached(dev) {
      backends.get(dev)?.dispose();
      backends.delete(dev);
    },
  },
};

/** The backend serving `dev` (attached to iavf-dp-sw), or undefined. */
export function backendOf(dev: EmudevResources): Backend | undefined {
  return backends.get(dev);
}

/** What the data path counted for `dev` (zeros when it is not attached). */
export function dataPathCounters(dev: EmudevResources): DataPathCounters | undefined {
  return backends.get(dev)?.stats.totals();
}
