import * as fs from "node:fs";
import { MdevPciError } from "./errors.js";
import type { KernelDmaMemory, KernelEventFd, KernelMapping, VfioKernel } from "./vfio-kernel.js";

type SysModule = typeof import("@emu/sys");

function isSysModule(m: unknown): m is SysModule {
  const s = m as Partial<SysModule> | undefined;
  return typeof s?.ioctl === "function" && typeof s.mmap === "function" && typeof s.EventFd?.create === "function";
}

/**
 * The host's kernel, through `@emu/sys` (ioctl, mmap, eventfd, memfd) and Node's fs (open, pread, pwrite). Rejects
 * with reason NoVfio when the native primitives cannot be loaded or the host has no /dev/vfio.
 */
export async function nativeVfioKernel(options?: { readonly devRoot?: string }): Promise<VfioKernel> {
  let sys: unknown;
  try {
    sys = await import("@emu/sys");
  } catch (e) {
    throw new MdevPciError(
      "NoVfio",
      `kernel VFIO needs the native primitives of @emu/sys, which did not load: ${String(e)}`,
      { cause: e },
    );
  }
  if (!isSysModule(sys)) {
    throw new MdevPciError(
      "NoVfio",
      "kernel VFIO needs ioctl, mmap and eventfd from @emu/sys, which this build does not provide",
    );
  }
  const devRoot = options?.devRoot ?? "/dev";
  if (!fs.existsSync(`${devRoot}/vfio`)) {
    throw new MdevPciError(
      "NoVfio",
      `this host has no VFIO: ${devRoot}/vfio does not exist (load vfio-pci, or the vendor's mdev driver, and bind the device)`,
      { path: `${devRoot}/vfio` },
    );
  }
  return new NativeKernel(sys);
}

class NativeKernel implements VfioKernel {
  readonly description = "linux";
  readonly arch = process.arch;
  constructor(private readonly sys: SysModule) {}

  exists(path: string): boolean {
    return fs.existsSync(path);
  }
  open(path: string): number {
    // libuv opens every file with O_CLOEXEC.
    return fs.openSync(path, fs.constants.O_RDWR);
  }
  close(fd: number): void {
    fs.closeSync(fd);
  }
  ioctl(fd: number, request: number, arg?: Uint8Array | number | bigint): number {
    return this.sys.ioctl(fd, request, arg);
  }
  pread(fd: number, length: number, position: bigint): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, out, done, length - done, position + BigInt(done));
      if (n === 0) break;
      done += n;
    }
    return done === length ? out : out.subarray(0, done);
  }
  pwrite(fd: number, data: Uint8Array, position: bigint): number {
    let done = 0;
    while (done < data.length) {
      const n = fs.writeSync(fd, data, done, data.length - done, Number(position + BigInt(done)));
      if (n === 0) break;
      done += n;
    }
    return done;
  }
  mmap(fd: number, offset: bigint, length: number): KernelMapping {
    const m = this.sys.mmap(fd, offset, length, "rw");
    return { bytes: new Uint8Array(m.buffer, 0, length), unmap: () => m.unmap() };
  }
  eventfd(): KernelEventFd {
    const e = this.sys.EventFd.create();
    const fd = e.fd;
    return { fd, watch: (listener) => e.watch(listener), close: () => e.close() };
  }
  mapDmaFile(fd: number, offset: bigint, size: number): KernelDmaMemory {
    const m = this.sys.mmap(fd, offset, size, "rw");
    return { bytes: new Uint8Array(m.buffer, 0, size), vaddr: m.address, free: () => m.unmap() };
  }
  allocDma(size: number): KernelDmaMemory {
    const fd = this.sys.memfdCreate("emu-dma", size);
    try {
      const m = this.sys.mmap(fd, 0, size, "rw");
      return { bytes: new Uint8Array(m.buffer, 0, size), vaddr: m.address, free: () => m.unmap() };
    } finally {
      this.sys.closeFd(fd);
    }
  }
}
