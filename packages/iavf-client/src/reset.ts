/**
 * The reset task (Linux's `iavf_reset_task`), for a reset the VF asks for (RESET_VF, or a VFIO device reset) and for
 * one the PF starts (RESET_IMPENDING, or ARQLEN.ENABLE found cleared by the watchdog): wait until the reset is seen
 * (ARQLEN.ENABLE reads 0), wait for VFGEN_RSTAT = VFACTIVE, set the admin queue up again and re-send the
 * configuration — GET_VF_RESOURCES without VERSION (the PF keeps the negotiated version), the IRQ map, the MAC, the
 * queues, ENABLE_QUEUES, RSS.
 */
import { AqLen, Reg, VfrState, VirtchnlOp } from "@emu/iavf-common";
import {
  configurePromiscuous,
  configureQueues,
  configureRss,
  enableQueues,
  getResources,
  waitResetState,
} from "./bring-up.js";
import { deviceFailure } from "./errors.js";
import type { DriverContext } from "./internal/context.js";
import { delay } from "./internal/delay.js";

/** Who started the reset. */
export type ResetCause =
  /** The driver sent RESET_VF. */
  | "vf"
  /** The driver reset the device through VFIO (`VfioDevice.reset()`: vfio-user DEVICE_RESET, or an FLR). */
  | "device"
  /** The PF announced it (EVENT RESET_IMPENDING). */
  | "pf"
  /** The watchdog found ARQLEN.ENABLE cleared without an announcement. */
  | "detected";

/** `IAVF_RESET_WAIT_DETECTED_COUNT` polls of ARQLEN, 5 ms apart. */
const DETECT_TRIES = 500;
const DETECT_STEP_MS = 5;

/** Asks for the reset (RESET_VF or the VFIO reset) after a fresh admin queue, as `iavf_reset_task` does. */
async function requestReset(ctx: DriverContext, cause: ResetCause): Promise<void> {
  if (cause === "vf") {
    await ctx.adminq.shutdown(true);
    await ctx.adminq.setup();
    await ctx.mailbox.send(VirtchnlOp.RESET_VF);
  } else if (cause === "device") {
    try {
      await ctx.device.reset();
    } catch (e) {
      throw deviceFailure("VFIO device reset", e);
    }
  }
}

/** Waits until ARQLEN.ENABLE reads 0 (the PF began the reset); false if it never did ("Never saw reset"). */
async function waitResetDetected(ctx: DriverContext): Promise<boolean> {
  for (let i = 0; i < DETECT_TRIES; i++) {
    if (((await ctx.bar.read(Reg.VF_ARQLEN1)) & AqLen.ENABLE) === 0) return true;
    await delay(DETECT_STEP_MS);
  }
  return false;
}

/**
 * Runs the whole reset. `beforeEnable` is called once the queues are configured, just before ENABLE_QUEUES (the
 * driver counts link-up events from there, as Linux's RUNNING state). Resolves with whether the reset was seen.
 */
export async function resetTask(ctx: DriverContext, cause: ResetCause, beforeEnable: () => void): Promise<boolean> {
  ctx.mailbox.wait = "poll"; // vector 0 is disarmed until the VF is configured again
  await ctx.irqs?.miscDisable().catch(() => undefined);
  await requestReset(ctx, cause);
  const seen = await waitResetDetected(ctx);
  await waitResetState(ctx, [VfrState.VFACTIVE], ctx.options.resetTimeoutMs);
  // pci_restore_msi_state: assign the eventfds again (a VFIO-level reset may have dropped them).
  if (ctx.irqs) await ctx.irqs.enable();
  await ctx.adminq.shutdown(true); // iavf_shutdown_adminq: the queue is no longer alive, its registers are zeroed
  await ctx.adminq.setup();
  await getResources(ctx);
  if (ctx.irqs) {
    await ctx.irqs.miscEnable();
    ctx.mailbox.wait = "interrupt";
  }
  await configureQueues(ctx);
  beforeEnable();
  await enableQueues(ctx);
  if (ctx.irqs) await ctx.irqs.queuesEnable();
  await configureRss(ctx);
  await configurePromiscuous(ctx);
  return seen;
}

/**
 * One watchdog round (Linux's `iavf_watchdog_task`): ARQLEN.ENABLE found cleared means a reset nobody announced —
 * resolves true after draining what the PF posted just before (a RESET_IMPENDING there makes it the PF's reset); else
 * the ARQ is serviced in interrupt mode, as the watchdog queues it. `stillRunning` is asked after the register read.
 */
export async function watchdogCheck(ctx: DriverContext, stillRunning: () => boolean): Promise<boolean> {
  const arqLen = await ctx.bar.read(Reg.VF_ARQLEN1);
  if (!stillRunning()) return false;
  if ((arqLen & AqLen.ENABLE) === 0) {
    await ctx.mailbox.drainPosted();
    return true;
  }
  if (ctx.options.interrupts) await ctx.mailbox.service();
  return false;
}
