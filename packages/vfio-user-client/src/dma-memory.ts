import { closeFds, MAX_MAPPING_LENGTH, type Mapping, memfdCreate, mmap, pageSize } from "@emu/sys";
import type { DmaBuffer, DmaMapAccess } from "@emu/vfio-device";
import { DmaMapFlags } from "@emu/vfio-user-proto";
import { invalid, VfioUserClientError } from "./errors.js";
import { U64_MAX, u64 } from "./internal/arguments.js";
import { type DmaEntry, DmaTable } from "./internal/dma-table.js";
import { type ClientSession, frameOf } from "./internal/session.js";

/** A DMA buffer of this client: a {@link DmaBuffer} plus how the server reaches it. */
export interface ClientDmaBuffer extends DmaBuffer {
  /** Mapped without an fd: the server uses DMA_READ/DMA_WRITE messages. */
  readonly messageBased: boolean;
}

/** Options of {@link VfioUserClient.dmaMap} beyond the access bits. */
export interface DmaMapOptions extends DmaMapAccess {
  /** Send no fd: the server must use DMA_READ/DMA_WRITE messages for this memory. Default false. */
  readonly messageBased?: boolean;
}

/**
 * Our memory the device may reach: memfds mapped here and made known to the server with DMA_MAP (with the fd, or
 * without it for memory the server reaches with DMA_READ/DMA_WRITE messages), released by DMA_UNMAP or `close()`.
 */
export class DmaMemory {
  private readonly session: ClientSession;
  /** The mapped ranges (served to the server's DMA_READ/DMA_WRITE by the DMA service). */
  readonly table = new DmaTable();

  constructor(session: ClientSession) {
    this.session = session;
  }

  /** See {@link VfioUserClient.dmaMap}. */
  async dmaMap(iova: bigint, size: bigint, access?: DmaMapOptions): Promise<ClientDmaBuffer> {
    this.session.live();
    u64(iova, "iova");
    u64(size, "size");
    if (size === 0n || size > BigInt(MAX_MAPPING_LENGTH))
      throw invalid(`DMA size 0x${size.toString(16)} is not in 1..4 GiB`);
    if (iova + size > U64_MAX + 1n) throw invalid("iova + size overflows 64 bits");
    const clash = this.table.overlaps(iova, size);
    if (clash)
      throw invalid(
        `DMA range 0x${iova.toString(16)}+0x${size.toString(16)} overlaps 0x${clash.iova.toString(16)}+0x${clash.size.toString(16)}`,
      );
    const readable = access?.read ?? true;
    const writable = access?.write ?? true;
    const messageBased = access?.messageBased === true;
    const given = access?.file;
    const file = given === undefined ? undefined : checkFile(given);
    // Our own memory is a memfd kept open while mapped, so threads of this process can map it too (DmaBuffer.file).
    // It is size-sealed: the server gets this fd (DMA_MAP) and could otherwise shrink it under our mapping (SIGBUS).
    const fd = file?.fd ?? memfdCreate(`emu-dma-${iova.toString(16)}`, size, { sealSize: true });
    const offset = file?.offset ?? 0n;
    let mapping: Mapping;
    try {
      mapping = mmap(fd, offset, Number(size), "rw");
    } catch (e) {
      if (file === undefined) closeFds([fd]);
      throw new VfioUserClientError(
        "InvalidArgument",
        `cannot map ${size} bytes of DMA memory: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    const bytes = new Uint8Array(mapping.buffer);
    const entry: DmaEntry = {
      iova,
      size,
      end: iova + size,
      bytes,
      readable,
      writable,
      messageBased,
      mapping,
      file: { fd, offset, owned: file === undefined },
    };
    this.table.add(entry);
    try {
      await this.announce(entry);
    } catch (e) {
      this.table.remove(entry);
      release(entry);
      throw e;
    }
    return bufferOf(entry);
  }

  /** DMA_MAP of `entry`, with its fd (and the offset in it) unless it is message-based. */
  private async announce(entry: DmaEntry): Promise<void> {
    const flags = (entry.readable ? DmaMapFlags.READ : 0) | (entry.writable ? DmaMapFlags.WRITE : 0);
    const frame = frameOf({
      kind: "DmaMapRequest",
      argsz: 32,
      flags,
      offset: entry.messageBased ? 0n : entry.file.offset,
      address: entry.iova,
      size: entry.size,
    });
    const reply = await this.session.conn.request(frame, entry.messageBased ? undefined : [entry.file.fd]);
    closeFds(reply.fds);
    this.session.decode(reply, "DmaMapReply");
  }

  /** See {@link VfioUserClient.dmaUnmap}. */
  async dmaUnmap(iova: bigint, size: bigint): Promise<void> {
    this.session.live();
    u64(iova, "iova");
    u64(size, "size");
    await this.session.call({ kind: "DmaUnmapRequest", argsz: 24, flags: 0, address: iova, size }, "DmaUnmapReply");
    const e = this.table.find(iova, size);
    if (e) {
      this.table.remove(e);
      release(e);
    }
  }

  /** See {@link VfioUserClient.dmaBuffers}. */
  dmaBuffers(): readonly ClientDmaBuffer[] {
    return this.table.list().map(bufferOf);
  }

  /** Releases all of our DMA memory. */
  close(): void {
    for (const e of this.table.clear()) release(e);
  }

  /**
   * Takes all of our DMA memory out of the table, still mapped here and its memfds open (the caller's now): the
   * returned function unmaps it and closes them, once.
   */
  keep(): () => void {
    let kept: readonly DmaEntry[] | undefined = this.table.clear();
    return () => {
      for (const e of kept ?? []) release(e);
      kept = undefined;
    };
  }
}

function bufferOf(e: DmaEntry): ClientDmaBuffer {
  const { iova, size, bytes, readable, writable, messageBased } = e;
  return { iova, size, bytes, readable, writable, messageBased, file: { fd: e.file.fd, offset: e.file.offset } };
}

/** Unmaps the entry's memory and closes its memfd if it is ours. */
function release(e: DmaEntry): void {
  e.mapping.unmap();
  if (e.file.owned) closeFds([e.file.fd]);
}

function checkFile(f: { readonly fd: number; readonly offset?: bigint }): { fd: number; offset: bigint } {
  const offset = f.offset ?? 0n;
  if (!Number.isInteger(f.fd) || f.fd < 0) throw invalid(`file.fd must be an fd (got ${String(f.fd)})`);
  if (typeof offset !== "bigint" || offset < 0n || offset % BigInt(pageSize) !== 0n)
    throw invalid(`file.offset must be a page-aligned bigint >= 0 (got ${String(offset)})`);
  return { fd: f.fd, offset };
}
