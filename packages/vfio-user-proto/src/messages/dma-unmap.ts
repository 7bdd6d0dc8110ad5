import { Command } from "../command.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";
import type { Reader } from "../internal/reader.js";
import type { Writer } from "../internal/writer.js";

/**
 * DMA_UNMAP `flags`: "unused" in the spec, but libvfio-user honours both (they come from the 2023 spec and the
 * kernel's `vfio_iommu_type1_dma_unmap`).
 */
export const DmaUnmapFlags = {
  /** A 16-byte bitmap header follows the request; the reply appends the header and the dirty bitmap. */
  GET_DIRTY_BITMAP: 1 << 0,
  /** Unmap everything (address = size = 0). */
  ALL: 1 << 1,
} as const;

/** Size of the DMA_UNMAP request/reply struct without a bitmap. */
export const DMA_UNMAP_SIZE = 24;

/** `struct vfio_user_bitmap` header: page size and bitmap size in bytes. */
export interface DirtyBitmapHeader {
  readonly pgsize: bigint;
  readonly size: bigint;
}

/** A dirty bitmap with its header (one bit per `pgsize` page, u64 words). */
export interface DirtyBitmap extends DirtyBitmapHeader {
  /** `size` bytes, a view of the frame. */
  readonly data: Uint8Array;
}

/**
 * VFIO_USER_DMA_UNMAP (3) request.
 *
 * | Offset | Size | Field |
 * |---|---|---|
 * | 0 | 4 | argsz (max reply payload) |
 * | 4 | 4 | flags ({@link DmaUnmapFlags}) |
 * | 8 | 8 | address |
 * | 16 | 8 | size |
 * | 24 | 16 | (GET_DIRTY_BITMAP only) bitmap header: pgsize u64, size u64 |
 */
export interface DmaUnmapRequest {
  readonly kind: "DmaUnmapRequest";
  readonly argsz: number;
  readonly flags: number;
  readonly address: bigint;
  readonly size: bigint;
  /** Present iff `flags` has GET_DIRTY_BITMAP. */
  readonly bitmap?: DirtyBitmapHeader;
}

/** DMA_UNMAP reply: the request struct echoed (24 bytes); with GET_DIRTY_BITMAP the bitmap header and bitmap follow. */
export interface DmaUnmapReply {
  readonly kind: "DmaUnmapReply";
  readonly argsz: number;
  readonly flags: number;
  readonly address: bigint;
  readonly size: bigint;
  /** Present iff `flags` has GET_DIRTY_BITMAP. */
  readonly bitmap?: DirtyBitmap;
}

function readHead(r: Reader, minArgsz: number): { argsz: number; flags: number; address: bigint; size: bigint } {
  const argsz = r.u32("argsz");
  if (argsz < minArgsz) r.fail("BadArgsz", `argsz ${argsz} < ${minArgsz}`);
  return { argsz, flags: r.u32("flags"), address: r.u64("address"), size: r.u64("size") };
}

function writeHead(w: Writer, m: { argsz: number; flags: number; address: bigint; size: bigint }): void {
  w.u32(m.argsz, "argsz");
  w.u32(m.flags, "flags");
  w.u64(m.address, "address");
  w.u64(m.size, "size");
}

/** @internal */
export const dmaUnmapRequestCodec: MessageCodec<DmaUnmapRequest> = {
  kind: "DmaUnmapRequest",
  command: Command.DMA_UNMAP,
  reply: false,
  context: "DMA_UNMAP request",
  read(r) {
    const head = readHead(r, DMA_UNMAP_SIZE);
    if ((head.flags & DmaUnmapFlags.GET_DIRTY_BITMAP) === 0) {
      r.end();
      return { kind: "DmaUnmapRequest", ...head };
    }
    const bitmap = { pgsize: r.u64("bitmap pgsize"), size: r.u64("bitmap size") };
    r.end();
    return { kind: "DmaUnmapRequest", ...head, bitmap };
  },
  write(w, m) {
    writeHead(w, m);
    if (m.bitmap !== undefined) {
      w.u64(m.bitmap.pgsize, "bitmap pgsize");
      w.u64(m.bitmap.size, "bitmap size");
    }
  },
};

/** @internal */
export const dmaUnmapReplyCodec: MessageCodec<DmaUnmapReply> = {
  kind: "DmaUnmapReply",
  command: Command.DMA_UNMAP,
  reply: true,
  context: "DMA_UNMAP reply",
  read(r) {
    const head = readHead(r, 0);
    if ((head.flags & DmaUnmapFlags.GET_DIRTY_BITMAP) === 0) {
      r.end();
      return { kind: "DmaUnmapReply", ...head };
    }
    const pgsize = r.u64("bitmap pgsize");
    const size = r.u64("bitmap size");
    const data = r.rest();
    if (BigInt(data.length) !== size) r.fail("CountMismatch", `bitmap size ${size} but ${data.length} bitmap byte(s)`);
    return { kind: "DmaUnmapReply", ...head, bitmap: { pgsize, size, data } };
  },
  write(w, m) {
    writeHead(w, m);
    if (m.bitmap !== undefined) {
      w.u64(m.bitmap.pgsize, "bitmap pgsize");
      w.u64(m.bitmap.size, "bitmap size");
      w.bytes(m.bitmap.data);
    }
  },
  sizeHint: (m) => 40 + (m.bitmap?.data.length ?? 0),
};

/**
 * The payload of a `DmaUnmapRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDmaUnmapRequest(m: Body<DmaUnmapRequest>): Uint8Array {
  return encodePayload(dmaUnmapRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadArgsz`, `BadSize`). */
export function decodeDmaUnmapRequest(payload: Uint8Array): DmaUnmapRequest {
  return decodePayload(dmaUnmapRequestCodec, payload);
}
/**
 * The payload of a `DmaUnmapReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDmaUnmapReply(m: Body<DmaUnmapReply>): Uint8Array {
  return encodePayload(dmaUnmapReplyCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadSize`, `CountMismatch`). */
export function decodeDmaUnmapReply(payload: Uint8Array): DmaUnmapReply {
  return decodePayload(dmaUnmapReplyCodec, payload);
}
