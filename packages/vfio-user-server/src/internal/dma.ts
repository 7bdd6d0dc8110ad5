import { readFileSync } from "node:fs";
import { closeFds, fileSize, MAX_MAPPING_LENGTH, type Mapping, mmapWindows } from "@emu/sys";
import { DmaMapFlags } from "@emu/vfio-user-proto";
import { refuse } from "../errno.js";
import { DmaError } from "../errors.js";
import type { DirtySource, Dma, DmaAccessOptions, DmaRegionInfo, DmaView } from "../guest-memory.js";
import type { DirtyLog } from "./dirty-log.js";
import { DmaFiles } from "./dma-files.js";

/** Server → client memory access (DMA_READ / DMA_WRITE messages), provided by the connection. */
export interface DmaTransport {
  /** The largest DMA_READ/DMA_WRITE: min(the client's max_data_xfer_size, ours). Transfers are split to it. */
  readonly maxDataXferSize: number;
  read(address: bigint, count: number): Promise<Uint8Array>;
  write(address: bigint, data: Uint8Array): Promise<void>;
}

interface Entry {
  readonly iova: bigint;
  readonly size: bigint;
  readonly end: bigint;
  readonly info: DmaRegionInfo;
  /** fd-backed: windows of at most 4 GiB, in order. */
  readonly windows: Mapping[] | undefined;
  readonly views: Uint8Array[] | undefined;
  /** fd-backed: the file kept for `file` (its fd and key in DmaFiles) and the mapping's offset in it. */
  readonly file: { readonly fd: number; readonly key: string } | undefined;
  readonly offset: bigint;
}

const MAX_WINDOW = BigInt(MAX_MAPPING_LENGTH);
/**
 * The largest DMA_MAP: 8 TiB, libvfio-user's limit (`MAX_DMA_SIZE`, refused with ENOSPC as here). It bounds what a
 * client can claim without an fd, where nothing else does (an fd-backed range must also lie within its file).
 */
const MAX_DMA_MAP_SIZE = 8n << 40n;
const NO_BYTES = new Uint8Array(0);
/**
 * fd-backed guest memory mapped at once, by default (`ServerOptions.maxMappedGuestMemory`). A client's sparse memfds
 * cost it nothing, but each 4 GiB window costs the server an mmap and an ArrayBuffer (~8 ms of its event loop, V8
 * accounting the memory), and with no bound a client could take the address space the server's own heap needs
 * (x86-64 has 128 TiB). 4 TiB: 1024 windows.
 */
export const DEFAULT_MAX_DIRECT_BYTES = 4n << 40n;

/**
 * mmap windows the DMA table may hold: half of vm.max_map_count (65530 by default). Every window is one mapping of the
 * process, and a process that reaches vm.max_map_count cannot map anything more: V8 then dies of "out of memory".
 */
function windowBudget(): number {
  try {
    const n = Number.parseInt(readFileSync("/proc/sys/vm/max_map_count", "utf8"), 10);
    if (Number.isSafeInteger(n) && n > 0) return Math.floor(n / 2);
  } catch {
    // not Linux's procfs: the default
  }
  return 32765;
}

/** The DMA table of the current client and the device-facing translation API. */
export class DmaController implements Dma {
  private entries: Entry[] = [];
  transport: DmaTransport | undefined;
  /** Negotiated: min(client's max_dma_maps, ours). */
  maxMaps = 65535;
  /** Negotiated smallest DMA page size: addresses and sizes must be multiples of it. */
  pageSize = 4096n;
  #log: DirtyLog | undefined;
  private readonly dirtySources = new Set<DirtySource>();
  /** Most bytes of fd-backed mappings at once. */
  maxDirectBytes = DEFAULT_MAX_DIRECT_BYTES;
  /** The fd-backed mappings' windows and bytes, against `windowBudget` and `maxDirectBytes`. */
  private readonly maxWindows = windowBudget();
  private windowCount = 0;
  private directBytes = 0n;
  private readonly files = new DmaFiles();
  /** During `add`: the DMA_MAP's fd until the table keeps it (closed if the map fails before). */
  private unkeptFd: number | undefined;
  private readonly onMap: (r: DmaRegionInfo) => void;
  private readonly onUnmap: (r: DmaRegionInfo) => void;

  constructor(onMap: (r: DmaRegionInfo) => void, onUnmap: (r: DmaRegionInfo) => void) {
    this.onMap = onMap;
    this.onUnmap = onUnmap;
  }

  get count(): number {
    return this.entries.length;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Protocol side

  /**
   * DMA_MAP. Takes ownership of `fd`: kept while an fd-backed mapping of its file lives (for `file`; one fd per
   * distinct file), closed at once when the map is refused. Throws ReplyError.
   */
  add(flags: number, offset: bigint, iova: bigint, size: bigint, fd: number | undefined): DmaRegionInfo {
    this.unkeptFd = fd;
    try {
      return this.addInner(flags, offset, iova, size, fd);
    } finally {
      if (this.unkeptFd !== undefined) closeFds([this.unkeptFd]);
      this.unkeptFd = undefined;
    }
  }

  private addInner(flags: number, offset: bigint, iova: bigint, size: bigint, fd: number | undefined): DmaRegionInfo {
    const { READ, WRITE, ACCESS_MMAP, ACCESS_FILE_IO } = DmaMapFlags;
    if ((flags & ACCESS_FILE_IO) !== 0) throw refuse("NotSupported", "DMA_MAP ACCESS_FILE_IO is not supported");
    if ((flags & ACCESS_MMAP) !== 0 && fd === undefined) throw refuse("Malformed", "DMA_MAP ACCESS_MMAP without an fd");
    if ((flags & ~(READ | WRITE | ACCESS_MMAP)) !== 0)
      throw refuse("Malformed", `DMA_MAP flags 0x${flags.toString(16)}`);
    if ((flags & (READ | WRITE)) === 0) throw refuse("Malformed", "DMA_MAP with neither READ nor WRITE");
    const mask = this.pageSize - 1n;
    if (size === 0n || (iova & mask) !== 0n || (size & mask) !== 0n)
      throw refuse(
        "Malformed",
        `DMA_MAP iova 0x${iova.toString(16)} size 0x${size.toString(16)} not aligned to the negotiated DMA page size 0x${this.pageSize.toString(16)}`,
      );
    const end = iova + size;
    if (end > 1n << 64n) throw refuse("Malformed", "DMA_MAP range wraps");
    if (size > MAX_DMA_MAP_SIZE)
      throw refuse(
        "NoSpace",
        `DMA_MAP of 0x${size.toString(16)} bytes: at most 0x${MAX_DMA_MAP_SIZE.toString(16)} (8 TiB)`,
      );
    if (fd === undefined && offset !== 0n) throw refuse("Malformed", "DMA_MAP offset without an fd");
    // Entries are sorted and disjoint: only the last one starting before `end` can overlap (a binary search, so that
    // a client cannot make each DMA_MAP cost a walk of 65535 entries).
    const at = this.indexAtOrBelow(end - 1n);
    if (at >= 0 && (this.entries[at] as Entry).end > iova)
      throw refuse("Exists", `DMA_MAP 0x${iova.toString(16)}+0x${size.toString(16)} overlaps an existing mapping`);
    if (this.entries.length >= this.maxMaps) throw refuse("NoSpace", `more than ${this.maxMaps} DMA mappings`);
    const readable = (flags & READ) !== 0;
    const writable = (flags & WRITE) !== 0;
    let windows: Mapping[] | undefined;
    let file: { readonly fd: number; readonly key: string } | undefined;
    if (fd !== undefined) {
      if ((offset & mask) !== 0n)
        throw refuse(
          "Malformed",
          `DMA_MAP offset 0x${offset.toString(16)} not aligned to the negotiated DMA page size 0x${this.pageSize.toString(16)}`,
        );
      // Mapping past the end of the file would turn a guest access into SIGBUS: refuse it instead.
      let fsize: bigint;
      try {
        fsize = fileSize(fd);
      } catch {
        throw refuse("Malformed", "DMA_MAP fd cannot be inspected");
      }
      if (offset + size > fsize) throw refuse("Malformed", "DMA_MAP range beyond the end of the fd");
      this.checkDirectBudget(size);
      try {
        windows = mmapWindows(fd, offset, size, writable ? "rw" : "r");
      } catch (e) {
        throw refuse("Malformed", `DMA_MAP mmap failed: ${(e as Error).message}`);
      }
      try {
        file = this.files.keep(fd);
        this.unkeptFd = undefined; // the file's now (kept, or closed for the one already kept)
      } catch (e) {
        for (const w of windows) w.unmap();
        throw e;
      }
      this.windowCount += windows.length;
      this.directBytes += size;
    }
    const info: DmaRegionInfo = { iova, size, readable, writable, direct: windows !== undefined };
    const entry: Entry = {
      iova,
      size,
      end,
      info,
      windows,
      views: windows?.map((w) => new Uint8Array(w.buffer)),
      file,
      offset,
    };
    this.entries.splice(at + 1, 0, entry);
    this.onMap(info);
    return info;
  }

  /** DMA_UNMAP: must match a mapping exactly. Throws ReplyError NotFound. */
  remove(iova: bigint, size: bigint): DmaRegionInfo {
    const i = this.entries.findIndex((e) => e.iova === iova && e.size === size);
    const e = this.entries[i];
    if (e === undefined) throw refuse("NotFound", `no DMA mapping 0x${iova.toString(16)}+0x${size.toString(16)}`);
    this.drop(e);
    this.entries.splice(i, 1);
    return e.info;
  }

  /** Unmaps everything (UNMAP_ALL, disconnect, close). */
  removeAll(): void {
    const all = this.entries;
    this.entries = [];
    for (const e of all) this.drop(e);
  }

  private drop(e: Entry): void {
    try {
      this.onUnmap(e.info);
    } finally {
      if (e.windows) {
        for (const w of e.windows) w.unmap();
        this.windowCount -= e.windows.length;
        this.directBytes -= e.size;
      }
      if (e.file) this.files.release(e.file.key);
    }
  }

  file(iova: bigint): { readonly fd: number; readonly offset: bigint } | undefined {
    const e = this.entries.find((x) => x.iova === iova);
    return e?.file === undefined ? undefined : { fd: e.file.fd, offset: e.offset };
  }

  /** Refuses (ENOSPC) an fd-backed mapping of `size` bytes that would take the server past its mmap budget. */
  private checkDirectBudget(size: bigint): void {
    const windows = Number((size + MAX_WINDOW - 1n) / MAX_WINDOW);
    if (this.windowCount + windows > this.maxWindows)
      throw refuse(
        "NoSpace",
        `DMA_MAP with an fd: ${this.windowCount} of the server's ${this.maxWindows} mmaps for guest memory are in use (half of vm.max_map_count)`,
      );
    if (this.directBytes + size > this.maxDirectBytes)
      throw refuse(
        "NoSpace",
        `DMA_MAP with an fd: more than 0x${this.maxDirectBytes.toString(16)} bytes of guest memory would be mapped at once (maxMappedGuestMemory)`,
      );
  }

  // -------------------------------------------------------------------------------------------------------------
  // Device side

  /** The index of the last entry starting at or below `iova`, or -1. */
  private indexAtOrBelow(iova: bigint): number {
    let lo = 0;
    let hi = this.entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.entries[mid] as Entry).iova <= iova) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi;
  }

  private find(iova: bigint): Entry | undefined {
    // Binary search: the last entry starting at or below iova.
    let lo = 0;
    let hi = this.entries.length - 1;
    let hit: Entry | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = this.entries[mid];
      if (e === undefined) break;
      if (e.iova <= iova) {
        hit = e;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return hit !== undefined && iova < hit.end ? hit : undefined;
  }

  regions(): readonly DmaRegionInfo[] {
    return this.entries.map((e) => e.info);
  }

  /** Splits [iova, iova + length) into per-entry pieces; throws DmaError NotMapped / Permission. */
  private pieces(iova: bigint, length: number, write: boolean): { e: Entry; at: bigint; n: number; done: number }[] {
    const out: { e: Entry; at: bigint; n: number; done: number }[] = [];
    let cur = iova;
    let done = 0;
    while (done < length) {
      const e = this.find(cur);
      if (e === undefined)
        throw new DmaError(
          "NotMapped",
          iova,
          length,
          `DMA 0x${iova.toString(16)}+${length}: 0x${cur.toString(16)} is not mapped`,
        );
      if (write ? !e.info.writable : !e.info.readable)
        throw new DmaError(
          "Permission",
          iova,
          length,
          `DMA mapping at 0x${e.iova.toString(16)} is not ${write ? "writable" : "readable"}`,
        );
      const avail = e.end - cur;
      const n = avail < BigInt(length - done) ? Number(avail) : length - done;
      out.push({ e, at: cur, n, done });
      cur += BigInt(n);
      done += n;
    }
    return out;
  }

  private static checkArgs(iova: bigint | number, length: number): bigint {
    if (!Number.isSafeInteger(length) || length < 0) throw new DmaError("NotMapped", 0n, 0, `bad DMA length ${length}`);
    const a = typeof iova === "bigint" ? iova : Number.isSafeInteger(iova) && iova >= 0 ? BigInt(iova) : -1n;
    if (a < 0n) throw new DmaError("NotMapped", 0n, length, `bad DMA address ${iova}`);
    return a;
  }

  /** Copies between a direct entry and `buf` (`toGuest`: buf -> guest). */
  private static copy(e: Entry, at: bigint, buf: Uint8Array, toGuest: boolean): void {
    const views = e.views ?? [];
    let off = at - e.iova;
    let done = 0;
    while (done < buf.length) {
      const w = Number(off / MAX_WINDOW);
      const inWin = Number(off % MAX_WINDOW);
      const view = views[w] ?? NO_BYTES; // a window gone: n <= 0 below
      const n = Math.min(buf.length - done, view.length - inWin);
      if (n <= 0) throw new DmaError("Disconnected", at, buf.length, "DMA mapping went away");
      if (toGuest) view.set(buf.subarray(done, done + n), inWin);
      else buf.set(view.subarray(inWin, inWin + n), done);
      done += n;
      off += BigInt(n);
    }
  }

  /**
   * The transport, when [a, a + length) is one message-based access: within one mapping that is not fd-backed (or any
   * mapping, with `viaMessage`), allowed, and small enough for one DMA_READ/DMA_WRITE. Such an access needs no pieces
   * and no copy.
   */
  private oneMessage(a: bigint, length: number, write: boolean, viaMessage: boolean): DmaTransport | undefined {
    const t = this.transport;
    if (t === undefined || length === 0 || length > t.maxDataXferSize) return undefined;
    const e = this.find(a);
    if (e === undefined || (e.views !== undefined && !viaMessage) || !(write ? e.info.writable : e.info.readable))
      return undefined;
    return a + BigInt(length) <= e.end ? t : undefined;
  }

  read(iova: bigint | number, length: number, options?: DmaAccessOptions): Promise<Uint8Array> {
    try {
      const a = DmaController.checkArgs(iova, length);
      const viaMessage = DmaController.viaMessage(options);
      const t = this.oneMessage(a, length, false, viaMessage);
      return t !== undefined ? t.read(a, length) : this.readPieces(a, length, viaMessage);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  write(iova: bigint | number, data: Uint8Array, options?: DmaAccessOptions): Promise<void> {
    try {
      const a = DmaController.checkArgs(iova, data.length);
      const viaMessage = DmaController.viaMessage(options);
      const t = this.oneMessage(a, data.length, true, viaMessage);
      return t !== undefined ? t.write(a, data) : this.writePieces(a, data, viaMessage);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** `options.via` judged: true for "message", false for "auto" or nothing; anything else is a caller's mistake. */
  private static viaMessage(options: DmaAccessOptions | undefined): boolean {
    const via = options?.via ?? "auto";
    if (via !== "auto" && via !== "message") throw new TypeError(`dma: via ${String(via)} must be "auto" or "message"`);
    return via === "message";
  }

  private async readPieces(a: bigint, length: number, viaMessage: boolean): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    const msgs: Promise<void>[] = [];
    for (const p of this.pieces(a, length, false)) {
      const dst = out.subarray(p.done, p.done + p.n);
      if (p.e.views !== undefined && !viaMessage) DmaController.copy(p.e, p.at, dst, false);
      else msgs.push(this.messageRead(p.at, dst));
    }
    if (msgs.length > 0) await Promise.all(msgs);
    return out;
  }

  private async writePieces(a: bigint, data: Uint8Array, viaMessage: boolean): Promise<void> {
    const msgs: Promise<void>[] = [];
    for (const p of this.pieces(a, data.length, true)) {
      const src = data.subarray(p.done, p.done + p.n);
      if (p.e.views !== undefined && !viaMessage) {
        DmaController.copy(p.e, p.at, src, true);
        this.log?.mark(p.at, BigInt(p.n));
      } else msgs.push(this.messageWrite(p.at, src));
    }
    if (msgs.length > 0) await Promise.all(msgs);
  }

  private transportOr(iova: bigint, n: number): DmaTransport {
    const t = this.transport;
    if (t === undefined) throw new DmaError("Disconnected", iova, n, "no client is connected");
    return t;
  }

  private async messageRead(at: bigint, dst: Uint8Array): Promise<void> {
    const t = this.transportOr(at, dst.length);
    const chunk = Math.max(1, t.maxDataXferSize);
    const parts: Promise<void>[] = [];
    for (let off = 0; off < dst.length; off += chunk) {
      const n = Math.min(chunk, dst.length - off);
      parts.push(
        t.read(at + BigInt(off), n).then((data) => {
          dst.set(data.subarray(0, n), off);
        }),
      );
    }
    await Promise.all(parts);
  }

  private async messageWrite(at: bigint, src: Uint8Array): Promise<void> {
    const t = this.transportOr(at, src.length);
    const chunk = Math.max(1, t.maxDataXferSize);
    const parts: Promise<void>[] = [];
    for (let off = 0; off < src.length; off += chunk) {
      const n = Math.min(chunk, src.length - off);
      parts.push(t.write(at + BigInt(off), src.subarray(off, off + n)));
    }
    await Promise.all(parts);
  }

  map(iova: bigint | number, length: number, access: "r" | "rw" = "rw"): DmaView {
    const a = DmaController.checkArgs(iova, length);
    const e = this.find(a);
    if (e === undefined) throw new DmaError("NotMapped", a, length, `DMA 0x${a.toString(16)} is not mapped`);
    if (e.views === undefined)
      throw new DmaError("NotDirect", a, length, `DMA 0x${a.toString(16)} was mapped without an fd (message-based)`);
    if (a + BigInt(length) > e.end)
      throw new DmaError("Spans", a, length, `DMA 0x${a.toString(16)}+${length} crosses the end of its mapping`);
    if (!e.info.readable && access === "r") throw new DmaError("Permission", a, length, "DMA mapping is not readable");
    if (access === "rw" && !e.info.writable) throw new DmaError("Permission", a, length, "DMA mapping is not writable");
    const off = a - e.iova;
    const w = Number(off / MAX_WINDOW);
    const inWin = Number(off % MAX_WINDOW);
    const view = e.views[w] ?? NO_BYTES;
    if (inWin + length > view.length)
      throw new DmaError("Spans", a, length, `DMA 0x${a.toString(16)}+${length} crosses a 4 GiB window`);
    const bytes = view.subarray(inWin, inWin + length);
    if (access === "rw") this.log?.mark(a, BigInt(length));
    return {
      iova: a,
      bytes,
      release: () => {
        if (access === "rw") this.log?.mark(a, BigInt(length));
      },
    };
  }

  markDirty(iova: bigint | number, length: number): void {
    const a = DmaController.checkArgs(iova, length);
    this.log?.mark(a, BigInt(length));
  }

  /** DMA dirty logging (undefined: off); setting it tells the dirty sources. */
  get log(): DirtyLog | undefined {
    return this.#log;
  }

  set log(log: DirtyLog | undefined) {
    if (log === this.#log) return;
    this.#log = log;
    for (const s of this.dirtySources) s.logging(log?.pageSize);
  }

  addDirtySource(source: DirtySource): () => void {
    this.dirtySources.add(source);
    if (this.#log !== undefined) source.logging(this.#log.pageSize);
    return () => {
      this.dirtySources.delete(source);
    };
  }

  /** What the dirty sources wrote, into the log (before a report). */
  collectDirty(): void {
    const log = this.#log;
    if (log === undefined) return;
    for (const s of this.dirtySources) s.collect((iova, length) => log.mark(iova, length));
  }
}
