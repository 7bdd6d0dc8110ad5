// The fds a client hands over stay as the client made them. A client that is not ours (test/fixtures/blocking-peer.c,
// which behaves like libvfio-user's sample client) gives blocking eventfds and reads its interrupt eventfd with a
// blocking read(2): the server must never set O_NONBLOCK on them (it lives on the open file description both share,
// so the client's read would fail with EAGAIN), nor on the DMA memfd.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { linePeer, reapAfterTest, tempDir, until } from "@emu/test-kit";
import { PciIrq } from "@emu/vfio-user-proto";
import { createServer, type DeviceContext } from "@emu/vfio-user-server";
import { describe, expect, it } from "vitest";
import { newLog, nic } from "./fixtures/devices.js";
import { socketPath, track } from "./fixtures/harness.js";

const hasCc = spawnSync("cc", ["--version"]).status === 0;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000; // fdinfo shows the descriptor's close-on-exec too; F_GETFL does not
const INTX = PciIrq.INTX;

/** The file status flags of `/proc/<pid>/fdinfo/<fd>` (the open file description's, which every holder shares). */
function fdFlagsOf(pid: number, fd: number): number {
  const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8");
  return Number.parseInt(/flags:\s*([0-7]+)/.exec(info)![1]!, 8) & ~O_CLOEXEC;
}

/** Compiles and starts the C peer against `path`; `ask` sends a command line and resolves with the answer line. */
function startPeer(path: string) {
  const exe = join(tempDir(), "blocking-peer");
  execFileSync("cc", ["-O1", "-Wall", "-o", exe, join(import.meta.dirname, "fixtures", "blocking-peer.c")], {
    stdio: "inherit",
  });
  const proc = reapAfterTest(spawn(exe, [path], { stdio: ["pipe", "pipe", "inherit"] }));
  const { next, ask } = linePeer(proc);
  return { next, ask };
}

describe.skipIf(!hasCc)("fds a client hands over (a C client; skipped without a C compiler `cc`)", () => {
  it("keep their flags: the client's blocking read of its interrupt eventfd works; INTx resample on a blocking fd", async () => {
    const path = socketPath();
    const holder: { ctx?: DeviceContext } = {};
    const errors: unknown[] = [];
    track(await createServer({ socketPath: path, device: nic(newLog(), holder), onError: (e) => errors.push(e) }));
    const peer = startPeer(path);
    const ready = (await peer.next()).split(" ");
    expect(ready[0]).toBe("ready");
    const [pid, trig, resample, mem] = ready.slice(1, 5).map(Number) as [number, number, number, number];
    const before = ready.slice(5, 8).map((f) => Number.parseInt(f, 8));
    for (const f of before) expect(f & O_NONBLOCK).toBe(0);

    // The server has adopted all three (DMA_MAP and SET_IRQS were answered): their shared flags are unchanged.
    const flagsNow = () => [trig, resample, mem].map((fd) => fdFlagsOf(pid, fd));
    expect(flagsNow()).toEqual(before);
    const ctx = holder.ctx!;

    // The interrupt: a plain write on the server's side, a blocking read on the client's.
    expect(ctx.irq.trigger(0, INTX)).toBe("delivered");
    expect(await peer.ask("read")).toBe("irq 1");

    // INTx is masked until the client's resample fd (blocking) is signalled: the server reads it from the loop.
    expect(ctx.irq.masked(0, INTX)).toBe(true);
    expect(ctx.irq.trigger(0, INTX)).toBe("pending");
    expect(await peer.ask("resample")).toBe("ok");
    expect(await peer.ask("read")).toBe("irq 1"); // the pending one, delivered on unmask
    await until(() => ctx.irq.masked(0, INTX)); // masked again by that delivery

    // A counter the client filled: the server's signal must not block on it; the interrupt is dropped.
    expect(await peer.ask("saturate")).toBe("ok");
    expect(await peer.ask("resample")).toBe("ok");
    await until(() => !ctx.irq.masked(0, INTX));
    expect(ctx.irq.trigger(0, INTX)).toBe("dropped");
    expect(await peer.ask("read")).toBe(`irq ${2n ** 64n - 2n}`);

    expect(flagsNow()).toEqual(before);
    expect(await peer.ask("flags")).toBe(`flags ${before.map((f) => f.toString(8)).join(" ")}`);
    expect(errors).toEqual([]);
  });
});
