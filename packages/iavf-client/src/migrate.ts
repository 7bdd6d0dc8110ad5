/**
 * The guest's side of a live migration (what a VMM does around the device's own migration): the driver's DMA memory
 * mapped into the new device at the same IOVAs, the device state moved by the caller's `migrate` (e.g.
 * `migrateDevice` of `@emu/vfio-user-client`), then BAR0 reached on the new device — the driver's doorbell writers
 * and the worker threads' shared rings follow it — with the admin queue, rings and buffers where they were: the VF
 * carries on without a reset. The mailbox is left idle meanwhile (the caller stopped the timers; a periodic request
 * in flight is waited for).
 */
import type { VfioDevice } from "@emu/vfio-device";
import type { SharedPair } from "./datapath/share.js";
import { window } from "./datapath/share.js";
import { IavfClientError } from "./errors.js";
import type { DriverContext } from "./internal/context.js";
import { delay } from "./internal/delay.js";

/** How long a GET_STATS in flight may hold the migration back. */
const IDLE_WAIT_MS = 2000;

export async function moveDriver<T>(
  ctx: DriverContext,
  shared: readonly SharedPair[],
  device: VfioDevice,
  migrate: (from: VfioDevice, to: VfioDevice) => Promise<T>,
  busy: () => boolean,
): Promise<T> {
  if (ctx.irqs !== undefined)
    throw new IavfClientError("Unsupported", "live migration of a driver in interrupt mode (its eventfds) is not done");
  for (let waited = 0; busy(); waited += 5) {
    if (waited >= IDLE_WAIT_MS) throw new IavfClientError("Timeout", "the mailbox did not go idle for the migration");
    await delay(5);
  }
  await ctx.pool.moveTo(device);
  const result = await migrate(ctx.device, device);
  await ctx.bar.moveTo(device);
  ctx.device = device;
  for (const [q, p] of ctx.pairs.entries()) {
    const s = shared[q];
    if (s === undefined) continue;
    for (const [ring, state] of [
      [p.tx, s.txState],
      [p.rx, s.rxState],
    ] as const) {
      const db = ctx.bar.doorbellFile(ring.tailOffset);
      if (db === undefined) throw new IavfClientError("Unsupported", "the new device's doorbell page has no file");
      state.moveDoorbell(window(db.fd, db.offset, 4, db.at));
    }
  }
  return result;
}
