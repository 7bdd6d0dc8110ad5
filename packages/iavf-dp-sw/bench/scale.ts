// The scale figure of issue 12: one process serving N emu_iavf devices (64 by default) with 4 queue pairs each, each
// with net_iavfbe attached, and a guest per device (this process) that brings its VF up: all 4 queue pairs
// configured and enabled, link up. Prints the serving process's memory per device and its CPU use while idle.
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bringUp, RawDriver } from "../test/fixtures/guest.js";

interface Memory {
  readonly rss: number;
  readonly heap: number;
  readonly external: number;
}
type Reply = { kind: "served"; before: Memory; after: Memory } | { kind: "idle"; cpuFraction: number; memory: Memory };

const MiB = 1024 * 1024;

/** Runs the scale figure; returns the lines to print. */
export async function scale(count: number, idleMs: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), "iavf-dp-sw-scale-"));
  const child = fork(new URL("./scale-devices.ts", import.meta.url), [dir, String(count)], {
    execArgv: ["--import", "tsx", "--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const replies: Reply[] = [];
  const waiters: ((r: Reply) => void)[] = [];
  child.on("message", (m: Reply) => {
    const w = waiters.shift();
    if (w) w(m);
    else replies.push(m);
  });
  const next = () =>
    new Promise<Reply>((resolve, reject) => {
      const r = replies.shift();
      if (r) return resolve(r);
      waiters.push(resolve);
      child.once("exit", (code) => reject(new Error(`the serving process exited (${code})`)));
    });
  const drivers: RawDriver[] = [];
  try {
    const served = await next();
    if (served.kind !== "served") throw new Error("unexpected reply");
    for (let i = 0; i < count; i++) {
      const drv = await RawDriver.open(join(dir, `iavf${i}.sock`));
      drivers.push(drv);
      await bringUp(drv, 4);
    }
    child.send({ kind: "idle", ms: idleMs });
    const idle = await next();
    if (idle.kind !== "idle") throw new Error("unexpected reply");
    const per = (a: number, b: number) => ((b - a) / count / MiB).toFixed(2);
    const b = served.before;
    const up = idle.memory;
    return [
      `\n${count} emu_iavf devices × 4 queue pairs, net_iavfbe attached, in one process; a guest per device brought up`,
      "(4 queue pairs configured and enabled) from another process\n",
      "| | serving process | per device |",
      "| --- | --- | --- |",
      `| RSS before the devices | ${(b.rss / MiB).toFixed(1)} MiB | |`,
      `| RSS, devices served, guests up | ${(up.rss / MiB).toFixed(1)} MiB | ${per(b.rss, up.rss)} MiB |`,
      `| V8 heap in use | ${(b.heap / MiB).toFixed(1)} → ${(up.heap / MiB).toFixed(1)} MiB | ${per(b.heap, up.heap)} MiB |`,
      `| external + ArrayBuffers (the guests' memory mapped: address space, not resident) | ${(b.external / MiB).toFixed(1)} → ${(up.external / MiB).toFixed(1)} MiB | ${per(b.external, up.external)} MiB |`,
      `| CPU while idle (${idleMs} ms) | ${(idle.cpuFraction * 100).toFixed(2)}% of one CPU | ${((idle.cpuFraction * 100) / count).toFixed(3)}% |`,
    ];
  } finally {
    for (const d of drivers) await d.close().catch(() => undefined);
    child.send({ kind: "quit" });
    await new Promise((r) => (child.exitCode === null ? child.once("exit", r) : r(undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
}
