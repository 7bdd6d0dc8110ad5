import { spawn } from "node:child_process";
import { join } from "node:path";
import { closeFd, dupFd, EventFd, isSysError, memfdCreate, SysArgumentError, SysStateError } from "@emu/sys";
import { tempDir, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { fdFlags, O_CLOEXEC, O_NONBLOCK, sleep } from "./helpers.js";

describe("EventFd", () => {
  it("signals and reads without blocking", () => {
    const e = EventFd.create();
    expect(fdFlags(e.fd) & (O_CLOEXEC | O_NONBLOCK)).toBe(O_CLOEXEC | O_NONBLOCK);
    expect(e.tryRead()).toBeNull();
    e.signal();
    e.signal(2);
    e.signal(10n);
    expect(e.tryRead()).toBe(13n);
    expect(e.tryRead()).toBeNull();
    e.close();
    e.close();
    expect(e.fd).toBe(-1);
    expect(() => e.signal()).toThrow(SysStateError);
    expect(() => e.tryRead()).toThrow(SysStateError);
  });

  it("initval and semaphore mode", () => {
    const e = EventFd.create({ initval: 2, semaphore: true });
    expect(e.tryRead()).toBe(1n);
    expect(e.tryRead()).toBe(1n);
    expect(e.tryRead()).toBeNull();
    e.close();
  });

  it("counter overflow is a typed EAGAIN; bad counts are argument errors", () => {
    const e = EventFd.create();
    e.signal(0xfffffffffffffffen);
    let err: unknown;
    try {
      e.signal(1);
    } catch (x) {
      err = x;
    }
    expect(isSysError(err) && err.code === "EAGAIN").toBe(true);
    expect(() => e.signal(-1)).toThrow(SysArgumentError);
    expect(() => e.signal(0xffffffffffffffffn)).toThrow(SysArgumentError);
    expect(() => e.signal(1.5)).toThrow(SysArgumentError);
    expect(() => EventFd.create({ initval: -1 })).toThrow(SysArgumentError);
    e.close();
  });

  it("watch wakes with the count from the event loop; unwatch stops it", async () => {
    const e = EventFd.create();
    const got: bigint[] = [];
    e.watch((n) => got.push(n));
    expect(() => e.watch(() => {})).toThrow(SysStateError);
    expect(() => e.watch("no" as never)).toThrow(SysArgumentError);
    e.signal(3);
    await until(() => got.length === 1);
    expect(got).toEqual([3n]);
    e.signal(1);
    e.signal(1);
    await until(() => got.length === 2);
    expect(got[1]).toBe(2n);
    e.unwatch();
    e.signal(5);
    await sleep(20);
    expect(got).toHaveLength(2);
    expect(e.tryRead()).toBe(5n);
    // Watch again after unwatch; close while watching.
    e.watch((n) => got.push(n));
    e.signal(1);
    await until(() => got.length === 3);
    e.close();
    expect(e.watching).toBe(false);
  });

  it("the listener may close its own EventFd", async () => {
    const e = EventFd.create({ semaphore: true });
    const got: bigint[] = [];
    e.watch((n) => {
      got.push(n);
      e.close();
    });
    e.signal(3); // three wake-ups pending; only the first is delivered
    await until(() => got.length === 1);
    await sleep(20);
    expect(got).toEqual([1n]);
    expect(e.closed).toBe(true);
    expect(e.watching).toBe(false);
  });

  it("semaphore watch delivers one per read", async () => {
    const e = EventFd.create({ semaphore: true });
    const got: bigint[] = [];
    e.watch((n) => got.push(n));
    e.signal(3);
    await until(() => got.length === 3);
    expect(got).toEqual([1n, 1n, 1n]);
    e.close();
  });

  it("adopt takes an eventfd (made close-on-exec) and refuses anything else", () => {
    const a = EventFd.create();
    const b = EventFd.adopt(dupFd(a.fd)); // the same eventfd, through an fd of its own
    b.signal(4);
    expect(a.tryRead()).toBe(4n);
    const m = memfdCreate("not-an-eventfd");
    expect(() => EventFd.adopt(m)).toThrow(SysArgumentError);
    closeFd(m);
    expect(() => EventFd.adopt(-3)).toThrow(SysArgumentError);
    expect(() => EventFd.adopt(987654)).toThrow(expect.objectContaining({ code: "EBADF" }));
    b.close();
    a.close();
  });

  it("unref lets the loop go; ref holds it again", async () => {
    const e = EventFd.create();
    e.watch(() => {});
    expect(e.unref()).toBe(e);
    expect(e.ref()).toBe(e);
    e.close();
    expect(() => e.watch(() => {})).toThrow(SysStateError);
    // In a real process: a watched EventFd, a reading socket and a listening server, all unref'd, let it exit;
    // ref() on any one of them keeps it running.
    const child = (refAgain: string) => {
      const code = `
        import { EventFd, UnixServer, UnixSocket } from "@emu/sys";
        const e = EventFd.create(); e.watch(() => {}); e.unref();
        const [a, b] = UnixSocket.pair(); a.start({ onData() {}, onClose() {} }); a.unref();
        const srv = UnixServer.listen(process.env.SOCK, () => {}); srv.unref();
        ${refAgain}`;
      const proc = spawn(process.execPath, ["--input-type=module", "-e", code], {
        cwd: import.meta.dirname,
        env: { ...process.env, SOCK: join(tempDir(), "s.sock") },
        stdio: ["ignore", "ignore", "inherit"],
      });
      return { proc, exited: new Promise<number | null>((r) => proc.on("exit", (c) => r(c))) };
    };
    const free = child("");
    expect(await free.exited).toBe(0);
    for (const refAgain of ["e.ref();", "a.ref();", "srv.ref();"]) {
      const held = child(refAgain);
      const early = await Promise.race([held.exited, sleep(400).then(() => "running")]);
      held.proc.kill("SIGKILL");
      await held.exited;
      expect(early, refAgain).toBe("running");
    }
  });
});
