// @emu/iavf-dp-sw benchmark: 64-byte packets through emu_iavf's software data path — guest TX → net_iavfbe →
// net_null and net_null → net_iavfbe → guest RX — in one worker thread that also runs the guest's ring poller (so the
// figure is the data path's cost plus the guest's, not the machine's scheduling), beside net_null → net_null through
// the same loop in the same run (the port layer's ceiling) as a ratio. See bench/README.md.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { EmudevRegistry } from "@emu/emudev";
import { register } from "@emu/iavf-dp-sw";
import { REGISTER_BAR } from "@emu/iavf-emu";
import { builtinPortDrivers, emudevService, MbufPool, type Port, PortRegistry, tuneJitForDataPath } from "@emu/port";
import { bringUp, GUEST, RawDriver, rxRing, txRing, VSI } from "../test/fixtures/guest.js";
import { scale } from "./scale.js";

// As emu-testpmd runs its lcores: V8's inlining limits raised before any burst (baseline and data path alike).
tuneJitForDataPath();
const quick = process.argv.includes("--quick");
const MS = quick ? 1000 : 3000;
const RING = 2048;
const dir = mkdtempSync(join(tmpdir(), "iavf-dp-sw-bench-"));
const sock = join(dir, "iavf.sock");
const emudev = new EmudevRegistry();
const ports = new PortRegistry(builtinPortDrivers);
ports.provide(emudevService, emudev);
register({ ports, emudev });
const dev = emudev.create(`emu_iavf0,sock=${sock},queues=1,mac=02:00:00:00:00:01`);
dev.configure({ resetDelayMs: 0 });
await dev.start();
const pool = MbufPool.create("bench", { count: 16384 });
const made: Port[] = [];
for (const d of ["net_iavfbe0,emu=emu_iavf0", "net_null0,size=64", "net_null1,size=64"]) {
  const p = await ports.create(d);
  await p.configure({ pool, rxQueues: 1, txQueues: 1 });
  await p.start();
  made.push(p);
}

// The guest: a raw driver over vfio-user in this process for the mailbox (one queue pair of RING descriptors,
// unicast promiscuous: net_null's frames carry no address); its rings are then polled from the worker.
const drv = await RawDriver.open(sock);
await bringUp(drv, 1, undefined, RING);
await drv.call({ kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 1 });
const file = dev.dma.files()[0]!;
const bar = dev.regions().find((r) => r.index === REGISTER_BAR)!;
const guest = {
  fd: file.fd,
  offset: file.offset,
  size: Number(file.size),
  iova: Number(file.iova),
  txRing: Number(txRing(0) - GUEST),
  rxRing: Number(rxRing(0) - GUEST),
  frame: 0x30_0000,
};

async function run(mode: "null" | "tx" | "rx"): Promise<{ mpps: number; guest: number }> {
  const leases = made.map((p) => p.lease());
  const [iavfbe, n0, n1] = leases.map((l) => l.description);
  const w = new Worker(new URL("./poller.mjs", import.meta.url), {
    workerData: {
      mode,
      ms: MS,
      ring: RING,
      guest,
      doorbell: { fd: bar.fd, size: bar.memory!.length },
      iavfbe,
      nul: n0,
      nul2: n1,
    },
  });
  const r = await new Promise<{ moved: number; guestMoved: number }>((resolve, reject) => {
    w.once("message", resolve);
    w.once("error", reject);
  });
  await w.terminate();
  for (const l of leases) l.release();
  return { mpps: r.moved / MS / 1000, guest: r.guestMoved / MS / 1000 };
}

const baseline = (await run("null")).mpps;
const tx = await run("tx");
const rx = await run("rx");
const row = (name: string, mpps: number, note: string) =>
  console.log(`| ${name} | ${mpps.toFixed(2)} | ${(mpps / baseline).toFixed(3)} | ${note} |`);
console.log(`\n64-byte packets, 1 queue pair of ${RING} descriptors, ${MS} ms each, one worker thread\n`);
console.log("| path | Mpps | × net_null → net_null | |");
console.log("| --- | --- | --- | --- |");
row("net_null → net_null (baseline)", baseline, "the port layer's ceiling");
row("guest TX → net_iavfbe → net_null", tx.mpps, `guest completions seen: ${tx.guest.toFixed(2)} Mpps`);
row("net_null → net_iavfbe → guest RX", rx.mpps, `guest write-backs seen: ${rx.guest.toFixed(2)} Mpps`);
await drv.close();
for (const p of made) await p.close();
await dev.close();
pool.close();
rmSync(dir, { recursive: true, force: true });

for (const line of await scale(quick ? 8 : 64, quick ? 1000 : 5000)) console.log(line);
