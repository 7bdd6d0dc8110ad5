import type { Mapping } from "@emu/sys";

/** Memory of ours that the server may reach at [iova, iova + size). */
export interface DmaEntry {
  readonly iova: bigint;
  readonly size: bigint;
  readonly end: bigint;
  readonly bytes: Uint8Array;
  readonly readable: boolean;
  readonly writable: boolean;
  /** Mapped without an fd: the server reaches it only with DMA_READ/DMA_WRITE messages. */
  readonly messageBased: boolean;
  readonly mapping: Mapping;
  /** The file behind the memory: our memfd (closed with the entry) or the caller's (`owned` false). */
  readonly file: { readonly fd: number; readonly offset: bigint; readonly owned: boolean };
}

/** The client's side of the IOMMU: which IOVA ranges are backed by which of our mappings. Few entries: a list. */
export class DmaTable {
  private entries: DmaEntry[] = [];
  private last: DmaEntry | undefined;

  get size(): number {
    return this.entries.length;
  }

  list(): readonly DmaEntry[] {
    return this.entries;
  }

  overlaps(iova: bigint, size: bigint): DmaEntry | undefined {
    const end = iova + size;
    return this.entries.find((e) => iova < e.end && e.iova < end);
  }

  add(e: DmaEntry): void {
    this.entries.push(e);
  }

  find(iova: bigint, size: bigint): DmaEntry | undefined {
    return this.entries.find((e) => e.iova === iova && e.size === size);
  }

  remove(e: DmaEntry): void {
    this.entries = this.entries.filter((x) => x !== e);
    if (this.last === e) this.last = undefined;
  }

  /** The entry holding all of [address, address + count), or undefined. */
  lookup(address: bigint, count: bigint): DmaEntry | undefined {
    const end = address + count;
    const l = this.last;
    if (l !== undefined && address >= l.iova && end <= l.end) return l;
    for (const e of this.entries) {
      if (address >= e.iova && end <= e.end) {
        this.last = e;
        return e;
      }
    }
    return undefined;
  }

  clear(): DmaEntry[] {
    const all = this.entries;
    this.entries = [];
    this.last = undefined;
    return all;
  }
}
