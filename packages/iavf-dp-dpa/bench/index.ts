// @emu/iavf-dp-dpa benchmark: 64-byte packets through the delegated data path beside the direct software path, in the
// same run. Direct: guest ↔ emu_iavf0 (iavf-dp-sw) ↔ net_null. Delegated: guest ↔ emu_iavf2 (front, provider dpa) ↔
// emu_iavf1 (delegate over vfio-user, iavf-dp-sw) ↔ net_null. One worker thread runs the guest's ring poller and the
// io forwarding for either path (iavf-dp-sw's bench loop, `bench/poller.mjs` there). On the delegated path the guest
// connects after the bind, so the doorbell file it is given is the delegate's: it stores its tails there directly.
// The third path, emu_iavf4 (dpa) ↔ emu_iavf3, has its guest connected before the bind: it stores its tails in the
// front's own page and the relay thread copies them to the delegate's. See README.md.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { EmudevRegistry } from "@emu/emudev";
import { attachDelegate, delegateOf, register as registerDpa } from "@emu/iavf-dp-dpa";
import { register as registerSw } from "@emu/iavf-dp-sw";
import { REGISTER_BAR } from "@emu/iavf-emu";
import { builtinPortDrivers, emudevService, MbufPool, type Port, PortRegistry } from "@emu/port";
import { VfioUserClient } from "@emu/vfio-user-client";
import { bringUp, GUEST, RawDriver, rxRing, txRing, VSI } from "../../iavf-dp-sw/test/fixtures/guest.js";

const quick = process.argv.includes("--quick");
const MS = quick ? 1000 : 3000;
const RING = 2048;
const POLLER = new URL("../../iavf-dp-sw/bench/poller.mjs", import.meta.url);
const dir = mkdtempSync(join(tmpdir(), "iavf-dp-dpa-bench-"));
const emudev = new EmudevRegistry();
const ports = new PortRegistry(builtinPortDrivers);
ports.provide(emudevService, emudev);
registerSw({ ports, emudev });
registerDpa({ ports, emudev });

async function device(name: string) {
  const dev = emudev.create(`${name},sock=${join(dir, `${name}.sock`)},queues=1,mac=02:00:00:00:00:01`);
  dev.configure({ resetDelayMs: 0 });
  await dev.start();
  return dev;
}
const direct = await device("emu_iavf0");
await device("emu_iavf1"); // the delegate of emu_iavf2 (its net_iavfbe1 port is made below)
const front = await device("emu_iavf2");
await device("emu_iavf3"); // the delegate of emu_iavf4 (net_iavfbe2)
const relayed = await device("emu_iavf4");
const pool = MbufPool.create("bench", { count: 16384 });
const made: Port[] = [];
for (const d of [
  "net_iavfbe0,emu=emu_iavf0",
  "net_iavfbe1,emu=emu_iavf1",
  "net_null0,size=64",
  "net_null1,size=64",
  "net_iavfbe2,emu=emu_iavf3",
]) {
  const p = await ports.create(d);
  await p.configure({ pool, rxQueues: 1, txQueues: 1 });
  await p.start();
  made.push(p);
}
await attachDelegate(front, await VfioUserClient.connect(join(dir, "emu_iavf1.sock")), emudev);
// emu_iavf4's guest connects before its delegate is bound: it maps the front's own doorbell page, the relay copies.
const early = await RawDriver.open(join(dir, "emu_iavf4.sock"));
await attachDelegate(relayed, await VfioUserClient.connect(join(dir, "emu_iavf3.sock")), emudev);

/** A raw guest over vfio-user in this process for the mailbox; its rings are polled from the worker. */
async function guestOf(dev: typeof direct, connected?: RawDriver) {
  const drv = connected ?? (await RawDriver.open(join(dir, `${dev.name}.sock`)));
  await bringUp(drv, 1, undefined, RING);
  await drv.call({ kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 1 });
  const file = dev.dma.files()[0]!;
  const bar = dev.regions().find((r) => r.index === REGISTER_BAR)!;
  return {
    drv,
    guest: {
      fd: file.fd,
      offset: file.offset,
      size: Number(file.size),
      iova: Number(file.iova),
      txRing: Number(txRing(0) - GUEST),
      rxRing: Number(rxRing(0) - GUEST),
      frame: 0x30_0000,
    },
    doorbell: { fd: bar.fd, size: bar.memory!.length },
  };
}
const g0 = await guestOf(direct);
const g2 = await guestOf(front);
const g4 = await guestOf(relayed, early);
await new Promise((r) => setTimeout(r, 300)); // the delegate configured (asynchronous virtchnl)

async function run(
  mode: "null" | "tx" | "rx",
  g: Awaited<ReturnType<typeof guestOf>>,
  iavfbe: Port,
): Promise<{ mpps: number; guest: number }> {
  const leases = [iavfbe, made[2]!, made[3]!].map((p) => p.lease());
  const [be, n0, n1] = leases.map((l) => l.description);
  const w = new Worker(POLLER, {
    workerData: { mode, ms: MS, ring: RING, guest: g.guest, doorbell: g.doorbell, iavfbe: be, nul: n0, nul2: n1 },
  });
  const r = await new Promise<{ moved: number; guestMoved: number }>((resolve, reject) => {
    w.once("message", resolve);
    w.once("error", reject);
  });
  await w.terminate();
  for (const l of leases) l.release();
  return { mpps: r.moved / MS / 1000, guest: r.guestMoved / MS / 1000 };
}

const baseline = (await run("null", g0, made[0]!)).mpps;
const rows: [string, { mpps: number; guest: number }][] = [
  ["guest TX → emu_iavf0 (iavf-dp-sw) → net_null", await run("tx", g0, made[0]!)],
  ["guest TX → emu_iavf2 (dpa) → emu_iavf1 (iavf-dp-sw) → net_null", await run("tx", g2, made[1]!)],
  ["guest TX → emu_iavf4 (dpa, tails relayed) → emu_iavf3 (iavf-dp-sw) → net_null", await run("tx", g4, made[4]!)],
  ["net_null → emu_iavf0 (iavf-dp-sw) → guest RX", await run("rx", g0, made[0]!)],
  ["net_null → emu_iavf1 (iavf-dp-sw) → emu_iavf2 (dpa) → guest RX", await run("rx", g2, made[1]!)],
  ["net_null → emu_iavf3 (iavf-dp-sw) → emu_iavf4 (dpa, tails relayed) → guest RX", await run("rx", g4, made[4]!)],
];
console.log(`\n64-byte packets, 1 queue pair of ${RING} descriptors, ${MS} ms each, one forwarding thread\n`);
console.log("| path | Mpps | × net_null → net_null | guest saw (Mpps) |");
console.log("| --- | --- | --- | --- |");
console.log(`| net_null → net_null (baseline) | ${baseline.toFixed(2)} | 1.000 | |`);
for (const [name, r] of rows)
  console.log(`| ${name} | ${r.mpps.toFixed(2)} | ${(r.mpps / baseline).toFixed(3)} | ${r.guest.toFixed(2)} |`);
// What the guest saw is the figure: on RX the back-end's transmit takes every packet and discards what finds no
// posted buffer, so only the guest's write-backs count as delivered.
const ratio = (a: number, b: number) => (rows[a]![1].guest / rows[b]![1].guest).toFixed(3);
console.log(`\ndelegated / software path (what the guest saw): guest TX ${ratio(1, 0)}, guest RX ${ratio(4, 3)}`);
console.log(`with the tails relayed / software path: guest TX ${ratio(2, 0)}, guest RX ${ratio(5, 3)}`);
for (const f of [front, relayed]) {
  const d = delegateOf(f);
  f.detach(); // the front lets its delegate go before the delegate's server closes
  await d?.close();
}
await g0.drv.close();
await g4.drv.close();
await g2.drv.close();
for (const p of made) await p.close();
await emudev.closeAll();
pool.close();
rmSync(dir, { recursive: true, force: true });
