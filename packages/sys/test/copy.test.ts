import { CopyBatch, closeFd, copyRanges, memfdCreate, mmap, SysArgumentError } from "@emu/sys";
import { afterThisTest } from "@emu/test-kit";
import { describe, expect, it } from "vitest";

/** A shared-memory byte array (memfd + mmap), unmapped and closed after the test. */
function shared(size: number): Uint8Array {
  const fd = memfdCreate("copy-test", size);
  const m = mmap(fd, 0, size);
  afterThisTest(() => {
    m.unmap();
    closeFd(fd);
  });
  return new Uint8Array(m.buffer);
}

describe("copyRanges", () => {
  it("copies each planned range between a heap array and shared memory", () => {
    const src = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7 + 3) & 0xff);
    const dst = shared(8192);
    const plan = Uint32Array.of(100, 0, 64, 5000, 1000, 1500, 8191, 4095, 1, 0, 0, 0);
    copyRanges(dst, src, plan, 4);
    expect(dst.subarray(100, 164)).toEqual(src.subarray(0, 64));
    expect(dst.subarray(5000, 6500)).toEqual(src.subarray(1000, 2500));
    expect(dst[8191]).toBe(src[4095]);
    expect(dst[99]).toBe(0);
    expect(dst[164]).toBe(0);
  });

  it("copies nothing when one range of the plan lies outside either array, and says which", () => {
    const src = new Uint8Array(256).fill(9);
    const dst = new Uint8Array(256);
    const plan = Uint32Array.of(0, 0, 16, 250, 0, 16);
    expect(() => copyRanges(dst, src, plan, 2)).toThrow(/range 1 .*outside/);
    expect(dst.every((b) => b === 0)).toBe(true);
    expect(() => copyRanges(dst, src, Uint32Array.of(0, 255, 2), 1)).toThrow(SysArgumentError);
  });

  it("refuses a count beyond the plan and arrays of the wrong kind", () => {
    const a = new Uint8Array(16);
    expect(() => copyRanges(a, a, new Uint32Array(3), 2)).toThrow(SysArgumentError);
    expect(() => copyRanges(a, a, new Uint32Array(3), -1)).toThrow(SysArgumentError);
    expect(() => copyRanges(new Uint16Array(8) as unknown as Uint8Array, a, new Uint32Array(3), 1)).toThrow(/dst/);
    expect(() => copyRanges(a, a, new Int32Array(3) as unknown as Uint32Array, 1)).toThrow(/plan/);
  });

  it("overlapping ranges in one array behave as memmove", () => {
    const a = Uint8Array.from({ length: 32 }, (_, i) => i);
    copyRanges(a, a, Uint32Array.of(4, 0, 16), 1);
    expect([...a.subarray(4, 20)]).toEqual(Array.from({ length: 16 }, (_, i) => i));
  });
});

describe("CopyBatch", () => {
  it("collects ranges past its first size, runs them once, and rewinds a half-planned item", () => {
    const src = Uint8Array.from({ length: 1024 }, (_, i) => i & 0xff);
    const dst = new Uint8Array(200 * 8);
    const batch = new CopyBatch();
    for (let i = 0; i < 200; i++) batch.add(dst, i * 8, src, i, 8); // more than its initial 64 ranges
    const mark = batch.pending;
    batch.add(dst, 0, src, 512, 8);
    batch.rewind(mark);
    expect(batch.pending).toBe(200);
    batch.run();
    expect(batch.pending).toBe(0);
    for (let i = 0; i < 200; i++) expect([...dst.subarray(i * 8, i * 8 + 8)]).toEqual([...src.subarray(i, i + 8)]);
  });

  it("runs what is pending before a range between other arrays (another window), in the order added", () => {
    const one = new Uint8Array(16).fill(1);
    const two = new Uint8Array(16).fill(2);
    const dst = new Uint8Array(16);
    const batch = new CopyBatch();
    batch.add(dst, 0, one, 0, 8);
    batch.add(dst, 4, two, 0, 8); // another source: the first range is copied now
    expect(batch.pending).toBe(1);
    expect([...dst.subarray(0, 8)]).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    batch.run();
    expect([...dst.subarray(0, 12)]).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]);
  });

  it("is empty after a run that throws (a bad range), so the next burst starts clean", () => {
    const batch = new CopyBatch();
    batch.add(new Uint8Array(10), 0, new Uint8Array(10), 0, 100);
    expect(() => batch.run()).toThrow(SysArgumentError);
    expect(batch.pending).toBe(0);
    batch.run(); // nothing pending: no call
  });
});
