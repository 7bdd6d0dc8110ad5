import { Command } from "../command.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";

/** DMA_MAP `flags`. READ/WRITE are the spec's; the ACCESS_* bits are libvfio-user's (and the in-flight spec revision's). */
export const DmaMapFlags = {
  READ: 1 << 0,
  WRITE: 1 << 1,
  /** libvfio-user: mmap() the passed fd (needs an fd). */
  ACCESS_MMAP: 1 << 2,
  /** libvfio-user: use pread()/pwrite() on the passed fd (for fds that cannot be mmap()ed). */
  ACCESS_FILE_IO: 1 << 3,
} as const;

/** Size of the DMA_MAP request payload (and its `argsz`). */
export const DMA_MAP_SIZE = 32;

/**
 * VFIO_USER_DMA_MAP (2) request. 0 or 1 fd travels with it (none = message-based DMA via DMA_READ/DMA_WRITE).
 *
 * | Offset | Size | Field |
 * |---|---|---|
 * | 0 | 4 | argsz (= 32: there is no reply payload) |
 * | 4 | 4 | flags ({@link DmaMapFlags}) |
 * | 8 | 8 | offset (file offset in the fd; 0 without fd) |
 * | 16 | 8 | address (DMA/IOVA base) |
 * | 24 | 8 | size |
 */
export interface DmaMapRequest {
  readonly kind: "DmaMapRequest";
  readonly argsz: number;
  readonly flags: number;
  readonly offset: bigint;
  readonly address: bigint;
  readonly size: bigint;
}

/** DMA_MAP reply: no payload. */
export interface DmaMapReply {
  readonly kind: "DmaMapReply";
}

/** @internal */
export const dmaMapRequestCodec: MessageCodec<DmaMapRequest> = {
  kind: "DmaMapRequest",
  command: Command.DMA_MAP,
  reply: false,
  context: "DMA_MAP request",
  read(r) {
    const argsz = r.u32("argsz");
    if (argsz < DMA_MAP_SIZE) r.fail("BadArgsz", `argsz ${argsz} < ${DMA_MAP_SIZE}`);
    const m: DmaMapRequest = {
      kind: "DmaMapRequest",
      argsz,
      flags: r.u32("flags"),
      offset: r.u64("offset"),
      address: r.u64("address"),
      size: r.u64("size"),
    };
    r.end();
    return m;
  },
  write(w, m) {
    w.u32(m.argsz, "argsz");
    w.u32(m.flags, "flags");
    w.u64(m.offset, "offset");
    w.u64(m.address, "address");
    w.u64(m.size, "size");
  },
};

/** @internal */
export const dmaMapReplyCodec: MessageCodec<DmaMapReply> = {
  kind: "DmaMapReply",
  command: Command.DMA_MAP,
  reply: true,
  context: "DMA_MAP reply",
  read(r) {
    r.end();
    return { kind: "DmaMapReply" };
  },
  write() {},
};

/**
 * The payload of a `DmaMapRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDmaMapRequest(m: Body<DmaMapRequest>): Uint8Array {
  return encodePayload(dmaMapRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadArgsz`, `BadSize`). */
export function decodeDmaMapRequest(payload: Uint8Array): DmaMapRequest {
  return decodePayload(dmaMapRequestCodec, payload);
}
/**
 * The payload of a `DmaMapReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDmaMapReply(m: Body<DmaMapReply> = {}): Uint8Array {
  return encodePayload(dmaMapReplyCodec, m);
}
/** Throws `ProtoError("BadSize")` if the payload is not empty. */
export function decodeDmaMapReply(payload: Uint8Array): DmaMapReply {
  return decodePayload(dmaMapReplyCodec, payload);
}
