// The guest's memory as the delegate reaches it: every fd-backed mapping of the front device's DMA table is
// DMA-mapped into the delegate at the same IOVA with the same file (a dup of the server's fd, so the mapping survives
// the front server closing its own copy at unmap), and unmapped when the guest unmaps it. Memory mapped without an fd
// (DMA_READ/DMA_WRITE messages) cannot be handed over and is reported.
import type { DmaFile } from "@emu/emudev";
import { closeFd, dupFd } from "@emu/sys";
import type { VfioDevice } from "@emu/vfio-device";

/** IOVAs from here up are the delegate driver's own (its admin queue): guest memory there cannot be mirrored. */
export const DELEGATE_IOVA_BASE = 1n << 46n;

interface Mirrored {
  readonly iova: bigint;
  readonly size: bigint;
  /** Our dup of the front server's fd, kept for as long as the delegate maps it. */
  readonly fd: number;
}

export class DmaMirror {
  readonly #mapped = new Map<bigint, Mirrored>();
  /** Guest mappings that could not be handed to the delegate (no fd, or inside the delegate's own IOVA window). */
  refused = 0;

  constructor(
    private readonly device: VfioDevice,
    private readonly report: (e: unknown) => void,
  ) {}

  /** The IOVAs mirrored now. */
  get size(): number {
    return this.#mapped.size;
  }

  /** Makes the delegate's table equal to `files` (the front's fd-backed mappings) and `direct` (all its mappings). */
  async sync(
    files: readonly DmaFile[],
    all: readonly { iova: bigint; size: bigint; direct: boolean }[],
  ): Promise<void> {
    const want = new Map(files.map((f) => [f.iova, f]));
    for (const [iova, m] of [...this.#mapped]) {
      const f = want.get(iova);
      if (f === undefined || f.size !== m.size) await this.unmap(iova);
    }
    for (const f of files) if (!this.#mapped.has(f.iova)) await this.map(f);
    const undirect = all.filter((r) => !r.direct).length;
    if (undirect > 0) {
      this.refused += undirect;
      this.report(new Error(`${undirect} guest memory mapping(s) without an fd cannot be handed to the delegate`));
    }
  }

  private async map(f: DmaFile): Promise<void> {
    if (f.iova + f.size > DELEGATE_IOVA_BASE) {
      this.refused++;
      this.report(new Error(`guest memory at 0x${f.iova.toString(16)} overlaps the delegate driver's IOVA window`));
      return;
    }
    const fd = dupFd(f.fd);
    try {
      await this.device.dmaMap(f.iova, f.size, {
        read: f.readable,
        write: f.writable,
        file: { fd, offset: f.offset },
      });
    } catch (e) {
      closeFd(fd);
      this.refused++;
      this.report(e);
      return;
    }
    this.#mapped.set(f.iova, { iova: f.iova, size: f.size, fd });
  }

  private async unmap(iova: bigint): Promise<void> {
    const m = this.#mapped.get(iova);
    if (m === undefined) return;
    this.#mapped.delete(iova);
    try {
      await this.device.dmaUnmap(m.iova, m.size);
    } catch (e) {
      this.report(e);
    } finally {
      closeFd(m.fd);
    }
  }

  /** Unmaps everything (the delegate is let go). */
  async clear(): Promise<void> {
    for (const iova of [...this.#mapped.keys()]) await this.unmap(iova);
  }

  /** Closes our fds without telling the delegate (it is gone). */
  drop(): void {
    for (const m of this.#mapped.values()) closeFd(m.fd);
    this.#mapped.clear();
  }
}
