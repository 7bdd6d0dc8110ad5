// The stand-in kernel's DMA side: the memory it hands out by virtual address (allocDma) and the IOMMU mappings the
// container's MAP_DMA and iommufd's IOAS_MAP make of it, shared by both (one flat table, as the tests look at it).
import { mmap } from "@emu/sys";
import type { KernelDmaMemory } from "../vfio-kernel.js";
import type { StandInDmaMapping } from "./stand-in-device.js";
import { fail } from "./stand-in-files.js";

export class StandInDma {
  readonly mappings: StandInDmaMapping[] = [];
  private readonly memory = new Map<bigint, Uint8Array>();
  private nextVaddr = 0x7f0000000000n;

  alloc(size: number): KernelDmaMemory {
    const vaddr = this.nextVaddr;
    this.nextVaddr += BigInt(Math.ceil(size / 4096) * 4096 + 4096);
    const bytes = new Uint8Array(size);
    this.memory.set(vaddr, bytes);
    return { bytes, vaddr, free: () => void this.memory.delete(vaddr) };
  }

  /** The caller's file, really mapped (a test writes the file and sees the device's mapping change). */
  mapFile(fd: number, offset: bigint, size: number): KernelDmaMemory {
    const m = mmap(fd, offset, size, "rw");
    const vaddr = this.nextVaddr;
    this.nextVaddr += BigInt(Math.ceil(size / 4096) * 4096 + 4096);
    const bytes = new Uint8Array(m.buffer, 0, size);
    this.memory.set(vaddr, bytes);
    return {
      bytes,
      vaddr,
      free: () => {
        this.memory.delete(vaddr);
        m.unmap();
      },
    };
  }

  map(iova: bigint, size: bigint, vaddr: bigint, read: number, write: number): number {
    const bytes = this.memory.get(vaddr);
    if (!bytes || BigInt(bytes.length) < size)
      return fail("EFAULT", `no memory of ours at vaddr 0x${vaddr.toString(16)}`);
    if (this.mappings.some((m) => iova < m.iova + m.size && m.iova < iova + size))
      return fail("EEXIST", `iova 0x${iova.toString(16)} overlaps a mapping`);
    this.mappings.push({
      iova,
      size,
      bytes: bytes.subarray(0, Number(size)),
      readable: read !== 0,
      writable: write !== 0,
    });
    return 0;
  }

  unmap(iova: bigint, size: bigint): number {
    const i = this.mappings.findIndex((m) => m.iova === iova && m.size === size);
    if (i < 0) return fail("ENOENT", `nothing mapped at 0x${iova.toString(16)}`);
    this.mappings.splice(i, 1);
    return 0;
  }
}
