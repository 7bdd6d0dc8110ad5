// Interrupt vectors as a data path raises them.
import { PciIrq } from "@emu/vfio-user-proto";
import type { DeviceContext, MaybePromise, TriggerResult } from "@emu/vfio-user-server";
import { EmudevError } from "./errors.js";

/** One interrupt vector (the seeds' irq info). */
export interface IrqInfo {
  readonly vector: number;
  /** The VFIO IRQ index (MSI-X unless said otherwise). */
  readonly index: number;
  /** Raises it: delivered through the client's eventfd, pending while masked, dropped without an eventfd. */
  trigger(): TriggerResult;
  /** The guest's mask (MSI-X table, function mask, SET_IRQS mask). */
  masked(): boolean;
  /**
   * The client's eventfd for this vector (the seeds' irq info `fd`), or undefined: for a data path in another thread.
   * Writing it bypasses the guest's mask; the server owns it and it changes with the client's SET_IRQS, a reset or a
   * reconnect, so ask again then (the "connection" and "reset" events).
   */
  eventfd(): number | undefined;
}

/**
 * Told that the MSI-X `vectors` (ascending) may now be delivered elsewhere or not at all (see
 * `EmudevResources.watchIrqs`); the client's request that changed them is answered once the promise settles.
 */
export type IrqWatcher = (vectors: readonly number[]) => MaybePromise<void>;

/** The vector of a running device; checks it exists. */
export function irqInfo(ctx: DeviceContext, vector: number, count: number, index: number = PciIrq.MSIX): IrqInfo {
  if (!Number.isInteger(vector) || vector < 0 || vector >= count)
    throw new EmudevError("UnknownResource", `no interrupt vector ${vector} (the device has ${count})`);
  return {
    vector,
    index,
    trigger: () => ctx.irq.trigger(vector, index),
    masked: () => ctx.irq.masked(vector, index),
    eventfd: () => ctx.irq.eventfd(vector, index),
  };
}
