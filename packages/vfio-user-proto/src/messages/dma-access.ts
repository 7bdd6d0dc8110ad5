import { Command } from "../command.js";
import type { FrameArena } from "../frame-arena.js";
import { HEADER_SIZE, HeaderFlags, writeHeaderAt } from "../header.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";
import type { Reader } from "../internal/reader.js";
import { readU64At, writeU64At } from "../internal/u64.js";

/**
 * Server → client memory access for DMA regions mapped without an fd (sent on the twin socket if negotiated).
 * Payload head (`struct vfio_user_dma_region_access`): `address` u64 @0, `count` u64 @8, data @16.
 */
export const DMA_ACCESS_SIZE = 16;

/** Byte offsets of the DMA access head's fields, for the in-place readers and writers below. */
export const DmaAccessField = {
  ADDRESS: 0,
  COUNT: 8,
  DATA: DMA_ACCESS_SIZE,
} as const;

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

// ---------------------------------------------------------------------------------------------------------------
// In place (zero allocation), as for REGION_READ/WRITE (see region-access.ts): no range checks, numbers must be safe
// integers.

/** The DMA access head of a frame read in place (a reusable object, see {@link readDmaAccessAt}). */
export interface DmaAccessHead {
  /** Exact up to `Number.MAX_SAFE_INTEGER`, above it a rounded number still above it. */
  address: number;
  /** As `address`. */
  count: number;
}

/**
 * Reads the DMA access head of the frame starting at `at` of `view` into `out`, without allocating. The caller made
 * sure the frame holds a header and a whole head (`msg_size` ≥ 32).
 */
export function readDmaAccessAt(view: DataView, at: number, out: DmaAccessHead): void {
  const p = at + HEADER_SIZE;
  out.address = readU64At(view, p + DmaAccessField.ADDRESS);
  out.count = readU64At(view, p + DmaAccessField.COUNT);
}

function appendDmaAccess(
  arena: FrameArena,
  msgId: number,
  command: number,
  flags: number,
  address: bigint | number,
  count: bigint | number,
  data: Uint8Array | undefined,
): void {
  const size = HEADER_SIZE + DMA_ACCESS_SIZE + (data === undefined ? 0 : data.length);
  const at = arena.reserve(size);
  const v = arena.view;
  writeHeaderAt(v, at, msgId, command, size, flags, 0);
  const p = at + HEADER_SIZE;
  writeU64At(v, p + DmaAccessField.ADDRESS, address);
  writeU64At(v, p + DmaAccessField.COUNT, count);
  if (data !== undefined) arena.bytes.set(data, p + DmaAccessField.DATA);
}

/** Appends a whole DMA_READ request frame (server → client). */
export function appendDmaReadRequest(
  arena: FrameArena,
  msgId: number,
  address: bigint | number,
  count: bigint | number,
  flags = 0,
): void {
  appendDmaAccess(arena, msgId, Command.DMA_READ, flags | HeaderFlags.TYPE_COMMAND, address, count, undefined);
}

/** Appends a whole DMA_READ reply frame: the head with `count` = `data.length`, then `data`. */
export function appendDmaReadReply(arena: FrameArena, msgId: number, address: bigint | number, data: Uint8Array): void {
  appendDmaAccess(arena, msgId, Command.DMA_READ, HeaderFlags.TYPE_REPLY, address, data.length, data);
}

/** Appends a whole DMA_WRITE request frame (`count` = `data.length`). */
export function appendDmaWriteRequest(
  arena: FrameArena,
  msgId: number,
  address: bigint | number,
  data: Uint8Array,
  flags = 0,
): void {
  appendDmaAccess(arena, msgId, Command.DMA_WRITE, flags | HeaderFlags.TYPE_COMMAND, address, data.length, data);
}

/** Appends a whole DMA_WRITE reply frame (address, u64 count: the 16-byte form). */
export function appendDmaWriteReply(
  arena: FrameArena,
  msgId: number,
  address: bigint | number,
  count: bigint | number,
): void {
  appendDmaAccess(arena, msgId, Command.DMA_WRITE, HeaderFlags.TYPE_REPLY, address, count, undefined);
}
