/**
 * The driver's DMA memory: chunks the `VfioDevice` allocates (memfd-backed, shared with the device) and maps at IOVAs
 * chosen here, carved into aligned pieces (rings, admin-queue buffers, packet buffers) by a first-fit allocator that
 * coalesces freed pieces. Everything is released by `close()`.
 */
import type { DmaBuffer, FileRange, VfioDevice } from "@emu/vfio-device";
import { deviceFailure, IavfClientError } from "./errors.js";

/** A piece of DMA memory: the device reaches it at `iova`, the driver through `bytes`. */
export interface DmaRegion {
  readonly iova: bigint;
  readonly size: number;
  readonly bytes: Uint8Array;
  /** A DataView over `bytes`. */
  readonly view: DataView;
  /** Where the memory lives in a file, when the device says (another thread maps it from there). */
  readonly file?: FileRange;
}

export interface DmaPoolOptions {
  /** The first IOVA used (default 4 GiB: clear of the x86 MSI window at 0xfee00000). Page aligned. */
  readonly iovaBase?: bigint;
  /** Size of each mapping made with the device (default 2 MiB); larger requests get a mapping of their own. */
  readonly chunkSize?: number;
}

interface Chunk {
  readonly buffer: DmaBuffer;
  /** Free ranges as [offset, size], sorted by offset, never adjacent (coalesced). */
  free: [number, number][];
}

const PAGE = 4096;
const DEFAULT_IOVA_BASE = 0x1_0000_0000n;
const DEFAULT_CHUNK = 2 * 1024 * 1024;

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

export class DmaPool {
  private readonly chunks: Chunk[] = [];
  /** Files of the caller's mapped with `mapFile` (unmapped at close). */
  private readonly external: DmaBuffer[] = [];
  private nextIova: bigint;
  private readonly chunkSize: number;
  private closed = false;

  constructor(
    private device: VfioDevice,
    options: DmaPoolOptions = {},
  ) {
    const base = options.iovaBase ?? DEFAULT_IOVA_BASE;
    const chunk = options.chunkSize ?? DEFAULT_CHUNK;
    if (typeof base !== "bigint" || base < 0n || base % BigInt(PAGE) !== 0n) {
      throw new IavfClientError("InvalidArgument", `iovaBase must be a page-aligned bigint >= 0 (got ${base})`);
    }
    if (!Number.isSafeInteger(chunk) || chunk < PAGE || chunk % PAGE !== 0) {
      throw new IavfClientError("InvalidArgument", `chunkSize must be a multiple of ${PAGE} (got ${chunk})`);
    }
    this.nextIova = base;
    this.chunkSize = chunk;
  }

  /** Bytes mapped with the device so far. */
  get mappedBytes(): number {
    return this.chunks.reduce((n, c) => n + Number(c.buffer.size), 0);
  }

  /** `size` bytes aligned to `align` (a power of two, default 4096), zeroed. */
  async alloc(size: number, align = PAGE): Promise<DmaRegion> {
    if (this.closed) throw new IavfClientError("Closed", "the DMA pool is closed");
    if (!Number.isSafeInteger(size) || size <= 0) {
      throw new IavfClientError("InvalidArgument", `DMA allocation size must be a positive integer (got ${size})`);
    }
    if (!Number.isSafeInteger(align) || align <= 0 || (align & (align - 1)) !== 0 || align > PAGE) {
      throw new IavfClientError("InvalidArgument", `DMA alignment must be a power of two up to ${PAGE} (got ${align})`);
    }
    for (const chunk of this.chunks) {
      const r = this.carve(chunk, size, align);
      if (r) return r;
    }
    const chunk = await this.grow(alignUp(size, PAGE));
    const r = this.carve(chunk, size, align);
    if (!r) throw new IavfClientError("InvalidArgument", `cannot place ${size} bytes in a fresh chunk`);
    return r;
  }

  /** Returns a region to the pool (a region not from this pool, or freed twice, is refused). */
  free(region: DmaRegion): void {
    if (this.closed) return;
    const chunk = this.chunks.find(
      (c) => region.iova >= c.buffer.iova && region.iova + BigInt(region.size) <= c.buffer.iova + c.buffer.size,
    );
    if (chunk === undefined) throw new IavfClientError("InvalidArgument", "free of a region this pool did not give");
    const offset = Number(region.iova - chunk.buffer.iova);
    const end = offset + region.size;
    if (chunk.free.some(([o, s]) => offset < o + s && o < end)) {
      throw new IavfClientError("InvalidArgument", `region at IOVA 0x${region.iova.toString(16)} is already free`);
    }
    chunk.free.push([offset, region.size]);
    chunk.free.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const [o, s] of chunk.free) {
      const last = merged[merged.length - 1];
      if (last && last[0] + last[1] === o) last[1] += s;
      else merged.push([o, s]);
    }
    chunk.free = merged;
  }

  /**
   * Maps `size` bytes of the caller's file (e.g. a packet-buffer pool's memfd) for the device at the next free IOVA:
   * the device then reaches that memory itself (zero copy). Unmapped by `unmapFile` or `close`. A device that cannot
   * map a given file rejects (`Device`, its cause "Unsupported").
   */
  async mapFile(fd: number, size: number): Promise<DmaRegion> {
    if (this.closed) throw new IavfClientError("Closed", "the DMA pool is closed");
    if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE !== 0) {
      throw new IavfClientError("InvalidArgument", `a mapped file's size must be a multiple of ${PAGE} (got ${size})`);
    }
    const iova = this.nextIova;
    let buffer: DmaBuffer;
    try {
      buffer = await this.device.dmaMap(iova, BigInt(size), { read: true, write: true, file: { fd } });
    } catch (e) {
      throw deviceFailure(`DMA map of fd ${fd} (0x${size.toString(16)} bytes) at IOVA 0x${iova.toString(16)}`, e);
    }
    this.nextIova = iova + BigInt(size);
    this.external.push(buffer);
    const bytes = buffer.bytes;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return { iova, size, bytes, view, ...(buffer.file ? { file: buffer.file } : {}) };
  }

  /**
   * Live migration: maps every chunk and file at the same IOVA into `device` (the same files: rings, buffers and
   * descriptors stay where the old device left them). The pool goes on using the old device until `use(device)`; the
   * old device keeps its mappings (chunk memory it allocated must outlive it: see `closeKeepingMemory` of
   * `@emu/vfio-user-client`).
   */
  async mapInto(device: VfioDevice): Promise<void> {
    if (this.closed) throw new IavfClientError("Closed", "the DMA pool is closed");
    for (const b of [...this.chunks.map((c) => c.buffer), ...this.external]) {
      const file = b.file;
      if (file === undefined)
        throw new IavfClientError(
          "Unsupported",
          `DMA memory at IOVA 0x${b.iova.toString(16)} has no file to map again`,
        );
      try {
        await device.dmaMap(b.iova, b.size, { read: true, write: true, file: { fd: file.fd, offset: file.offset } });
      } catch (e) {
        throw deviceFailure(`DMA map of IOVA 0x${b.iova.toString(16)} into the new device`, e);
      }
    }
  }

  /** Allocates and unmaps through `device` from now on (after `mapInto(device)` and a migration that succeeded). */
  use(device: VfioDevice): void {
    this.device = device;
  }

  /** Unmaps a file mapped with `mapFile` (best effort). */
  async unmapFile(region: DmaRegion): Promise<void> {
    const i = this.external.findIndex((b) => b.iova === region.iova);
    if (i < 0) return;
    const [b] = this.external.splice(i, 1);
    if (b) await this.device.dmaUnmap(b.iova, b.size).catch(() => undefined);
  }

  /** Unmaps every chunk from the device (best effort: a device already gone is not an error). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const buffers = [...this.chunks.splice(0).map((c) => c.buffer), ...this.external.splice(0)];
    for (const b of buffers) {
      try {
        await this.device.dmaUnmap(b.iova, b.size);
      } catch {
        // The device or its transport is gone; its mappings went with it.
      }
    }
  }

  private async grow(min: number): Promise<Chunk> {
    const size = Math.max(min, this.chunkSize);
    const iova = this.nextIova;
    let buffer: DmaBuffer;
    try {
      buffer = await this.device.dmaMap(iova, BigInt(size), { read: true, write: true });
    } catch (e) {
      throw deviceFailure(`DMA map of 0x${size.toString(16)} bytes at IOVA 0x${iova.toString(16)}`, e);
    }
    this.nextIova = iova + BigInt(size);
    const chunk: Chunk = { buffer, free: [[0, size]] };
    this.chunks.push(chunk);
    return chunk;
  }

  private carve(chunk: Chunk, size: number, align: number): DmaRegion | undefined {
    for (let i = 0; i < chunk.free.length; i++) {
      const range = chunk.free[i] as [number, number];
      const [o, s] = range;
      const start = alignUp(o, align);
      if (start + size > o + s) continue;
      const pieces: [number, number][] = [];
      if (start > o) pieces.push([o, start - o]);
      if (start + size < o + s) pieces.push([start + size, o + s - start - size]);
      chunk.free.splice(i, 1, ...pieces);
      const bytes = chunk.buffer.bytes.subarray(start, start + size);
      bytes.fill(0);
      const file = chunk.buffer.file;
      return {
        iova: chunk.buffer.iova + BigInt(start),
        size,
        bytes,
        view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        ...(file ? { file: { fd: file.fd, offset: file.offset + BigInt(start) } } : {}),
      };
    }
    return undefined;
  }
}
