import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  closeFd,
  dupFd,
  fileSize,
  ftruncate,
  isSysArgumentError,
  MAX_MAPPING_LENGTH,
  memfdCreate,
  mmap,
  mmapWindows,
  pageSize,
  SysArgumentError,
  SysError,
} from "@emu/sys";
import { afterEach, describe, expect, it } from "vitest";
import { fdCount, sleep } from "./helpers.js";

const GiB = 2n ** 30n;
const open: number[] = [];
function memfd(size: number | bigint = 0): number {
  const fd = memfdCreate("emu-mem-test", size);
  open.push(fd);
  return fd;
}
afterEach(() => {
  for (const fd of open.splice(0)) closeFd(fd);
});
const mappingsOf = (name: string) =>
  readFileSync("/proc/self/maps", "utf8")
    .split("\n")
    .filter((l) => l.includes(`memfd:${name}`)).length;

describe("memfd", () => {
  it("creates, truncates and sizes (bigint, beyond 4 GiB without using memory)", () => {
    const fd = memfd(4096);
    expect(fileSize(fd)).toBe(4096n);
    ftruncate(fd, 5n * GiB + 4096n);
    expect(fileSize(fd)).toBe(5n * GiB + 4096n);
    ftruncate(fd, 0);
    expect(fileSize(fd)).toBe(0n);
  });

  it("rejects bad arguments with typed errors", () => {
    expect(() => memfdCreate("x".repeat(250))).toThrow(SysArgumentError);
    expect(() => memfdCreate("")).toThrow(SysArgumentError);
    expect(() => memfdCreate("a", -1)).toThrow(SysArgumentError);
    expect(() => memfdCreate("a", 1.5)).toThrow(SysArgumentError);
    expect(() => ftruncate(-1, 0)).toThrow(SysArgumentError);
    expect(() => fileSize(1.5)).toThrow(SysArgumentError);
    expect(() => fileSize(987654)).toThrow(expect.objectContaining({ _tag: "SysError", code: "EBADF" }));
  });
});

describe("mmap", () => {
  it("two mappings of one memfd share memory; the fd may be closed after mapping", () => {
    const fd = memfdCreate("emu-share", 2 * pageSize);
    const a = mmap(fd, 0, 2 * pageSize);
    const b = mmap(fd, BigInt(pageSize), pageSize, "r");
    closeFd(fd);
    expect(a.length).toBe(2 * pageSize);
    expect(a.buffer.byteLength).toBe(2 * pageSize);
    expect(a.offset).toBe(0n);
    expect(b.offset).toBe(BigInt(pageSize));
    expect(b.access).toBe("r");
    expect(typeof a.address).toBe("bigint");
    expect(a.address % BigInt(pageSize)).toBe(0n);
    new Uint32Array(a.buffer)[pageSize / 4] = 0xdeadbeef;
    expect(new Uint32Array(b.buffer)[0]).toBe(0xdeadbeef);
    a.unmap();
    b.unmap();
  });

  it("unmap detaches the buffer: views read length 0; unmap is idempotent", () => {
    const fd = memfd(pageSize);
    const m = mmap(fd, 0, pageSize);
    const view = new Uint8Array(m.buffer);
    const dv = new DataView(m.buffer);
    view[0] = 1;
    expect(m.mapped).toBe(true);
    expect(mappingsOf("emu-mem-test")).toBe(1);
    m.unmap();
    expect(m.mapped).toBe(false);
    expect(m.buffer.byteLength).toBe(0);
    expect(view.length).toBe(0);
    expect(view[0]).toBeUndefined(); // no access to unmapped memory
    expect(() => dv.getUint8(0)).toThrow(TypeError);
    expect(mappingsOf("emu-mem-test")).toBe(0);
    m.unmap();
  });

  it("maps above 4 GiB in windows of at most 4 GiB, with bigint offsets all the way", () => {
    const size = 5n * GiB + 4096n; // sparse: costs no memory
    const fd = memfdCreate("emu-big", size);
    open.push(fd);
    const ws = mmapWindows(fd, 0n, size);
    expect(ws.map((w) => [w.offset, w.length])).toEqual([
      [0n, MAX_MAPPING_LENGTH],
      [4n * GiB, Number(GiB) + 4096],
    ]);
    // The last page, seen through the second window and through a direct mapping at an offset above 4 GiB.
    const direct = mmap(fd, 5n * GiB, 4096);
    const numberOffset = mmap(fd, 5 * 2 ** 30, 4096); // a number above 2^32 works too
    new Uint32Array(ws[1]!.buffer, Number(GiB), 1)[0] = 0x12345678;
    expect(new Uint32Array(direct.buffer)[0]).toBe(0x12345678);
    expect(new Uint32Array(numberOffset.buffer)[0]).toBe(0x12345678);
    // The very last byte of the first window and the first byte of the second are distinct bytes.
    const w0 = new Uint8Array(ws[0]!.buffer);
    w0[w0.length - 1] = 0xaa;
    new Uint8Array(ws[1]!.buffer)[0] = 0xbb;
    expect(w0[w0.length - 1]).toBe(0xaa);
    // Smaller windows, from an offset: consecutive.
    const small = mmapWindows(fd, 4n * GiB, GiB + 4096n, "r", 256 * 1024 * 1024);
    expect(small).toHaveLength(5);
    expect(small.map((w) => w.offset)).toEqual([0n, 1n, 2n, 3n, 4n].map((i) => 4n * GiB + i * 256n * 1024n * 1024n));
    expect(small[4]!.length).toBe(4096);
    expect(new Uint32Array(small[4]!.buffer)[0]).toBe(0x12345678);
    for (const m of [...ws, ...small, direct, numberOffset]) m.unmap();
    expect(mappingsOf("emu-big")).toBe(0);
  });

  it("mmapWindows is all or nothing", () => {
    const fd = memfdCreate("emu-partial", 2 * pageSize);
    open.push(fd);
    // Windows 1 and 2 map; window 3 is beyond the end of the file.
    expect(() => mmapWindows(fd, 0n, BigInt(3 * pageSize), "rw", pageSize)).toThrow(SysArgumentError);
    expect(mappingsOf("emu-partial")).toBe(0);
  });

  it("refuses to map beyond the end of a regular file (SIGBUS on touch)", () => {
    const fd = memfd(pageSize);
    expect(() => mmap(fd, 0, 2 * pageSize)).toThrow(/beyond the end of the file/);
    expect(() => mmap(fd, pageSize, pageSize)).toThrow(SysArgumentError);
  });

  it("rejects bad arguments with clear typed errors, never a crash", () => {
    const fd = memfd(2 * pageSize);
    const cases: [string, () => unknown][] = [
      ["unaligned offset", () => mmap(fd, 100, pageSize)],
      ["unaligned bigint offset", () => mmap(fd, 4n * GiB + 1n, pageSize)],
      ["negative offset", () => mmap(fd, -4096, pageSize)],
      ["negative bigint offset", () => mmap(fd, -4096n, pageSize)],
      ["fractional offset", () => mmap(fd, 0.5, pageSize)],
      ["length 0", () => mmap(fd, 0, 0)],
      ["length above 4 GiB", () => mmap(fd, 0, 2 ** 32 + 4096)],
      ["fractional length", () => mmap(fd, 0, 10.5)],
      ["negative fd", () => mmap(-1, 0, pageSize)],
      ["fractional fd", () => mmap(1.5, 0, pageSize)],
      ["string fd", () => mmap("3" as unknown as number, 0, pageSize)],
      ["bad access", () => mmap(fd, 0, pageSize, "w" as "r")],
      ["windows: length 0", () => mmapWindows(fd, 0, 0n)],
      ["windows: unaligned window", () => mmapWindows(fd, 0, 8192n, "rw", 5000)],
      ["windows: window above 4 GiB", () => mmapWindows(fd, 0, 8192n, "rw", 2 ** 33)],
    ];
    for (const [what, f] of cases) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(isSysArgumentError(err), what).toBe(true);
      expect((err as Error).message.length, what).toBeGreaterThan(10);
    }
    expect(() => mmap(987654, 0, pageSize)).toThrow(SysError);
    expect(() => mmap(fd, 0, pageSize)).not.toThrow();
  });

  it("a read-only fd maps only read-only", async () => {
    const fd = memfdCreate("emu-ro", pageSize);
    open.push(fd);
    const { openSync, closeSync } = await import("node:fs");
    const ro = openSync(`/proc/self/fd/${fd}`, "r");
    try {
      expect(() => mmap(ro, 0, pageSize, "rw")).toThrow(expect.objectContaining({ code: "EACCES" }));
      const m = mmap(ro, 0, pageSize, "r");
      expect(m.access).toBe("r");
      m.unmap();
    } finally {
      closeSync(ro);
    }
  });

  it("a mapping never unmapped is released when its buffer is garbage collected", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const fd = memfdCreate("emu-gc", 64 * 1024);
    open.push(fd);
    const fds = fdCount();
    (() => {
      for (let i = 0; i < 50; i++) mmap(fd, 0, 64 * 1024);
    })();
    expect(mappingsOf("emu-gc")).toBeGreaterThan(0);
    for (let i = 0; i < 20 && mappingsOf("emu-gc") > 0; i++) {
      gc();
      await sleep(20);
    }
    expect(mappingsOf("emu-gc")).toBe(0);
    expect(fdCount()).toBe(fds);
  });
});

describe("memfdCreate sealSize", () => {
  // A peer that gets the fd of memory we map could shrink it under our mapping: touching the lost pages is a SIGBUS
  // (a vfio-user client truncating a region memfd the server passed it crashed the server).
  it("seals the size: nobody holding the fd can shrink or grow it, nor unseal it; mapping and writing work", () => {
    const fd = memfdCreate("sealed", 8192, { sealSize: true });
    open.push(fd);
    expect(fileSize(fd)).toBe(8192n);
    const peer = dupFd(fd); // what a peer gets over SCM_RIGHTS: the same file
    open.push(peer);
    expect(() => ftruncate(peer, 0)).toThrow(expect.objectContaining({ code: "EPERM", syscall: "ftruncate" }));
    expect(() => ftruncate(peer, 16384)).toThrow(expect.objectContaining({ code: "EPERM" }));
    const m = mmap(fd, 0, 8192);
    new Uint8Array(m.buffer).fill(7);
    expect(new Uint8Array(m.buffer)[8191]).toBe(7);
    m.unmap();
    // Without the option the size stays the holder's to change (as before).
    const plain = memfd(4096);
    ftruncate(plain, 0);
    expect(fileSize(plain)).toBe(0n);
  });
});
