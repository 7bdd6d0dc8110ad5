/**
 * The guest's side of a live migration (what a VMM does around the device's own migration): while the old device
 * still runs, the driver's DMA memory mapped into the new device at the same IOVAs and its BAR0 opened there; the
 * device state moved by the caller's `migrate` (e.g. `migrateDevice` of `@emu/vfio-user-client`) which calls
 * `beforeRun` while the destination has not run yet (in interrupt mode the MSI-X vectors get eventfds there, as QEMU's
 * vfio-pci assigns them when it loads the config state); then BAR0 switched to the new device — the driver's doorbell
 * writers and the worker threads' shared rings follow it — with the admin queue, rings and buffers where they were:
 * the VF carries on without a reset. The mailbox is left idle meanwhile (the caller stopped the timers and holds the
 * mailbox interrupt; a request in flight or an interrupt being served is waited for). The threads' rings are the
 * caller's to pause before the switch (its `migrate` does, once the devices are stopped): a tail a thread wrote
 * meanwhile may have reached the old device only, so the caller writes the tails again after.
 */
import type { VfioDevice } from "@emu/vfio-device";
import type { SharedPair } from "./datapath/share.js";
import { window } from "./datapath/share.js";
import { IavfClientError } from "./errors.js";
import type { DriverContext } from "./internal/context.js";
import { delay } from "./internal/delay.js";
import type { IrqMove } from "./interrupts.js";

/** How long a GET_STATS in flight (or the mailbox interrupt being served) may hold the migration back. */
const IDLE_WAIT_MS = 2000;

/** The device state's move: `beforeRun()` must be called once the destination has it and before it runs. */
export type MigrateDevice<T> = (from: VfioDevice, to: VfioDevice, beforeRun: () => Promise<void>) => Promise<T>;

export async function moveDriver<T>(
  ctx: DriverContext,
  shared: readonly SharedPair[],
  device: VfioDevice,
  migrate: MigrateDevice<T>,
  busy: () => boolean,
): Promise<T> {
  for (let waited = 0; busy(); waited += 5) {
    if (waited >= IDLE_WAIT_MS) throw new IavfClientError("Timeout", "the mailbox did not go idle for the migration");
    await delay(5);
  }
  await ctx.pool.mapInto(device);
  const bar = await ctx.bar.openOn(device);
  // The threads' doorbells must have a file on the new device: checked now, while a refusal still leaves the driver
  // on the old one (found after the move, the port would be left on neither).
  const tails = ctx.pairs.flatMap((p, q) => (shared[q] === undefined ? [] : [p.tx.tailOffset, p.rx.tailOffset]));
  if (tails.some((offset) => bar.doorbellFile(offset) === undefined)) {
    bar.abort();
    throw new IavfClientError("Unsupported", "the new device's doorbell page has no file");
  }
  const irqs = ctx.irqs;
  let moved: IrqMove | undefined;
  let result: T;
  try {
    result = await migrate(ctx.device, device, async () => {
      if (irqs !== undefined && moved === undefined) moved = await irqs.bindOn(device);
    });
  } catch (e) {
    bar.abort();
    await moved?.abort();
    throw e;
  }
  bar.commit(); // the device moved: BAR0 is the new device's from here, whatever fails below
  // A `migrate` that never called beforeRun: the vectors are assigned late (the destination runs already; the
  // mailbox interrupt handler runs once after the move, so nothing posted meanwhile waits).
  if (irqs !== undefined) moved ??= await irqs.bindOn(device);
  await moved?.commit();
  ctx.pool.use(device);
  ctx.device = device;
  for (const [q, p] of ctx.pairs.entries()) {
    const s = shared[q];
    if (s === undefined) continue;
    for (const [ring, state] of [
      [p.tx, s.txState],
      [p.rx, s.rxState],
    ] as const) {
      const db = ctx.bar.doorbellFile(ring.tailOffset)!; // checked before the move
      state.moveDoorbell(window(db.fd, db.offset, 4, db.at));
    }
  }
  return result;
}
