import { Worker } from "node:worker_threads";
import { MBUF_LEN, MBUF_META_WORDS, MBUF_OFF, MbufPool } from "@emu/port";
import { afterThisTest } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { pool } from "./fixtures/helpers.js";

describe("MbufPool", () => {
  it("hands out every buffer once, all or nothing, and takes them back", () => {
    const mp = pool(100);
    expect(mp.bufSize).toBe(2176);
    expect(mp.dataRoom).toBe(2048);
    const a = new Uint32Array(100);
    expect(mp.alloc(a, 60)).toBe(60);
    expect(mp.alloc(a, 41, 60)).toBe(0); // only 40 left: none taken
    expect(mp.available()).toBe(40);
    expect(mp.alloc(a, 40, 60)).toBe(40);
    expect(new Set(a).size).toBe(100);
    expect(Math.max(...a)).toBe(99);
    expect(mp.alloc(a, 1)).toBe(0);
    mp.free(a, 100);
    expect(mp.available()).toBe(100);
  });

  it("a fresh buffer starts after the headroom, empty; packets are views of the memfd's bytes", () => {
    const mp = pool(8);
    const b = new Uint32Array(1);
    mp.alloc(b, 1);
    const i = b[0]!;
    expect(mp.meta[i * MBUF_META_WORDS + MBUF_OFF]).toBe(128);
    expect(mp.length(i)).toBe(0);
    mp.setPacket(i, 5, 100);
    mp.packet(i).set([1, 2, 3, 4, 5]);
    expect(mp.offset(i)).toBe(i * mp.bufSize + 100);
    expect([...mp.bytes.subarray(mp.offset(i), mp.offset(i) + 5)]).toEqual([1, 2, 3, 4, 5]);
    expect(mp.meta[i * MBUF_META_WORDS + MBUF_LEN]).toBe(5);
    expect(() => mp.setPacket(i, 2177)).toThrow(/does not fit/);
    expect(() => mp.setPacket(99, 1)).toThrow(/no buffer 99/);
    mp.freeOne(i);
  });

  it("refuses indices it does not have and notices a buffer freed twice", () => {
    const mp = MbufPool.create("twice", { count: 4 });
    expect(() => mp.free(Uint32Array.of(4), 1)).toThrow(expect.objectContaining({ reason: "InvalidValue" }));
    expect(() => mp.freeOne(-1)).toThrow(/no buffer -1/);
    const b = new Uint32Array(4);
    mp.alloc(b, 4);
    mp.free(b, 4);
    mp.free(b, 4); // the cache holds them: the shared stack sees the excess when they are flushed
    expect(() => mp.flush()).toThrow(expect.objectContaining({ reason: "Pool" }));
    expect(() => mp.close()).toThrow(/freed twice/); // and still unmapped and closed
    expect(mp.bytes.length).toBe(0);
  });

  it("refuses impossible sizes", () => {
    expect(() => MbufPool.create("x", { count: 0 })).toThrow(/count 0/);
    expect(() => MbufPool.create("x", { count: 8, dataRoom: 10 })).toThrow(/data room 10/);
    expect(() => MbufPool.create("x", { count: 2 ** 22, dataRoom: 2048 })).toThrow(/exceed/);
  });

  it("bursts larger than the cache go to the shared stack directly", () => {
    const mp = MbufPool.create("big", { count: 1000 }, { cacheSize: 16 });
    afterThisTest(() => mp.close());
    const a = new Uint32Array(1000);
    expect(mp.alloc(a, 900)).toBe(900);
    expect(mp.available()).toBe(100);
    mp.free(a, 900);
    expect(mp.available()).toBe(1000);
  });

  it("a worker maps the same memory: what it writes, the main thread reads; its buffers come back", async () => {
    const mp = pool(64);
    const w = new Worker(new URL("./fixtures/pool-worker.mjs", import.meta.url), { workerData: mp.describe() });
    afterThisTest(() => w.terminate());
    const kept = await new Promise<number>((resolve) => w.once("message", resolve));
    expect([...mp.packet(kept)]).toEqual([7, 8, 9]);
    expect(mp.available()).toBe(63);
    mp.freeOne(kept);
    expect(mp.available()).toBe(64);
  });
});
