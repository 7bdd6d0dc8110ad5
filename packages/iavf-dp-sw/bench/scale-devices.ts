// The serving process of the scale figure: N emu_iavf devices of 4 queue pairs each, each with net_iavfbe attached
// and started, in this one process. It reports its memory before and after, then, once the parent's guests have
// brought every device up, its CPU time over an idle window. Driven over the IPC channel by scale.ts.
import { join } from "node:path";
import { EmudevRegistry } from "@emu/emudev";
import { register } from "@emu/iavf-dp-sw";
import { builtinPortDrivers, emudevService, MbufPool, type Port, PortRegistry } from "@emu/port";

const [dir, countArg] = process.argv.slice(2);
const count = Number(countArg);
const send = (m: unknown) => process.send?.(m);

function memory(): { rss: number; heap: number; external: number } {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers };
}

const emudev = new EmudevRegistry();
const ports = new PortRegistry(builtinPortDrivers);
ports.provide(emudevService, emudev);
register({ ports, emudev });
const pool = MbufPool.create("scale", { count: 4096 });
const before = memory();
const made: Port[] = [];
for (let i = 0; i < count; i++) {
  const dev = emudev.create(`emu_iavf${i},sock=${join(dir ?? ".", `iavf${i}.sock`)},queues=4`);
  dev.configure({ resetDelayMs: 0 });
  await dev.start();
  const p = await ports.create(`net_iavfbe${i},emu=emu_iavf${i}`);
  await p.configure({ pool, rxQueues: 4, txQueues: 4 });
  await p.start();
  made.push(p);
}
send({ kind: "served", before, after: memory() });

process.on("message", async (m: { kind: string; ms?: number }) => {
  if (m.kind === "idle") {
    const ms = m.ms ?? 5000;
    // Settle first: the start's background compilation and collection would count as this window's CPU time.
    await new Promise((r) => setTimeout(r, 2000));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    const cpu = process.cpuUsage(cpu0);
    send({ kind: "idle", cpuFraction: (cpu.user + cpu.system) / 1000 / (performance.now() - t0), memory: memory() });
  } else if (m.kind === "quit") {
    for (const p of made) await p.close();
    await emudev.closeAll();
    pool.close();
    process.exit(0);
  }
});
