// fds a peer hands over keep the flags the peer gave them: O_NONBLOCK lives on the open file description both sides
// share, so setting it (adopt, or libuv's poller) would make the peer's blocking reads fail with EAGAIN. The peer is
// a Python program (fixtures/blocking-peer.py) whose eventfd and socket are in blocking mode; our side must still
// never block.
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { EventFd, isSysError, UnixSocket } from "@emu/sys";
import { linePeer, reapAfterTest, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { fdFlags, O_CLOEXEC, O_NONBLOCK } from "./helpers.js";

const hasPython = spawnSync("python3", ["-c", "import os, socket; os.eventfd; socket.send_fds"]).status === 0;

/** The file status flags (those of the open file description, without the descriptor's close-on-exec). */
const statusFlags = (fd: number): number => fdFlags(fd) & ~O_CLOEXEC;

/** Starts the peer; resolves with its eventfd and its socket's other end (ours now) and a command function. */
async function blockingPeer() {
  const [a, b] = UnixSocket.pair();
  const proc = reapAfterTest(
    spawn("python3", [join(import.meta.dirname, "fixtures", "blocking-peer.py")], {
      stdio: ["pipe", "pipe", "inherit", b.fd],
    }),
  );
  b.close();
  const { next, ask } = linePeer(proc);
  const got: number[] = [];
  a.start({ onData: (_c, fds) => got.push(...fds), onClose: () => {} });
  await until(() => got.length === 2);
  a.close();
  const [efd, sock] = got as [number, number];
  return { efd, sock, next, ask };
}

describe.skipIf(!hasPython)("a peer's fds in blocking mode (Python peer; skipped without python3 >= 3.10)", () => {
  it("EventFd.adopt leaves the flags alone; reads, watch and signal never block", async () => {
    const peer = await blockingPeer();
    const flags = statusFlags(peer.efd);
    expect(flags & O_NONBLOCK).toBe(0);
    const e = EventFd.adopt(peer.efd);
    expect(statusFlags(e.fd)).toBe(flags);
    expect(fdFlags(e.fd) & O_CLOEXEC).toBe(O_CLOEXEC);

    // An empty counter: null at once. (Should the read block, the peer's write 1 s later ends it, and this fails.)
    expect(await peer.ask("write-later 1000 7")).toBe("ok");
    const t0 = Date.now();
    expect(e.tryRead()).toBeNull();
    expect(Date.now() - t0).toBeLessThan(900);

    // The watcher sees the peer's write (polled through our own epoll instance, not the fd itself).
    const seen: bigint[] = [];
    e.watch((n) => seen.push(n));
    await until(() => seen.length === 1);
    expect(seen).toEqual([7n]);
    e.unwatch();
    expect(statusFlags(e.fd)).toBe(flags);

    // Our signal reaches the peer's blocking read; the peer's write reaches our read.
    e.signal(5);
    expect(await peer.ask("read")).toBe("efd 5");
    expect(await peer.ask("write 2")).toBe("ok");
    expect(e.tryRead()).toBe(2n);

    // A full counter: EAGAIN at once, not a blocked loop. (Should it block, the peer's read 1 s later ends it.)
    expect(await peer.ask(`write ${2n ** 64n - 2n}`)).toBe("ok");
    expect(await peer.ask("read-later 1000")).toBe("ok");
    let err: unknown;
    try {
      e.signal(1);
    } catch (x) {
      err = x;
    }
    expect(isSysError(err) && err.code === "EAGAIN").toBe(true);
    expect(statusFlags(e.fd)).toBe(flags);
    e.close();
  });

  it("UnixSocket.adopt leaves the flags alone; a send the peer does not read yet is queued, not blocked", async () => {
    const peer = await blockingPeer();
    const flags = statusFlags(peer.sock);
    expect(flags & O_NONBLOCK).toBe(0);
    const s = UnixSocket.adopt(peer.sock);
    expect(statusFlags(s.fd)).toBe(flags);
    const chunks: Uint8Array[] = [];
    let drained = 0;
    s.start({ onData: (c) => chunks.push(c), onClose: () => {}, onDrain: () => drained++ });

    // 4 MiB is more than the socket buffers hold: the rest waits in our queue. (Should the send block, the peer's
    // receive 1 s later ends it and the send reports true.)
    const big = new Uint8Array(4 << 20).map((_, i) => i & 0xff);
    const sum = big.reduce((x, y) => x + y, 0);
    expect(await peer.ask(`recv-later 1000 ${big.length}`)).toBe("ok");
    expect(s.send(big)).toBe(false);
    expect(await peer.next()).toBe(`recv ${big.length} ${sum}`);
    await until(() => drained === 1);

    // And the other way, read from the loop.
    expect(await peer.ask("send 100000")).toBe("ok");
    await until(() => chunks.reduce((n, c) => n + c.length, 0) === 100000);
    expect(statusFlags(s.fd)).toBe(flags);
    s.close();
  });
});
