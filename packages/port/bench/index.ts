// @emu/port micro-benchmark: the per-burst costs under every forwarding loop, in one thread, beside the least a
// burst handed over by reference can cost (copying 32 buffer indices). See bench/README.md.
import { builtinPortDrivers, MbufPool, openPortData, PacketRing, PortRegistry } from "@emu/port";
import { Bench } from "tinybench";

const BURST = 32;
const quick = process.argv.includes("--quick");
const pool = MbufPool.create("bench", { count: 8192 });
const bufs = new Uint32Array(BURST);
const copy = new Uint32Array(BURST);
const ring = PacketRing.create(1024);
const consumer = PacketRing.from(ring.buffer);
const registry = new PortRegistry(builtinPortDrivers);
const port = await registry.create("net_null0");
await port.configure({ pool });
await port.start();
const lease = port.lease();
const data = await openPortData(lease.description, { pool });

const bench = new Bench({ time: quick ? 300 : 1500, warmupTime: 200 });
bench
  .add("baseline: copy 32 buffer indices", () => {
    copy.set(bufs);
  })
  .add("pool: alloc 32 + free 32 (thread cache)", () => {
    pool.alloc(bufs, BURST);
    pool.free(bufs, BURST);
  })
  .add("ring: enqueue 32 + dequeue 32", () => {
    ring.enqueue(bufs, BURST);
    consumer.dequeue(bufs, BURST);
  })
  .add("net_null: rxBurst 32 + txBurst 32 (counted)", () => {
    data.rxBurst(0, bufs, BURST);
    data.txBurst(0, bufs, BURST);
  });
await bench.run();

const base = bench.tasks[0]!.result!.latency.mean;
console.log("| per burst of 32 | ns per burst | Mpps (32 / time) | × baseline |");
console.log("| --- | --- | --- | --- |");
for (const t of bench.tasks) {
  const ms = t.result!.latency.mean;
  console.log(
    `| ${t.name} | ${(ms * 1e6).toFixed(0)} | ${(BURST / ms / 1e3).toFixed(1)} | ${(ms / base).toFixed(1)} |`,
  );
}
data.close();
lease.release();
await registry.closeAll();
pool.close();
