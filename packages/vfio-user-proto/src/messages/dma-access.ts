import { Command } from "../command.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";
import type { Reader } from "../internal/reader.js";

/**
 * Server → client memory access for DMA regions mapped without an fd (sent on the twin socket if negotiated).
 * Payload head (`struct vfio_user_dma_region_access`): `address` u64 @0, `count` u64 @8, data @16.
 */
export const DMA_ACCESS_SIZE = 16;

/** VFIO_USER_DMA_READ (11) request (server → client): address, count. */
export interface DmaReadRequest {
  readonly kind: "DmaReadRequest";
  readonly address: bigint;
  readonly count: bigint;
}

/** DMA_READ reply (client → server): address, count (= `data.length`), data @16. */
export interface DmaReadReply {
  readonly kind: "DmaReadReply";
  readonly address: bigint;
  /** A view of the frame. */
  readonly data: Uint8Array;
}

/** VFIO_USER_DMA_WRITE (12) request (server → client): address, count (= `data.length`), data @16. */
export interface DmaWriteRequest {
  readonly kind: "DmaWriteRequest";
  readonly address: bigint;
  /** A view of the frame. */
  readonly data: Uint8Array;
}

/**
 * DMA_WRITE reply (client → server): address u64, count u64 (16 bytes, as libvfio-user and the corrected spec have
 * it). The spec table's 4-byte `count` (12-byte payload) is also accepted; it decodes with `count32: true` and
 * re-encodes in that form.
 */
export interface DmaWriteReply {
  readonly kind: "DmaWriteReply";
  readonly address: bigint;
  readonly count: bigint;
  readonly count32?: boolean;
}

function readCountedData(r: Reader): { address: bigint; data: Uint8Array } {
  const address = r.u64("address");
  const count = r.u64("count");
  const data = r.rest();
  if (BigInt(data.length) !== count) r.fail("CountMismatch", `count ${count} but ${data.length} data byte(s)`);
  return { address, data };
}

/** @internal */
export const dmaReadRequestCodec: MessageCodec<DmaReadRequest> = {
  kind: "DmaReadRequest",
  command: Command.DMA_READ,
  reply: false,
  context: "DMA_READ request",
  read(r) {
    const m: DmaReadRequest = { kind: "DmaReadRequest", address: r.u64("address"), count: r.u64("count") };
    r.end();
    return m;
  },
  write(w, m) {
    w.u64(m.address, "address");
    w.u64(m.count, "count");
  },
};

/** @internal */
export const dmaReadReplyCodec: MessageCodec<DmaReadReply> = {
  kind: "DmaReadReply",
  command: Command.DMA_READ,
  reply: true,
  context: "DMA_READ reply",
  read: (r) => ({ kind: "DmaReadReply", ...readCountedData(r) }),
  write(w, m) {
    w.u64(m.address, "address");
    w.u64(BigInt(m.data.length), "count");
    w.bytes(m.data);
  },
  sizeHint: (m) => DMA_ACCESS_SIZE + m.data.length,
};

/** @internal */
export const dmaWriteRequestCodec: MessageCodec<DmaWriteRequest> = {
  kind: "DmaWriteRequest",
  command: Command.DMA_WRITE,
  reply: false,
  context: "DMA_WRITE request",
  read: (r) => ({ kind: "DmaWriteRequest", ...readCountedData(r) }),
  write(w, m) {
    w.u64(m.address, "address");
    w.u64(BigInt(m.data.length), "count");
    w.bytes(m.data);
  },
  sizeHint: (m) => DMA_ACCESS_SIZE + m.data.length,
};

/** @internal */
export const dmaWriteReplyCodec: MessageCodec<DmaWriteReply> = {
  kind: "DmaWriteReply",
  command: Command.DMA_WRITE,
  reply: true,
  context: "DMA_WRITE reply",
  read(r) {
    const address = r.u64("address");
    if (r.remaining === 4) return { kind: "DmaWriteReply", address, count: BigInt(r.u32("count")), count32: true };
    const count = r.u64("count");
    r.end();
    return { kind: "DmaWriteReply", address, count };
  },
  write(w, m) {
    w.u64(m.address, "address");
    if (m.count32 === true) {
      w.u32(Number(m.count), "count");
    } else {
      w.u64(m.count, "count");
    }
  },
};

/**
 * The payload of a `DmaReadRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDmaReadRequest(m: Body<DmaReadRequest>): Uint8Array {
  return encodePayload(dmaReadRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadSize`). */
export function decodeDmaReadRequest(payload: Uint8Array): DmaReadRequest {
  return decodePayload(dmaReadRequestCodec, payload);
}
/**
 * The payload of a `DmaReadReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDmaReadReply(m: Body<DmaReadReply>): Uint8Array {
  return encodePayload(dmaReadReplyCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `CountMismatch`). */
export function decodeDmaReadReply(payload: Uint8Array): DmaReadReply {
  return decodePayload(dmaReadReplyCodec, payload);
}
/**
 * The payload of a `DmaWriteRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDmaWriteRequest(m: Body<DmaWriteRequest>): Uint8Array {
  return encodePayload(dmaWriteRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `CountMismatch`). */
export function decodeDmaWriteRequest(payload: Uint8Array): DmaWriteRequest {
  return decodePayload(dmaWriteRequestCodec, payload);
}
/**
 * The payload of a `DmaWriteReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDmaWriteReply(m: Body<DmaWriteReply>): Uint8Array {
  return encodePayload(dmaWriteReplyCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadSize`). */
export function decodeDmaWriteReply(payload: Uint8Array): DmaWriteReply {
  return decodePayload(dmaWriteReplyCodec, payload);
}
