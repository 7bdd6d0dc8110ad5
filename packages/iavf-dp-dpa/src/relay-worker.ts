// The doorbell relay thread: copies each tail register the guest stored in the front device's doorbell page into the
// delegate's doorbell page, whenever the two differ and the queue is enabled on the front — a plain load and a plain
// store per tail, no message (a queue the front disabled keeps the delegate's tail until the delegate is told). It runs
// until told to stop; after `SPIN` passes in a row that found nothing new it sleeps `idleUs` between passes (a busy
// guest is followed at once, an idle one costs a wake-up per `idleUs`).
import { workerData } from "node:worker_threads";
import { type Mapping, mmap } from "@emu/sys";
import { C_COPIES, C_ENABLED, C_PASSES, C_STOP, type RelayParams } from "./relay-layout.js";

const p = workerData as RelayParams;
const ctl = new Int32Array(p.ctl);
const maps: Mapping[] = [];

function words(f: RelayParams["from"]): Uint32Array {
  const m = mmap(f.fd, f.offset, f.size, "rw");
  maps.push(m);
  return new Uint32Array(m.buffer, 0, m.length >>> 2);
}

const from = words(p.from);
const to = p.to.map(words);
const n = p.tails.length;
const src = Int32Array.from(p.tails, (t) => t.from >>> 2);
const dst = p.tails.map((t) => to[t.file]!);
const dstAt = Int32Array.from(p.tails, (t) => t.at >>> 2);
const idleMs = p.idleUs / 1000;

/** Passes without a copy before the thread starts sleeping between passes. */
const SPIN = 4096;
let idle = 0;
let copies = 0;
let passes = 0;
while (Atomics.load(ctl, C_STOP) === 0) {
  let moved = 0;
  const enabled = Atomics.load(ctl, C_ENABLED);
  for (let i = 0; i < n; i++) {
    if ((enabled & (1 << i)) === 0) continue;
    const v = Atomics.load(from, src[i]!);
    const d = dst[i]!;
    if (d[dstAt[i]!] !== v) {
      Atomics.store(d, dstAt[i]!, v);
      moved++;
    }
  }
  passes++;
  if (moved > 0) copies += moved;
  if ((passes & 1023) === 0 || moved > 0) {
    Atomics.store(ctl, C_PASSES, passes);
    Atomics.store(ctl, C_COPIES, copies);
  }
  if (moved > 0) idle = 0;
  else if (++idle > SPIN) Atomics.wait(ctl, C_STOP, 0, idleMs);
}
for (const m of maps) m.unmap();
