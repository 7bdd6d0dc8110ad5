// The emudev provider "dpa": an emu_iavf device bound to it has its data queues served by a delegate iavf device
// (`Delegate`), chosen before the attach with `attachDelegate`. The provider's ops only schedule the delegate's
// reconfiguration: the virtchnl requests to the delegate are asynchronous, the guest memory they name stays mapped in
// the delegate (our dup of each file) until the delegate's DMA_UNMAP. Such a device cannot be migrated, and says so
// when a migration begins (`migrationTransfer`).
import type { EmudevDevice, EmudevProvider, EmudevResources } from "@emu/emudev";
import { MAX_QUEUE_PAIRS, VfCap } from "@emu/iavf-common";
import { iavf } from "@emu/iavf-emu";
import type { VfioDevice } from "@emu/vfio-device";
import { Delegate } from "./delegate.js";

/** The provider's name (`dev.attach(IAVF_DPA)`). */
export const IAVF_DPA = "dpa";

/**
 * What the front device may offer the guest on a delegated path: what the delegate's data path does with the rings
 * it is handed as they are — plain L2 and legacy descriptors, RSS and VLAN filters configured on the front (kept
 * there), write-back on ITR, Mbps link speeds, RX polling.
 */
export const DPA_FEATURES =
  VfCap.OFFLOAD_L2 |
  VfCap.OFFLOAD_RSS_PF |
  VfCap.OFFLOAD_RSS_REG |
  VfCap.OFFLOAD_VLAN |
  VfCap.OFFLOAD_WB_ON_ITR |
  VfCap.CAP_ADV_LINK_SPEED |
  VfCap.OFFLOAD_RX_POLLING;

/**
 * Delegates opened for a device, waiting for its attach: by the device itself, as two registries may each hold a
 * device of the same name.
 */
const pending = new WeakMap<object, Delegate>();
const bound = new WeakMap<object, Delegate>();

function report(e: unknown): void {
  process.emitWarning(`dpa: ${e instanceof Error ? e.message : String(e)}`);
}

/** The delegated data path: `attachDelegate(dev, device)` binds an emu_iavf device to it. */
export const iavfDpa: EmudevProvider = {
  name: IAVF_DPA,
  attributes: { features: BigInt(DPA_FEATURES), queueCount: 2 * MAX_QUEUE_PAIRS, deviceCount: 1024 },
  ops: {
    attached(dev) {
      const d = pending.get(dev);
      pending.delete(dev);
      if (d === undefined)
        throw new Error(`${dev.name}: attach it with attachDelegate(dev, device), not attach("dpa")`);
      bound.set(dev, d);
      d.bind(dev);
    },
    deviceConfigured: (dev) => bound.get(dev)?.schedule(),
    queueStateSet: (dev) => bound.get(dev)?.schedule(),
    deviceClosed: (dev) => bound.get(dev)?.schedule(),
    migrationDone: (dev) => bound.get(dev)?.schedule(),
    // The delegate does the DMA, holds the ring positions and logs no dirty page where the front could stop, save or
    // report them: refused at the start (PRE_COPY, STOP_COPY, RESUMING), before anything changes.
    migrationTransfer(dev) {
      throw new Error(
        `${dev.name} cannot be migrated while its data queues are delegated (provider "${IAVF_DPA}"): the delegate's ` +
          "DMA, ring positions and dirty pages are out of the front's reach; switch it to another data path first",
      );
    },
    detached(dev) {
      const d = bound.get(dev);
      bound.delete(dev);
      return d?.close();
    },
  },
};

/** The delegate serving `dev`, or undefined. */
export function delegateOf(dev: EmudevResources): Delegate | undefined {
  return bound.get(dev);
}

/**
 * Brings `device` (an iavf VF: a second emu_iavf over vfio-user, or a VF over kernel VFIO) up as the delegate of the
 * emu_iavf device `dev` and binds `dev` to the provider "dpa" (registered in `registry` if it is not). The device is
 * the delegate's from then on: detaching `dev` closes it. On failure `device` is closed and nothing is bound.
 */
export async function attachDelegate(
  dev: EmudevDevice,
  device: VfioDevice,
  registry: { providerNames(): readonly string[]; registerProvider(p: EmudevProvider): void },
  onError: (e: unknown) => void = report,
): Promise<Delegate> {
  let d: Delegate;
  try {
    d = await Delegate.open(device, iavf(dev).queuePairs, onError);
  } catch (e) {
    await device.close().catch(() => undefined);
    throw e;
  }
  if (!registry.providerNames().includes(IAVF_DPA)) registry.registerProvider(iavfDpa);
  pending.set(dev, d);
  try {
    dev.attach(IAVF_DPA);
  } catch (e) {
    pending.delete(dev);
    await d.close();
    throw e;
  }
  if (pending.delete(dev)) {
    // Our `attached` never ran: the registry's "dpa" is another provider (another copy of this package, say).
    dev.detach();
    await d.close();
    throw new Error(
      `${dev.name}: the provider "${IAVF_DPA}" registered in its registry is not @emu/iavf-dp-dpa's iavfDpa`,
    );
  }
  return d;
}
