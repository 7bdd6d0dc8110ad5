/** A mapping of a device fd window (mmap MAP_SHARED). */
export interface KernelMapping {
  readonly bytes: Uint8Array;
  unmap(): void;
}

/** An eventfd the kernel signals for an interrupt vector. */
export interface KernelEventFd {
  readonly fd: number;
  /** Calls `listener` with the counter each time the eventfd becomes readable (the counter is consumed). */
  watch(listener: (count: bigint) => void): void;
  close(): void;
}

/** Memory a device may reach by DMA, with the process virtual address VFIO_IOMMU_MAP_DMA / IOAS_MAP needs. */
export interface KernelDmaMemory {
  readonly bytes: Uint8Array;
  readonly vaddr: bigint;
  free(): void;
}

/**
 * The system calls kernel VFIO access needs, as one seam: the native implementation calls `@emu/sys` and Node's fs;
 * the stand-in (`StandInVfioKernel`) answers the same calls in TypeScript, so everything above the seam (group,
 * container and cdev flows, region info, mmap, pread/pwrite, IRQs) runs the same code in tests and on a host.
 * Every method throws errors carrying an errno-style `code` ("ENOENT", "EINVAL", ...), like `@emu/sys`'s SysError.
 */
export interface VfioKernel {
  /** For messages: "linux" or "stand-in". */
  readonly description: string;
  /** The ioctl request numbers of the kernel's architecture (see `vfioIoctls`). */
  readonly arch: string;
  exists(path: string): boolean;
  /** open(path, O_RDWR | O_CLOEXEC). */
  open(path: string): number;
  close(fd: number): void;
  /** A Uint8Array argument is passed by pointer, in and out; a number or bigint by value. */
  ioctl(fd: number, request: number, arg?: Uint8Array | number | bigint): number;
  pread(fd: number, length: number, position: bigint): Uint8Array;
  pwrite(fd: number, data: Uint8Array, position: bigint): number;
  mmap(fd: number, offset: bigint, length: number): KernelMapping;
  eventfd(): KernelEventFd;
  allocDma(size: number): KernelDmaMemory;
  /** Maps `size` bytes of the caller's file at `offset` (page aligned) for DMA: its vaddr; the fd stays the caller's. */
  mapDmaFile(fd: number, offset: bigint, size: number): KernelDmaMemory;
}
