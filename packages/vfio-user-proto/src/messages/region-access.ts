import { Command } from "../command.js";
import type { FrameArena } from "../frame-arena.js";
import { HEADER_SIZE, HeaderFlags, writeHeaderAt } from "../header.js";
import { LITTLE_ENDIAN } from "../internal/byte-order.js";
import { type Body, decodePayload, EMPTY, encodePayload, type MessageCodec } from "../internal/codec.js";
import type { Reader } from "../internal/reader.js";
import { readU64At, writeU64At } from "../internal/u64.js";
import type { Writer } from "../internal/writer.js";

/**
 * The access head shared by REGION_READ and REGION_WRITE (`struct vfio_user_region_access`):
 *
 * | Offset | Size | Field |
 * |---|---|---|
 * | 0 | 8 | offset (into the region) |
 * | 8 | 4 | region (index) |
 * | 12 | 4 | count (bytes; ≤ the peer's max_data_xfer_size) |
 * | 16 | var | data (READ reply, WRITE request) |
 */
export const REGION_ACCESS_SIZE = 16;

/** Byte offsets of the access head's fields (the table above), for the in-place readers and writers below. */
export const RegionAccessField = {
  OFFSET: 0,
  REGION: 8,
  COUNT: 12,
  DATA: REGION_ACCESS_SIZE,
} as const;

/** VFIO_USER_REGION_READ (9) request: the access head. */
export interface RegionReadRequest {
  readonly kind: "RegionReadRequest";
  readonly offset: bigint;
  readonly region: number;
  readonly count: number;
}

/** REGION_READ reply: the access head, then `count` (= `data.length`) bytes. */
export interface RegionReadReply {
  readonly kind: "RegionReadReply";
  readonly offset: bigint;
  readonly region: number;
  /** The bytes read; `count` on the wire is its length. A view of the frame. */
  readonly data: Uint8Array;
  /**
   * libvfio-user answers a `count` 0 read with a bare header (no access head). Decoding such a reply gives
   * `bare: true` with offset 0, region 0 and no data; encoding with `bare: true` writes no payload.
   */
  readonly bare?: boolean;
}

/** VFIO_USER_REGION_WRITE (10) request: the access head, then `count` (= `data.length`) bytes. */
export interface RegionWriteRequest {
  readonly kind: "RegionWriteRequest";
  readonly offset: bigint;
  readonly region: number;
  /** The bytes to write; `count` on the wire is its length. A view of the frame. */
  readonly data: Uint8Array;
}

/** REGION_WRITE reply: the access head (`count` = bytes written). */
export interface RegionWriteReply {
  readonly kind: "RegionWriteReply";
  readonly offset: bigint;
  readonly region: number;
  readonly count: number;
  /** As for {@link RegionReadReply.bare}: a bare header (libvfio-user, `count` 0). */
  readonly bare?: boolean;
}

function readHead(r: Reader): { offset: bigint; region: number; count: number } {
  return { offset: r.u64("offset"), region: r.u32("region"), count: r.u32("count") };
}

function writeHead(w: Writer, offset: bigint, region: number, count: number): void {
  w.u64(offset, "offset");
  w.u32(region, "region");
  w.u32(count, "count");
}

function readData(r: Reader, count: number): Uint8Array {
  const data = r.rest();
  if (data.length !== count) r.fail("CountMismatch", `count ${count} but ${data.length} data byte(s)`);
  return data;
}

/** @internal */
export const regionReadRequestCodec: MessageCodec<RegionReadRequest> = {
  kind: "RegionReadRequest",
  command: Command.REGION_READ,
  reply: false,
  context: "REGION_READ request",
  read(r) {
    const head = readHead(r);
    r.end();
    return { kind: "RegionReadRequest", ...head };
  },
  write: (w, m) => writeHead(w, m.offset, m.region, m.count),
};

/** @internal */
export const regionReadReplyCodec: MessageCodec<RegionReadReply> = {
  kind: "RegionReadReply",
  command: Command.REGION_READ,
  reply: true,
  context: "REGION_READ reply",
  read(r) {
    if (r.remaining === 0) return { kind: "RegionReadReply", offset: 0n, region: 0, data: EMPTY, bare: true };
    const { offset, region, count } = readHead(r);
    return { kind: "RegionReadReply", offset, region, data: readData(r, count) };
  },
  write(w, m) {
    if (m.bare === true) return;
    writeHead(w, m.offset, m.region, m.data.length);
    w.bytes(m.data);
  },
  sizeHint: (m) => REGION_ACCESS_SIZE + m.data.length,
};

/** @internal */
export const regionWriteRequestCodec: MessageCodec<RegionWriteRequest> = {
  kind: "RegionWriteRequest",
  command: Command.REGION_WRITE,
  reply: false,
  context: "REGION_WRITE request",
  read(r) {
    const { offset, region, count } = readHead(r);
    return { kind: "RegionWriteRequest", offset, region, data: readData(r, count) };
  },
  write(w, m) {
    writeHead(w, m.offset, m.region, m.data.length);
    w.bytes(m.data);
  },
  sizeHint: (m) => REGION_ACCESS_SIZE + m.data.length,
};

/** @internal */
export const regionWriteReplyCodec: MessageCodec<RegionWriteReply> = {
  kind: "RegionWriteReply",
  command: Command.REGION_WRITE,
  reply: true,
  context: "REGION_WRITE reply",
  read(r) {
    if (r.remaining === 0) return { kind: "RegionWriteReply", offset: 0n, region: 0, count: 0, bare: true };
    const head = readHead(r);
    r.end();
    return { kind: "RegionWriteReply", ...head };
  },
  write(w, m) {
    if (m.bare === true) return;
    writeHead(w, m.offset, m.region, m.count);
  },
};

/**
 * The payload of a `RegionReadRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeRegionReadRequest(m: Body<RegionReadRequest>): Uint8Array {
  return encodePayload(regionReadRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadSize`). */
export function decodeRegionReadRequest(payload: Uint8Array): RegionReadRequest {
  return decodePayload(regionReadRequestCodec, payload);
}
/**
 * The payload of a `RegionReadReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeRegionReadReply(m: Body<RegionReadReply>): Uint8Array {
  return encodePayload(regionReadReplyCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `CountMismatch`). */
export function decodeRegionReadReply(payload: Uint8Array): RegionReadReply {
  return decodePayload(regionReadReplyCodec, payload);
}
/**
 * The payload of a `RegionWriteRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeRegionWriteRequest(m: Body<RegionWriteRequest>): Uint8Array {
  return encodePayload(regionWriteRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `CountMismatch`). */
export function decodeRegionWriteRequest(payload: Uint8Array): RegionWriteRequest {
  return decodePayload(regionWriteRequestCodec, payload);
}
/**
 * The payload of a `RegionWriteReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeRegionWriteReply(m: Body<RegionWriteReply>): Uint8Array {
  return encodePayload(regionWriteReplyCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadSize`). */
export function decodeRegionWriteReply(payload: Uint8Array): RegionWriteReply {
  return decodePayload(regionWriteReplyCodec, payload);
}

// ---------------------------------------------------------------------------------------------------------------
// In place (zero allocation): for a receive loop that walks a chunk and a send path that writes into a FrameArena.

/** The access head of a REGION_READ / REGION_WRITE frame read in place (a reusable object, see {@link readRegionAccessAt}). */
export interface RegionAccessHead {
  /**
   * `offset` as a number: exact up to `Number.MAX_SAFE_INTEGER`; a larger offset reads as a (rounded) number above it,
   * so a bounds check against any region size still fails. Decode the frame when the exact value matters.
   */
  offset: number;
  region: number;
  count: number;
}

/**
 * Reads the access head of the frame starting at `at` of `view` into `out`, without allocating. The caller made sure
 * the frame holds a header and a whole access head (`msg_size` ≥ 32) and judges `count` against `msg_size` itself.
 */
export function readRegionAccessAt(view: DataView, at: number, out: RegionAccessHead): void {
  const p = at + HEADER_SIZE;
  out.offset = readU64At(view, p + RegionAccessField.OFFSET);
  out.region = view.getUint32(p + RegionAccessField.REGION, LITTLE_ENDIAN);
  out.count = view.getUint32(p + RegionAccessField.COUNT, LITTLE_ENDIAN);
}

/**
 * header + access head, room for `dataLength` data bytes after it: the frame `encodeMessage` gives for the same message
 * is written into the arena once the caller copies the data to the position returned.
 */
function appendAccess(
  arena: FrameArena,
  msgId: number,
  command: number,
  flags: number,
  offset: bigint | number,
  region: number,
  count: number,
  dataLength: number,
): number {
  const size = HEADER_SIZE + REGION_ACCESS_SIZE + dataLength;
  const at = arena.reserve(size);
  const v = arena.view;
  writeHeaderAt(v, at, msgId, command, size, flags, 0);
  const p = at + HEADER_SIZE;
  writeU64At(v, p + RegionAccessField.OFFSET, offset);
  v.setUint32(p + RegionAccessField.REGION, region, LITTLE_ENDIAN);
  v.setUint32(p + RegionAccessField.COUNT, count, LITTLE_ENDIAN);
  return p + RegionAccessField.DATA;
}

// The in-place writers do not range-check: their values come from a decoded frame or were checked by the caller
// (`encodeMessage` checks and throws `OutOfRange`). An `offset` number must be a safe integer.

/** Appends a whole REGION_READ request frame (`flags`: extra header bits such as NO_REPLY). */
export function appendRegionReadRequest(
  arena: FrameArena,
  msgId: number,
  offset: bigint | number,
  region: number,
  count: number,
  flags = 0,
): void {
  appendAccess(arena, msgId, Command.REGION_READ, flags | HeaderFlags.TYPE_COMMAND, offset, region, count, 0);
}

/** Appends a whole REGION_READ reply frame: the access head with `count` = `data.length`, then `data`. */
export function appendRegionReadReply(
  arena: FrameArena,
  msgId: number,
  offset: bigint | number,
  region: number,
  data: Uint8Array,
): void {
  const n = data.length;
  arena.copyIn(
    appendAccess(arena, msgId, Command.REGION_READ, HeaderFlags.TYPE_REPLY, offset, region, n, n),
    data,
    0,
    n,
  );
}

/**
 * {@link appendRegionReadReply} with the data as `count` bytes of `src` from `from` (a region's backing array), so
 * that no view of it is made per reply.
 */
export function appendRegionReadReplyFrom(
  arena: FrameArena,
  msgId: number,
  offset: bigint | number,
  region: number,
  src: Uint8Array,
  from: number,
  count: number,
): void {
  const at = appendAccess(arena, msgId, Command.REGION_READ, HeaderFlags.TYPE_REPLY, offset, region, count, count);
  arena.copyIn(at, src, from, count);
}

/** Appends a whole REGION_WRITE request frame (`count` = `data.length`; `flags`: extra header bits such as NO_REPLY). */
export function appendRegionWriteRequest(
  arena: FrameArena,
  msgId: number,
  offset: bigint | number,
  region: number,
  data: Uint8Array,
  flags = 0,
): void {
  const n = data.length;
  const at = appendAccess(arena, msgId, Command.REGION_WRITE, flags | HeaderFlags.TYPE_COMMAND, offset, region, n, n);
  arena.copyIn(at, data, 0, n);
}

/** Appends a whole REGION_WRITE reply frame (the access head, `count` = bytes written). */
export function appendRegionWriteReply(
  arena: FrameArena,
  msgId: number,
  offset: bigint | number,
  region: number,
  count: number,
): void {
  appendAccess(arena, msgId, Command.REGION_WRITE, HeaderFlags.TYPE_REPLY, offset, region, count, 0);
}
