import { readFileSync, readSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import {
  closeFd,
  isSysArgumentError,
  isSysError,
  isTooManyFdsError,
  memfdCreate,
  type SocketCloseError,
  SysArgumentError,
  SysError,
  SysStateError,
  type TooManyFdsError,
  UnixServer,
  UnixSocket,
} from "@emu/sys";
import { bytesOf, collect, tempDir, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { Framer, frame, payloadOk } from "./fixtures/framer.mjs";
import { fdCount, fdFlags, O_CLOEXEC, O_NONBLOCK, sleep, spawnPeer } from "./helpers.js";

const nameOf = (fd: number) => {
  const b = Buffer.alloc(64);
  return b.toString("utf8", 0, readSync(fd, b, 0, 64, 0));
};
function namedMemfd(name: string): number {
  const fd = memfdCreate("t");
  writeSync(fd, name);
  return fd;
}

describe("UnixSocket.pair", () => {
  it("gathers parts into one message with its fds; chunks are fresh and owned", async () => {
    const [a, b] = UnixSocket.pair();
    const rb = collect(b);
    const m = namedMemfd("first");
    expect(a.send([new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3, 4, 5])], [m])).toBe(true);
    closeFd(m);
    await until(() => rb.chunks.length === 1);
    expect([...rb.chunks[0]!]).toEqual([1, 2, 3, 4, 5]);
    expect(rb.fds[0]).toHaveLength(1);
    const got = rb.fds[0]![0]!;
    expect(nameOf(got)).toBe("first");
    expect(fdFlags(got) & O_CLOEXEC).toBe(O_CLOEXEC); // MSG_CMSG_CLOEXEC
    closeFd(got);
    a.send(new Uint8Array([9]));
    await until(() => rb.chunks.length === 2);
    const [c0, c1] = rb.chunks as [Uint8Array, Uint8Array];
    expect(c0.byteOffset).toBe(0);
    expect(c0.buffer.byteLength).toBe(c0.length); // its own buffer, not a view of a reused one
    expect(c0.buffer).not.toBe(c1.buffer);
    expect([...c0]).toEqual([1, 2, 3, 4, 5]);
    expect(rb.fds[1]).toEqual([]);
    expect(fdFlags(a.fd) & (O_CLOEXEC | O_NONBLOCK)).toBe(O_CLOEXEC | O_NONBLOCK);
    a.close();
    await until(() => rb.closed !== undefined);
    expect(rb.closed!.err).toBeUndefined(); // end of stream
    expect(b.closed).toBe(true);
    expect(b.fd).toBe(-1);
  });

  it("close is idempotent and reports once; send after close is a no-op", async () => {
    const [a, b] = UnixSocket.pair();
    const ra = collect(a);
    a.close();
    a.close();
    expect(a.send(new Uint8Array([1]))).toBe(false);
    await sleep(10);
    expect(ra.closed).toEqual({ err: undefined });
    b.close();
  });

  it("rejects bad arguments with typed errors and keeps working", () => {
    const [a, b] = UnixSocket.pair();
    const bad: [unknown, unknown][] = [
      [new Uint8Array(0), [0]], // fds need data
      [new Uint8Array(1), [-1]],
      [new Uint8Array(1), [1.5]],
      [new Uint8Array(1), ["3"]],
      [new Uint8Array(1), 3],
      [new Uint16Array(1), undefined],
      ["text", undefined],
      [[new Uint8Array(1), "x"], undefined],
      [new Uint8Array(1), new Array(254).fill(0)],
    ];
    for (const [data, fds] of bad) {
      expect(() => a.send(data as Uint8Array, fds as number[])).toThrow(SysArgumentError);
    }
    // A closed fd: the kernel refuses it, nothing is sent, the socket stays usable.
    const m = memfdCreate("x");
    closeFd(m);
    expect(() => a.send(new Uint8Array(1), [m])).toThrow(expect.objectContaining({ _tag: "SysError", code: "EBADF" }));
    expect(() => UnixSocket.adopt(-1)).toThrow(SysArgumentError);
    expect(() => b.start({ onData: () => {}, onClose: () => {}, maxRecvFds: 254 })).toThrow(SysArgumentError);
    expect(() => b.start({} as never)).toThrow(SysArgumentError);
    expect(() => UnixServer.listen(join(tempDir(), "x.sock"), "no" as never)).toThrow(SysArgumentError);
    b.start({ onData: () => {}, onClose: () => {} });
    expect(() => b.start({ onData: () => {}, onClose: () => {} })).toThrow(SysStateError);
    expect(a.send(new Uint8Array(1))).toBe(true);
    a.close();
    b.close();
  });

  it("a part detached while send() reads its arguments is never sent from freed memory", async () => {
    const [a, b] = UnixSocket.pair();
    const rb = collect(b);
    const detach = (u: Uint8Array) => structuredClone(u.buffer, { transfer: [u.buffer as ArrayBuffer] });
    // A later part's accessor detaches an earlier part: only what is still attached is sent.
    const first = new Uint8Array([1, 2, 3]);
    const parts: Uint8Array[] = [first];
    Object.defineProperty(parts, 1, {
      get: () => {
        detach(first);
        return new Uint8Array([9]);
      },
      enumerable: true,
    });
    expect(a.send(parts)).toBe(true);
    // An fds accessor detaches the data: fds would go with zero bytes, so nothing is sent.
    const m = memfdCreate("x");
    const data = new Uint8Array([4, 5]);
    const fds: number[] = [];
    Object.defineProperty(fds, 0, {
      get: () => {
        detach(data);
        return m;
      },
      enumerable: true,
    });
    expect(() => a.send(data, fds)).toThrow(SysArgumentError);
    closeFd(m);
    a.send(new Uint8Array([7]));
    await until(() => bytesOf(rb).length >= 2);
    expect([...bytesOf(rb)]).toEqual([9, 7]);
    expect(rb.fds.flat()).toEqual([]);
    a.close();
    b.close();
  });

  it("adopt refuses fds that are not AF_UNIX stream sockets (and leaves them open)", () => {
    const m = memfdCreate("x");
    expect(() => UnixSocket.adopt(m)).toThrow(SysArgumentError);
    closeFd(m); // still ours
  });

  it("EPIPE from send closes the socket with a typed error, never a throw", async () => {
    const [a, b] = UnixSocket.pair();
    b.close();
    let err: SocketCloseError | undefined;
    let calls = 0;
    a.start({
      onData: () => {},
      onClose: (e) => {
        calls++;
        err = e;
      },
    });
    a.pause(); // not reading: the close is found by send
    expect(a.send(new Uint8Array(16))).toBe(false);
    await until(() => calls === 1);
    expect(isSysError(err)).toBe(true);
    expect(["EPIPE", "ECONNRESET"]).toContain((err as SysError).code);
    await sleep(10);
    expect(calls).toBe(1);
  });

  it("a peer that replies and closes with our data unread: its reply arrives, then ECONNRESET", async () => {
    const [a, b] = UnixSocket.pair();
    const ra = collect(a);
    a.send(new Uint8Array(1000)); // b never reads this
    b.send(new TextEncoder().encode("bye"));
    b.close(); // unread data: the kernel gives a ECONNRESET (POLLERR)
    await until(() => ra.closed !== undefined);
    expect(Buffer.from(bytesOf(ra)).toString()).toBe("bye");
    expect((ra.closed!.err as SysError | undefined)?.code ?? "EOF").toMatch(/^(ECONNRESET|EOF)$/);
  });

  it("an error while flushing the queue reaches onClose; queued dup'd fds are closed", async () => {
    const before = fdCount();
    const [a, b] = UnixSocket.pair();
    let err: SocketCloseError | undefined;
    let closed = false;
    a.start({
      onData: () => {},
      onClose: (e) => {
        closed = true;
        err = e;
      },
    });
    a.pause();
    const big = new Uint8Array(1 << 20);
    const m = memfdCreate("q");
    a.send(big);
    expect(a.send(new Uint8Array(8), [m, m, m])).toBe(false); // queued with 3 dups
    closeFd(m);
    expect(a.bufferedAmount).toBeGreaterThan(0);
    b.close();
    await until(() => closed);
    expect(["EPIPE", "ECONNRESET"]).toContain((err as SysError).code);
    expect(a.bufferedAmount).toBe(0);
    await until(() => fdCount() === before);
  });

  it("too many fds: typed error, the fds that arrived are closed, the socket is closed", async () => {
    const [a, b] = UnixSocket.pair();
    const rb = collect(b, 4);
    const fds = Array.from({ length: 8 }, () => memfdCreate("many"));
    const before = fdCount();
    a.send(new Uint8Array([1]), fds.slice(0, 4)); // exactly the limit: fine
    await until(() => rb.chunks.length === 1);
    expect(rb.fds[0]).toHaveLength(4);
    for (const fd of rb.fds[0]!) closeFd(fd);
    expect(fdCount()).toBe(before);
    a.send(new Uint8Array([2]), fds);
    await until(() => rb.closed !== undefined);
    expect(rb.chunks).toHaveLength(1); // the offending chunk is not delivered
    expect(isTooManyFdsError(rb.closed!.err)).toBe(true);
    expect((rb.closed!.err as TooManyFdsError).limit).toBe(4);
    expect(b.closed).toBe(true);
    expect(fdCount()).toBe(before - 1); // b's own fd is gone, nothing leaked
    for (const fd of fds) closeFd(fd);
    a.close();
  });

  it("pause/resume: nothing is delivered while paused", async () => {
    const [a, b] = UnixSocket.pair();
    const rb = collect(b);
    b.pause();
    a.send(new Uint8Array([1, 2, 3]));
    await sleep(30);
    expect(rb.chunks).toHaveLength(0);
    b.resume();
    await until(() => rb.chunks.length === 1);
    a.close();
    b.close();
  });

  it("the close handler sees an earlier close, even when start() comes later", async () => {
    const [a, b] = UnixSocket.pair();
    b.close();
    expect(a.send(new Uint8Array(4))).toBe(false); // EPIPE: closed before start
    expect(a.closed).toBe(true);
    let err: SocketCloseError | undefined;
    let called = false;
    a.start({
      onData: () => {},
      onClose: (e) => {
        called = true;
        err = e;
      },
    });
    await until(() => called);
    expect(isSysError(err)).toBe(true);
  });

  it("close() from inside onData, onDrain and onClose: no more calls, nothing leaked", async () => {
    const before = fdCount();
    // onData closes while more chunks (with fds) are still queued in the kernel: they are never delivered, and the
    // kernel releases their fds with the socket.
    const [a, b] = UnixSocket.pair();
    const m = memfdCreate("in-flight");
    for (let i = 0; i < 10; i++) a.send(new Uint8Array([i]), [m]);
    closeFd(m);
    let dataCalls = 0;
    let closeCalls = 0;
    let closeErr: SocketCloseError | undefined;
    b.start({
      onData: (_c, fds) => {
        dataCalls++;
        for (const fd of fds) closeFd(fd);
        b.close();
        b.close();
      },
      onClose: (err) => {
        closeCalls++;
        closeErr = err;
        b.close(); // again, from the close handler
      },
    });
    await until(() => closeCalls === 1);
    await sleep(20);
    expect(dataCalls).toBe(1);
    expect(closeCalls).toBe(1);
    expect(closeErr).toBeUndefined();
    expect(b.closed).toBe(true);
    a.close();
    // onDrain closes the socket whose queue just emptied.
    const [c, d] = UnixSocket.pair();
    d.start({ onData: () => {}, onClose: () => {} });
    let drained = 0;
    let cClosed = false;
    c.start({
      onData: () => {},
      onClose: () => {
        cClosed = true;
      },
      onDrain: () => {
        drained++;
        c.close();
      },
    });
    while (c.send(new Uint8Array(1 << 16))) {}
    await until(() => cClosed);
    expect(drained).toBe(1);
    expect(c.send(new Uint8Array(1))).toBe(false);
    d.close();
    await until(() => fdCount() === before);
  });

  it("an exception in onData is uncaught (like any event callback) and reading goes on", async () => {
    const [a, b] = UnixSocket.pair();
    const seen: number[] = [];
    const uncaught: unknown[] = [];
    const listeners = process.listeners("uncaughtException");
    process.removeAllListeners("uncaughtException");
    process.on("uncaughtException", (e) => uncaught.push(e));
    try {
      b.start({
        onData: (c) => {
          seen.push(c[0]!);
          if (c[0] === 1) throw new Error("boom");
        },
        onClose: () => {},
      });
      a.send(new Uint8Array([1]));
      await until(() => seen.length === 1);
      a.send(new Uint8Array([2]));
      await until(() => seen.length === 2);
    } finally {
      process.removeAllListeners("uncaughtException");
      for (const l of listeners) process.on("uncaughtException", l);
    }
    expect(uncaught).toHaveLength(1);
    expect(seen).toEqual([1, 2]);
    a.close();
    b.close();
  });
});

describe("UnixServer", () => {
  it("creates the socket file with the requested mode (default 0600), whatever the umask", async () => {
    const dir = tempDir();
    const p = join(dir, "s.sock");
    const old = process.umask(0o022);
    try {
      const s1 = UnixServer.listen(p, () => {});
      expect(statSync(p).mode & 0o777).toBe(0o600);
      expect(statSync(p).isSocket()).toBe(true);
      s1.close();
      const s2 = UnixServer.listen(p, () => {}, { mode: 0o666 });
      expect(statSync(p).mode & 0o777).toBe(0o666);
      s2.close();
    } finally {
      process.umask(old);
    }
    expect(() => statSync(p)).toThrow(); // unlinked by close
  });

  it("accepts connections; connect and server sockets talk both ways", async () => {
    const p = join(tempDir(), "s.sock");
    const accepted: UnixSocket[] = [];
    const server = UnixServer.listen(p, (s) => {
      accepted.push(s);
      s.start({ onData: (c) => s.send(c.map((x) => x + 1)), onClose: () => {} });
    });
    const c = await UnixSocket.connect(p);
    const rc = collect(c);
    c.send(new Uint8Array([1, 2, 3]));
    await until(() => bytesOf(rc).length === 3);
    expect([...bytesOf(rc)]).toEqual([2, 3, 4]);
    expect(accepted).toHaveLength(1);
    expect(fdFlags(accepted[0]!.fd) & (O_CLOEXEC | O_NONBLOCK)).toBe(O_CLOEXEC | O_NONBLOCK);
    c.close();
    server.close();
    for (const s of accepted) s.close();
  });

  it("replaces a stale socket, refuses a live one and a non-socket file", async () => {
    const dir = tempDir();
    const p = join(dir, "s.sock");
    // A live server in another process.
    const peer = spawnPeer("listen", [p]);
    await peer.next();
    let e: unknown;
    try {
      UnixServer.listen(p, () => {});
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(SysError);
    expect((e as SysError).code).toBe("EADDRINUSE");
    // Killed: its socket file stays, stale.
    peer.proc.kill("SIGKILL");
    await peer.exited;
    expect(statSync(p).isSocket()).toBe(true);
    await expect(UnixSocket.connect(p)).rejects.toMatchObject({ _tag: "SysError", code: "ECONNREFUSED" });
    const server = UnixServer.listen(p, () => {});
    expect(statSync(p).mode & 0o777).toBe(0o600);
    const c = await UnixSocket.connect(p);
    c.close();
    server.close({ unlink: false });
    expect(statSync(p).isSocket()).toBe(true); // kept: stale again
    UnixServer.listen(p, () => {}).close();
    // Not a socket: never replaced.
    const f = join(dir, "file");
    writeFileSync(f, "keep me");
    expect(() => UnixServer.listen(f, () => {})).toThrow(expect.objectContaining({ code: "EEXIST" }));
    expect(statSync(f).size).toBe(7);
  });

  it("accept running out of fds (EMFILE) pauses accepting, reports, and resumes; no spinning", async () => {
    const p = join(tempDir(), "emfile.sock");
    const peer = spawnPeer("emfile-server", [p], [], 64);
    await peer.next();
    const clients: UnixSocket[] = [];
    for (let i = 0; i < 60; i++) clients.push(await UnixSocket.connect(p)); // queued in the backlog
    let msg: Record<string, unknown>;
    do msg = await peer.next();
    while (msg.error === undefined);
    expect(msg.error).toBe("EMFILE");
    const acceptedFirst = msg.accepted as number;
    expect(acceptedFirst).toBeLessThan(60);
    // Paused: a level-triggered poller on a non-empty backlog would spin here at 100% CPU (~30 ticks in 300 ms).
    const ticks = () => {
      const f = readFileSync(`/proc/${peer.proc.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100 Hz)
    };
    const before = ticks();
    await sleep(300);
    expect(ticks() - before).toBeLessThan(10);
    expect(peer.proc.exitCode).toBeNull();
    peer.command("release");
    let accepted = acceptedFirst;
    while (accepted < 60) {
      msg = await peer.next();
      if (typeof msg.accepted === "number") accepted = msg.accepted;
    }
    expect(accepted).toBe(60);
    for (const c of clients) c.close();
  });

  it("the server may be closed from inside onConnection", async () => {
    const p = join(tempDir(), "once.sock");
    const got: UnixSocket[] = [];
    const server = UnixServer.listen(p, (s) => {
      got.push(s);
      server.close();
      s.close();
    });
    const c = await UnixSocket.connect(p);
    await until(() => got.length === 1);
    expect(server.closed).toBe(true);
    expect(() => statSync(p)).toThrow(); // unlinked
    await expect(UnixSocket.connect(p)).rejects.toMatchObject({ code: "ENOENT" });
    c.close();
  });

  it("bad arguments and missing paths give typed errors", async () => {
    const dir = tempDir();
    expect(() => UnixServer.listen(join(dir, "x".repeat(120)), () => {})).toThrow(SysArgumentError);
    expect(() => UnixServer.listen(join(dir, "a"), () => {}, { mode: 0o1777 })).toThrow(SysArgumentError);
    expect(() => UnixServer.listen(join(dir, "none", "a"), () => {})).toThrow(
      expect.objectContaining({ code: "ENOENT" }),
    );
    await expect(UnixSocket.connect(join(dir, "missing"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(UnixSocket.connect(42 as unknown as string)).rejects.toSatisfy(isSysArgumentError);
  });
});

describe("two processes", () => {
  it("fds stay with their message under coalescing (last message starting in the chunk)", async () => {
    const p = join(tempDir(), "burst.sock");
    const count = 3000;
    const frames: { index: number; ok: boolean; names: string[]; declared: number }[] = [];
    let chunks = 0;
    let multi = 0;
    let closed = false;
    let conn: UnixSocket | undefined;
    const server = UnixServer.listen(p, (s) => {
      conn = s;
      s.pause(); // let the burst pile up in the kernel (and in the sender's queue)
      const framer = new Framer((f, index, declared, fds) => {
        frames.push({ index, ok: payloadOk(f, index), names: fds.map(nameOf), declared });
        for (const fd of fds) closeFd(fd);
      });
      s.start({
        onData: (c, fds) => {
          chunks++;
          const before = frames.length;
          framer.push(c, fds);
          if (frames.length - before > 1) multi++;
        },
        onClose: () => {
          closed = true;
        },
      });
    });
    const peer = spawnPeer("burst", [p, String(count)]);
    await until(() => conn !== undefined);
    await sleep(200);
    conn!.resume();
    const done = await peer.next();
    expect(done.queuedSends).toBeGreaterThan(0); // the sender's queue was used
    await until(() => frames.length === count);
    expect(multi).toBeGreaterThan(0); // chunks did hold several messages
    for (const [i, f] of frames.entries()) {
      expect(f.index).toBe(i);
      expect(f.ok).toBe(true);
      expect(f.names).toEqual(Array.from({ length: f.declared }, (_, j) => `m${i}f${j}`));
    }
    expect(chunks).toBeLessThan(count);
    peer.proc.stdin!.end();
    await until(() => closed);
    server.close();
  });

  it("a large partial write is finished before later messages; fds land on their message", async () => {
    const [a, b] = UnixSocket.pair();
    const peer = spawnPeer("slow-reader", ["9"], [b.fd]);
    b.close();
    await peer.next();
    let drains = 0;
    a.start({ onData: () => {}, onClose: () => {}, onDrain: () => drains++ });
    const plan: [size: number, nfds: number][] = [
      [8 << 20, 0],
      [10, 1],
      [0, 0],
      [100, 2],
      [3 << 20, 1],
      [5, 0],
      [1, 3],
      [70000, 0],
      [20, 1],
    ];
    const results: boolean[] = [];
    plan.forEach(([size, nfds], i) => {
      const fds = Array.from({ length: nfds }, (_, j) => namedMemfd(`m${i}f${j}`));
      results.push(a.send(frame(i, size, nfds), fds));
      for (const fd of fds) closeFd(fd); // the queue holds dups
    });
    expect(results[0]).toBe(false); // partial: the rest is queued
    expect(results.slice(1).every((r) => r === false)).toBe(true); // queued behind it, in order
    expect(a.bufferedAmount).toBeGreaterThan(8 << 20);
    const report = await peer.next();
    expect(report.problems).toEqual([]);
    expect(report.frames).toBe(plan.length);
    expect(report.chunks as number).toBeGreaterThan(30);
    await until(() => drains === 1 && a.bufferedAmount === 0);
    a.close();
  });

  it("shares a memfd and eventfds across processes: both sides see each other's writes", async () => {
    const { EventFd, mmap } = await import("@emu/sys");
    const [a, b] = UnixSocket.pair();
    const peer = spawnPeer("shm", [], [b.fd]);
    b.close();
    a.start({ onData: () => {}, onClose: () => {} });
    const memfd = memfdCreate("shared", 3 * 4096);
    const toChild = EventFd.create();
    const toParent = EventFd.create();
    a.send(new Uint8Array([1]), [memfd, toChild.fd, toParent.fd]);
    expect(await peer.next()).toEqual({ mapped: 3 * 4096 });
    const m = mmap(memfd, 0, 3 * 4096);
    closeFd(memfd);
    const view = new Uint8Array(m.buffer);
    const woke = new Promise<bigint>((resolve) => toParent.watch(resolve));
    Buffer.from("hello from the parent").copy(view, 0);
    toChild.signal(2);
    expect(await woke).toBe(7n);
    expect(
      Buffer.from(view.subarray(4096, 4096 + 64))
        .toString()
        .replace(/\0.*$/s, ""),
    ).toBe('child saw "hello from the parent" after 2 signal(s)');
    expect(new Int32Array(m.buffer, 8192, 1)[0]).toBe(peer.proc.pid);
    expect(await peer.next()).toEqual({ done: true });
    m.unmap();
    toChild.close();
    toParent.close();
    a.close();
  });

  it("a socket received over a socket can be adopted (twin-socket mode)", async () => {
    const [a, b] = UnixSocket.pair();
    const peer = spawnPeer("twin", [], [b.fd]);
    b.close();
    a.start({ onData: () => {}, onClose: () => {} });
    const [mine, theirs] = UnixSocket.pair();
    a.send(new Uint8Array([0]), [theirs.fd]);
    theirs.close();
    await peer.next();
    const r = collect(mine);
    mine.send(new Uint8Array([5, 6, 7]));
    await until(() => bytesOf(r).length === 3);
    expect([...bytesOf(r)]).toEqual([5, 6, 7]);
    mine.close();
    a.close();
  });

  it("no fd leaks over 200 connect / send-with-fds / receive / close cycles", async () => {
    const p = join(tempDir(), "echo.sock");
    const peer = spawnPeer("echo-server", [p]);
    const ready = await peer.next();
    const start = fdCount();
    for (let i = 0; i < 200; i++) {
      const s = await UnixSocket.connect(p);
      const fds = [namedMemfd(`m${i}f0`), namedMemfd(`m${i}f1`)];
      const got: { names: string[] }[] = [];
      const framer = new Framer((_f, _i, _n, rfds) => {
        got.push({ names: rfds.map(nameOf) });
        for (const fd of rfds) closeFd(fd);
      });
      s.start({ onData: (c, rfds) => framer.push(c, rfds), onClose: () => {} });
      s.send(frame(i, 100, 2), fds);
      for (const fd of fds) closeFd(fd);
      await until(() => got.length === 1);
      expect(got[0]!.names).toEqual([`m${i}f0`, `m${i}f1`]);
      s.close();
    }
    expect(fdCount()).toBe(start);
    await sleep(50); // let the peer see the last close
    peer.command("fdcount");
    expect((await peer.next()).fdcount).toBe(ready.fdcount);
  });
});
