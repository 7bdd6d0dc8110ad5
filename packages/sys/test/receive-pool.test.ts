// onChunk (chunks as places in the receive pool, nothing allocated per chunk), sendPrefix, and reading on after an
// answer (the read that saves a poll wake-up must respect pause and close like any other read).
import { closeFd, isSysArgumentError, memfdCreate, UnixSocket } from "@emu/sys";
import { afterThisTest, collect, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { sleep } from "./helpers.js";

interface Chunk {
  pool: Uint8Array;
  offset: number;
  length: number;
  fds: readonly number[];
  /** The chunk's bytes as they were when it was handed over. */
  copy: number[];
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

function pair(): [UnixSocket, UnixSocket] {
  const [a, b] = UnixSocket.pair();
  afterThisTest(() => {
    a.close();
    b.close();
  });
  return [a, b];
}

function chunksOf(s: UnixSocket): Chunk[] {
  const got: Chunk[] = [];
  s.start({
    onChunk: (pool, offset, length, fds) => {
      got.push({ pool, offset, length, fds, copy: [...pool.subarray(offset, offset + length)] });
    },
    onClose: () => undefined,
  });
  return got;
}

describe("onChunk: the receive pool", () => {
  it("chunks are places in one pool, 8-byte aligned, never written again", async () => {
    const [a, b] = pair();
    const got = chunksOf(b);
    for (let i = 1; i <= 50; i++) {
      a.send(new Uint8Array(i).fill(i));
      await until(() => got.length === i);
    }
    const first = got[0] as Chunk;
    expect(got.every((c) => c.pool === first.pool)).toBe(true); // one Uint8Array per pool, not per chunk
    expect(first.pool.length).toBe(1 << 20);
    for (const [i, c] of got.entries()) {
      expect(c.length).toBe(i + 1);
      expect(c.offset % 8).toBe(0);
      // what was handed over is still there, untouched by the chunks read after it
      expect([...c.pool.subarray(c.offset, c.offset + c.length)]).toEqual(c.copy);
      expect(c.copy).toEqual(new Array(i + 1).fill(i + 1));
      expect(c.fds).toHaveLength(0);
    }
    expect(Object.isFrozen(first.fds)).toBe(true); // the shared empty array cannot be added to
  });

  it("a full pool is replaced, the old one left as it was; so is one whose buffer was transferred", async () => {
    const [a, b] = pair();
    const got = chunksOf(b);
    const big = new Uint8Array(200_000).fill(0x5a);
    let total = 0;
    while (got.length === 0 || (got.at(-1) as Chunk).pool === (got[0] as Chunk).pool) {
      a.send(big);
      total += big.length;
      await until(() => got.reduce((n, c) => n + c.length, 0) === total);
    }
    const old = got[0] as Chunk;
    expect(old.pool.subarray(old.offset, old.offset + old.length).every((x) => x === 0x5a)).toBe(true);
    // A receiver that transfers the pool's buffer (detaching it): the next chunk goes to a new pool.
    const last = (got.at(-1) as Chunk).pool;
    structuredClone(last.buffer, { transfer: [last.buffer] });
    expect(last.byteLength).toBe(0);
    const n = got.length;
    a.send(Uint8Array.of(1, 2, 3));
    await until(() => got.length === n + 1);
    const c = got.at(-1) as Chunk;
    expect(c.pool === last).toBe(false);
    expect(c.pool.byteLength).toBe(1 << 20);
    expect([...c.pool.subarray(c.offset, c.offset + 3)]).toEqual([1, 2, 3]);
  });

  it("fds come with their chunk; onData beside onChunk is not called", async () => {
    const [a, b] = pair();
    let onData = 0;
    const got: Chunk[] = [];
    b.start({
      onData: () => {
        onData++;
      },
      onChunk: (pool, offset, length, fds) => {
        got.push({ pool, offset, length, fds, copy: [...pool.subarray(offset, offset + length)] });
      },
      onClose: () => undefined,
    });
    const m = memfdCreate("x");
    a.send(Uint8Array.of(7), [m]);
    closeFd(m);
    await until(() => got.length === 1);
    expect(got[0]?.fds).toHaveLength(1);
    closeFd(got[0]?.fds[0] as number);
    expect(onData).toBe(0);
  });

  it("start() needs onData or onChunk", () => {
    const [, b] = pair();
    expect(isSysArgumentError(thrown(() => b.start({ onClose: () => undefined })))).toBe(true);
  });
});

describe("sendPrefix", () => {
  it("sends the first length bytes, as send(subarray) would; bad lengths throw; a closed socket says false", async () => {
    const [a, b] = pair();
    const r = collect(b);
    const buf = Uint8Array.from({ length: 100 }, (_, i) => i);
    expect(a.sendPrefix(buf, 10)).toBe(true);
    expect(a.sendPrefix(buf, 0)).toBe(true); // nothing
    expect(a.sendPrefix(buf, 100)).toBe(true);
    await until(() => r.chunks.reduce((n, c) => n + c.length, 0) === 110);
    expect([...Buffer.concat(r.chunks)]).toEqual([...buf.subarray(0, 10), ...buf]);
    for (const bad of [101, -1, 1.5])
      expect(isSysArgumentError(thrown(() => a.sendPrefix(buf, bad))), `${bad}`).toBe(true);
    a.close();
    expect(a.sendPrefix(buf, 5)).toBe(false);
  });
});

describe("reading on after an answer", () => {
  it("a receiver that answers and pauses gets nothing more until it resumes", async () => {
    const [a, b] = pair();
    const seen: number[] = [];
    a.start({ onData: (c) => a.send(c), onClose: () => undefined }); // echoes at once: its reply is there early
    b.start({
      onData: (c) => {
        seen.push(c[0] as number);
        if (seen.length < 5) b.send(Uint8Array.of((c[0] as number) + 1));
        if (seen.length === 3) b.pause();
      },
      onClose: () => undefined,
    });
    b.send(Uint8Array.of(1));
    await until(() => seen.length === 3);
    await sleep(30);
    expect(seen).toEqual([1, 2, 3]); // the 4th is queued in the kernel, not delivered while paused
    b.resume();
    await until(() => seen.length === 5);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it("a receiver that answers and closes gets nothing more", async () => {
    const [a, b] = pair();
    const seen: number[] = [];
    let closed = 0;
    a.start({ onData: (c) => a.send(c), onClose: () => undefined });
    b.start({
      onData: (c) => {
        seen.push(c[0] as number);
        b.send(Uint8Array.of((c[0] as number) + 1));
        if (seen.length === 4) b.close();
      },
      onClose: () => {
        closed++;
      },
    });
    b.send(Uint8Array.of(1));
    await until(() => closed === 1);
    await sleep(20);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(b.closed).toBe(true);
  });
});
