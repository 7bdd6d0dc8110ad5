// Guest memory as a data path reaches it: the DMA table kept from the server's map/unmap notifications, address
// translation to a direct view (fd-backed memory only, never a socket round trip), bounds checks before anything.
import { type DirtySource, type Dma, type DmaRegionInfo, type DmaView, isDmaError } from "@emu/vfio-user-server";
import { EmudevError } from "./errors.js";

export type { DirtySource };

const MAX_U64 = (1n << 64n) - 1n;

/** An fd-backed mapping with the file behind it (`DmaTable.files`). */
export interface DmaFile extends DmaRegionInfo {
  /** The client's fd (the server's copy; never close it): closed after the `dmaTable` "unmap" event of the mapping. */
  readonly fd: number;
  /** Where the mapping starts in the file. */
  readonly offset: bigint;
}

/** The guest memory table of an emudev device. */
export interface DmaTable {
  /** The mappings, ordered by IOVA. */
  regions(): readonly DmaRegionInfo[];
  /** Bumped on every map and unmap: a provider caching views re-translates when it changed. */
  readonly generation: number;
  /**
   * The fd-backed mappings with their files, for a data path in another thread that maps guest memory itself
   * (`mmap(fd, offset, size)`). It must stop using a mapping (and its fd) before the listener of the mapping's
   * `dmaTable` "unmap" event returns: the server then unmaps it and closes the fd.
   */
  files(): readonly DmaFile[];
  /**
   * A direct view of [iova, iova + length) inside one fd-backed mapping, `access` "r" or "rw" (default "r"). Throws
   * EmudevError "BadRange" (length not a positive safe integer, iova negative or the range beyond 2^64), "NotMapped"
   * (not entirely inside one mapping), "NotDirect" (mapped without an fd: use `read`/`write`), "Permission".
   */
  translate(iova: bigint | number, length: number, access?: "r" | "rw"): DmaView;
  /**
   * Reads guest memory, directly or by DMA_READ messages for message-based mappings. Same range checks; a message
   * that fails rejects with the server's DmaError ("Disconnected", "ClientError", "Timeout").
   */
  read(iova: bigint | number, length: number): Promise<Uint8Array>;
  /** Writes guest memory, directly or by DMA_WRITE messages. Same range checks. */
  write(iova: bigint | number, data: Uint8Array): Promise<void>;
  /**
   * DMA dirty logging for a data path that writes guest memory itself (through `files()` in other threads): the
   * source is told when the client starts and stops logging (at once if it is on), and asked for what it wrote
   * before every report. Kept across server restarts; returns the removal.
   */
  addDirtySource(source: DirtySource): () => void;
}

/** Checks a guest range; returns the IOVA as a bigint. */
function checkRange(iova: bigint | number, length: number): bigint {
  if (!Number.isSafeInteger(length) || length <= 0)
    throw new EmudevError("BadRange", `DMA length ${String(length)} must be a positive integer`);
  if (typeof iova === "number" && !Number.isSafeInteger(iova))
    throw new EmudevError("BadRange", `DMA address ${String(iova)} is not an integer`);
  const a = BigInt(iova);
  if (a < 0n || a + BigInt(length) - 1n > MAX_U64)
    throw new EmudevError("BadRange", `DMA range 0x${a.toString(16)}+${length} is outside the 64-bit space`);
  return a;
}

function hex(a: bigint): string {
  return `0x${a.toString(16)}`;
}

/** The table over the server's `Dma`, kept in step by `mapped`/`unmapped` (the device model's notifications). */
export class DmaTableImpl implements DmaTable {
  private table: DmaRegionInfo[] = [];
  generation = 0;
  private readonly sources = new Set<DirtySource>();
  private loggingAt: bigint | undefined;
  /** The one source the server knows (registered at each start): it fans out to the provider's sources. */
  readonly dirtySource: DirtySource = {
    logging: (pageSize) => {
      this.loggingAt = pageSize;
      for (const s of this.sources) s.logging(pageSize);
    },
    collect: (mark) => {
      for (const s of this.sources) s.collect(mark);
    },
  };

  constructor(private readonly dma: () => Dma | undefined) {}

  mapped(region: DmaRegionInfo): void {
    this.table = [...this.table, region].sort((x, y) => (x.iova < y.iova ? -1 : x.iova > y.iova ? 1 : 0));
    this.generation++;
  }

  unmapped(region: DmaRegionInfo): void {
    this.table = this.table.filter((r) => r.iova !== region.iova || r.size !== region.size);
    this.generation++;
  }

  /** All mappings dropped (the server stopped). */
  clear(): void {
    if (this.table.length === 0) return;
    this.table = [];
    this.generation++;
  }

  regions(): readonly DmaRegionInfo[] {
    return this.table;
  }

  addDirtySource(source: DirtySource): () => void {
    this.sources.add(source);
    if (this.loggingAt !== undefined) source.logging(this.loggingAt);
    return () => {
      this.sources.delete(source);
    };
  }

  files(): readonly DmaFile[] {
    const d = this.dma();
    if (d === undefined) return [];
    const out: DmaFile[] = [];
    for (const r of this.table) {
      const f = r.direct ? d.file(r.iova) : undefined;
      if (f !== undefined) out.push({ ...r, fd: f.fd, offset: f.offset });
    }
    return out;
  }

  private find(a: bigint, length: number): DmaRegionInfo {
    const end = a + BigInt(length);
    const r = this.table.find((m) => a >= m.iova && a < m.iova + m.size);
    if (r === undefined) throw new EmudevError("NotMapped", `DMA ${hex(a)}+${length}: ${hex(a)} is not mapped`);
    if (end > r.iova + r.size)
      throw new EmudevError(
        "NotMapped",
        `DMA ${hex(a)}+${length} crosses the end of its mapping ${hex(r.iova)}+${hex(r.size)}`,
      );
    return r;
  }

  private server(): Dma {
    const d = this.dma();
    if (d === undefined) throw new EmudevError("NotMapped", "the device is not started: no DMA table");
    return d;
  }

  translate(iova: bigint | number, length: number, access: "r" | "rw" = "r"): DmaView {
    const a = checkRange(iova, length);
    const r = this.find(a, length);
    if (!r.direct)
      throw new EmudevError("NotDirect", `DMA ${hex(a)}+${length} was mapped without an fd: no direct view`);
    if (!r.readable || (access === "rw" && !r.writable))
      throw new EmudevError("Permission", `DMA ${hex(a)}+${length}: mapping does not allow ${access}`);
    return wrapDma(() => this.server().map(a, length, access));
  }

  read(iova: bigint | number, length: number): Promise<Uint8Array> {
    const a = checkRange(iova, length);
    const r = this.find(a, length);
    if (!r.readable) throw new EmudevError("Permission", `DMA ${hex(a)}+${length}: mapping is not readable`);
    return wrapDmaAsync(() => this.server().read(a, length));
  }

  write(iova: bigint | number, data: Uint8Array): Promise<void> {
    const a = checkRange(iova, data.length);
    const r = this.find(a, data.length);
    if (!r.writable) throw new EmudevError("Permission", `DMA ${hex(a)}+${data.length}: mapping is not writable`);
    return wrapDmaAsync(() => this.server().write(a, data));
  }
}

/** The server's DmaError as ours (the table and the server can disagree only in a race with an unmap). */
function convert(e: unknown): unknown {
  if (!isDmaError(e)) return e;
  if (e.reason === "NotMapped" || e.reason === "Spans") return new EmudevError("NotMapped", e.message, { cause: e });
  if (e.reason === "NotDirect" || e.reason === "Permission") return new EmudevError(e.reason, e.message, { cause: e });
  return e; // Disconnected, ClientError, Timeout: the server's own DmaError
}

function wrapDma<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw convert(e);
  }
}

async function wrapDmaAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw convert(e);
  }
}
