// onChunk (chunks in the reused receive buffer, nothing allocated per chunk; big ones in buffers of their own),
// sendPrefix, and reading on after an answer (the read that saves a poll wake-up must respect pause and close like any
// other read).
import { closeFd, isSysArgumentError, memfdCreate, UnixSocket } from "@emu/sys";
import { afterThisTest, collect, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { sleep } from "./helpers.js";

interface Chunk {
  pool: Uint8Array;
  offset: number;
  length: number;
  fds: readonly number[];
  /** The chunk's bytes as they were when it was handed over (the receive buffer is reused after the call). */
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

/** A small chunk received, for its receive buffer. */
async function smallChunk(a: UnixSocket, got: Chunk[]): Promise<Chunk> {
  const n = got.length;
  a.send(Uint8Array.of(9));
  await until(() => got.length === n + 1);
  return got.at(-1) as Chunk;
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

describe("onChunk: the receive buffer", () => {
  it("small chunks come at offset 0 of one reused receive buffer, each whole during its call", async () => {
    const [a, b] = pair();
    const got = chunksOf(b);
    for (let i = 1; i <= 50; i++) {
      a.send(new Uint8Array(i).fill(i));
      await until(() => got.length === i);
    }
    const first = got[0] as Chunk;
    expect(got.every((c) => c.pool === first.pool && c.offset === 0)).toBe(true); // one Uint8Array, no object per chunk
    expect(first.pool.length).toBe(256 * 1024);
    for (const [i, c] of got.entries()) {
      expect(c.copy).toEqual(new Array(i + 1).fill(i + 1)); // as it was during its call
      expect(c.fds).toHaveLength(0);
    }
    expect(Object.isFrozen(first.fds)).toBe(true); // the shared empty array cannot be added to
  });

  it("a chunk of 16 KiB or more comes in a buffer of its own, kept intact; a detached receive buffer is replaced", async () => {
    const [a, b] = pair();
    const got = chunksOf(b);
    a.send(new Uint8Array(20_000).fill(0x5a));
    await until(() => got.reduce((n, c) => n + c.length, 0) === 20_000);
    const big = got.filter((c) => c.length >= 16 * 1024);
    expect(big.length).toBeGreaterThan(0);
    for (const c of big) expect([c.offset, c.pool.length]).toEqual([0, c.length]);
    a.send(new Uint8Array(30_000).fill(0x33));
    await until(() => got.reduce((n, c) => n + c.length, 0) === 50_000);
    for (const c of big) expect(c.pool.every((x) => x === 0x5a)).toBe(true); // not reused
    // A receiver that transfers the receive buffer (detaching it): the next chunk goes to a new one.
    const small = got.find((c) => c.length < 16 * 1024) ?? (await smallChunk(a, got));
    const rb = small.pool;
    structuredClone(rb.buffer, { transfer: [rb.buffer as ArrayBuffer] });
    expect(rb.byteLength).toBe(0);
    const n = got.length;
    a.send(Uint8Array.of(1, 2, 3));
    await until(() => got.length === n + 1);
    const c = got.at(-1) as Chunk;
    expect(c.pool === rb).toBe(false);
    expect([c.pool.byteLength, ...c.copy]).toEqual([256 * 1024, 1, 2, 3]);
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
