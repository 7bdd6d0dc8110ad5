/**
 * The native side of the VfioKernel seam (@emu/sys + Node fs), exercised on what this host has: ordinary files stand
 * in for the device nodes, so pread/pwrite at 40-bit offsets, mmap, eventfds and DMA memory are the real calls, and
 * the VFIO ioctls fail the way they would on a node that is not VFIO's (ENOTTY), with a clear message.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isMdevPciError, nativeVfioKernel, readMdev, VfioHost, type VfioKernel } from "@emu/mdev-pci";
import { MTTY_UUID } from "@emu/mdev-pci/testing";
import { afterEach, expect, test } from "vitest";
import { fixture } from "./fixtures/tmp.js";

let kernel: VfioKernel | undefined;
let why = "";
try {
  const { root } = fixture();
  fs.mkdirSync(path.join(root, "vfio"));
  kernel = await nativeVfioKernel({ devRoot: root });
} catch (e) {
  why = isMdevPciError(e) ? e.message : String(e);
}

const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) kernel?.close(fd);
});

test("pread/pwrite at 40-bit region offsets, mmap, eventfd, DMA memory", async (ctx) => {
  if (!kernel) return ctx.skip(`the native primitives did not load: ${why}`);
  const { root } = fixture();
  const file = path.join(root, "device");
  fs.writeFileSync(file, "");
  const fd = kernel.open(file);
  fds.push(fd);
  const far = 7n << 33n; // beyond 2^32, as vfio-pci's index << 40 offsets are
  expect(kernel.pwrite(fd, Uint8Array.of(1, 2, 3, 4), far)).toBe(4);
  expect(kernel.pread(fd, 4, far)).toEqual(Uint8Array.of(1, 2, 3, 4));
  expect(kernel.pread(fd, 4, far + 2n)).toEqual(Uint8Array.of(3, 4)); // short at EOF: the device layer reports it

  fs.truncateSync(file, 8192);
  const m = kernel.mmap(fd, 4096n, 4096);
  m.bytes[0] = 0x5a;
  expect(kernel.pread(fd, 1, 4096n)[0]).toBe(0x5a);
  m.unmap();

  const e = kernel.eventfd();
  const got = new Promise<bigint>((resolve) => e.watch(resolve));
  fs.writeSync(e.fd, new Uint8Array(new BigUint64Array([3n]).buffer)); // what the kernel does on an interrupt
  expect(await got).toBe(3n);
  e.close();

  const dma = kernel.allocDma(8192);
  expect(dma.vaddr).toBeGreaterThan(0n);
  expect(dma.bytes.length).toBe(8192);
  dma.free();
});

test("a node that is not VFIO's: the ioctl fails with ENOTTY and says which", async (ctx) => {
  if (!kernel) return ctx.skip(`the native primitives did not load: ${why}`);
  const { root, sys } = fixture();
  fs.mkdirSync(path.join(root, "vfio"));
  fs.writeFileSync(path.join(root, "vfio", "vfio"), "");
  const host = new VfioHost({ kernel: await nativeVfioKernel({ devRoot: root }), devRoot: root, flow: "group" });
  await expect(host.open(readMdev(MTTY_UUID, { sysfsRoot: sys }))).rejects.toMatchObject({
    _tag: "MdevPciError",
    reason: "Kernel",
    code: "ENOTTY",
    message: `${root}/vfio/vfio: ioctl GET_API_VERSION failed with ENOTTY`,
  });
});

test("a host without /dev/vfio says so", async (ctx) => {
  if (!kernel) return ctx.skip(`the native primitives did not load: ${why}`);
  const { root } = fixture();
  await expect(nativeVfioKernel({ devRoot: root })).rejects.toMatchObject({
    reason: "NoVfio",
    message: `this host has no VFIO: ${root}/vfio does not exist (load vfio-pci, or the vendor's mdev driver, and bind the device)`,
  });
});
