import { Command } from "../command.js";
import type { FrameArena } from "../frame-arena.js";
import { HEADER_SIZE, HeaderFlags, writeHeaderAt } from "../header.js";
import { LITTLE_ENDIAN } from "../internal/byte-order.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";
import type { Reader } from "../internal/reader.js";
import { readU64At, writeU64At } from "../internal/u64.js";
import type { Writer } from "../internal/writer.js";

/**
 * Server → client memory access for DMA regions mapped without an fd (sent on the twin socket if negotiated).
 *
 * Two layouts exist on the wire:
 * - `"spec"` (the spec, libvfio-user, `struct vfio_user_dma_region_access`): `address` u64 @0, `count` u64 @8, data
 *   @16; the DMA_WRITE reply echoes address and count.
 * - `"qemu"` (QEMU's client, `VFIOUserDMARW` in hw/vfio-user/protocol.h): `address` u64 @0, `count` **u32** @8, data
 *   @**12**, then the 4 bytes of padding that end the C struct (`sizeof` 32 with the header), so every frame is
 *   header + 16 + data bytes as in the spec layout but the data sits 4 bytes earlier. QEMU answers DMA_WRITE with the
 *   bare 16-byte header. A DMA_READ request is byte-identical in both layouts (count < 2^32).
 *
 * Nothing in a frame says which layout it uses: the peer decides (see the server's `dmaMessageLayout`). Decoding a
 * QEMU frame with the spec layout gives a tagged error or, worse, data shifted by 4 bytes.
 */
export type DmaMessageLayout = "spec" | "qemu";

/** Where the fields of a DMA access sit in the payload, in one layout (byte offsets from the payload start). */
export interface DmaAccessLayoutInfo {
  /** `address` (u64). */
  readonly ADDRESS: number;
  /** `count`. */
  readonly COUNT: number;
  /** Bytes of `count`: 8, or 4 in QEMU's layout. */
  readonly COUNT_SIZE: 8 | 4;
  /** The data (`count` bytes) of a DMA_READ reply or a DMA_WRITE request. */
  readonly DATA: number;
  /**
   * Bytes after the data, and after the head of a DMA_READ request: 0, or QEMU's 4 bytes of struct padding (sent as
   * zeros; QEMU needs them: it refuses a DMA_WRITE whose `count` exceeds `msg_size` − 32).
   */
  readonly TAIL: number;
  /** The DMA_WRITE reply carries address and count (true), or is the bare header (QEMU). */
  readonly WRITE_REPLY_HEAD: boolean;
}

/** The one definition of both layouts; every reader and writer below takes its offsets from here. */
export const DmaAccessLayout: { readonly spec: DmaAccessLayoutInfo; readonly qemu: DmaAccessLayoutInfo } = {
  spec: { ADDRESS: 0, COUNT: 8, COUNT_SIZE: 8, DATA: 16, TAIL: 0, WRITE_REPLY_HEAD: true },
  qemu: { ADDRESS: 0, COUNT: 8, COUNT_SIZE: 4, DATA: 12, TAIL: 4, WRITE_REPLY_HEAD: false },
};

/** Options of the DMA_READ/DMA_WRITE encoders and decoders. */
export interface DmaLayoutOptions {
  /** Default `"spec"`. */
  readonly layout?: DmaMessageLayout;
}

/** Size of the spec layout's head (address u64, count u64). */
export const DMA_ACCESS_SIZE = DmaAccessLayout.spec.DATA;

/** Byte offsets of the spec layout's fields (see {@link DmaAccessLayout} for both layouts). */
export const DmaAccessField = {
  ADDRESS: DmaAccessLayout.spec.ADDRESS,
  COUNT: DmaAccessLayout.spec.COUNT,
  DATA: DmaAccessLayout.spec.DATA,
} as const;

/**
 * The whole frame size of a DMA_READ request (`dataLength` 0), a DMA_READ reply or a DMA_WRITE request carrying
 * `dataLength` bytes: header + data offset + data + tail. 32 + `dataLength` in both layouts.
 */
export function dmaAccessFrameSize(dataLength: number, layout: DmaMessageLayout = "spec"): number {
  const L = DmaAccessLayout[layout];
  return HEADER_SIZE + L.DATA + dataLength + L.TAIL;
}

/** VFIO_USER_DMA_READ (11) request (server → client): address, count. */
export interface DmaReadRequest {
  readonly kind: "DmaReadRequest";
  readonly address: bigint;
  readonly count: bigint;
}

/** DMA_READ reply (client → server): address, count (= `data.length`), data. */
export interface DmaReadReply {
  readonly kind: "DmaReadReply";
  readonly address: bigint;
  /** A view of the frame. */
  readonly data: Uint8Array;
}

/** VFIO_USER_DMA_WRITE (12) request (server → client): address, count (= `data.length`), data. */
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
  /**
   * A bare header (no payload), as QEMU answers: decoding one gives `bare: true` with address and count 0 (QEMU does
   * not echo them); encoding with `bare: true`, or in QEMU's layout, writes no payload.
   */
  readonly bare?: boolean;
}

function readCount(r: Reader, L: DmaAccessLayoutInfo): bigint {
  return L.COUNT_SIZE === 8 ? r.u64("count") : BigInt(r.u32("count"));
}

function writeCount(w: Writer, L: DmaAccessLayoutInfo, count: bigint): void {
  if (L.COUNT_SIZE === 8) w.u64(count, "count");
  // As u64 does, refuse what is not a bigint (NaN fails the range check); above 2^32 − 1 stays out of range.
  else w.u32(typeof count === "bigint" ? Number(count) : Number.NaN, "count");
}

/** The head of a DMA_READ request ends with the tail padding (QEMU's layout): its size. */
function requestPadding(L: DmaAccessLayoutInfo): number {
  return L.DATA + L.TAIL - (L.COUNT + L.COUNT_SIZE);
}

/** address, count, `count` data bytes, then nothing or (QEMU) the tail padding. */
function readCountedData(r: Reader, L: DmaAccessLayoutInfo): { address: bigint; data: Uint8Array } {
  const address = r.u64("address");
  const count = readCount(r, L);
  const rest = r.rest();
  const n = BigInt(rest.length);
  if (n === count) return { address, data: rest };
  // QEMU sends the struct's padding after the data; a reply without it is accepted too.
  if (L.TAIL > 0 && n === count + BigInt(L.TAIL)) return { address, data: rest.subarray(0, rest.length - L.TAIL) };
  r.fail("CountMismatch", `count ${count} but ${rest.length} byte(s) after the head`);
}

function writeCountedData(w: Writer, L: DmaAccessLayoutInfo, address: bigint, data: Uint8Array): void {
  w.u64(address, "address");
  writeCount(w, L, BigInt(data.length));
  w.bytes(data);
  w.zeros(L.TAIL);
}

interface DmaCodecs {
  readonly readRequest: MessageCodec<DmaReadRequest>;
  readonly readReply: MessageCodec<DmaReadReply>;
  readonly writeRequest: MessageCodec<DmaWriteRequest>;
  readonly writeReply: MessageCodec<DmaWriteReply>;
}

function makeCodecs(layout: DmaMessageLayout): DmaCodecs {
  const L = DmaAccessLayout[layout];
  const named = (what: string): string => (layout === "spec" ? what : `${what} (QEMU layout)`);
  return {
    readRequest: {
      kind: "DmaReadRequest",
      command: Command.DMA_READ,
      reply: false,
      context: named("DMA_READ request"),
      read(r) {
        const m: DmaReadRequest = { kind: "DmaReadRequest", address: r.u64("address"), count: readCount(r, L) };
        r.bytesView(requestPadding(L), "padding");
        r.end();
        return m;
      },
      write(w, m) {
        w.u64(m.address, "address");
        writeCount(w, L, m.count);
        w.zeros(requestPadding(L));
      },
    },
    readReply: {
      kind: "DmaReadReply",
      command: Command.DMA_READ,
      reply: true,
      context: named("DMA_READ reply"),
      read: (r) => ({ kind: "DmaReadReply", ...readCountedData(r, L) }),
      write: (w, m) => writeCountedData(w, L, m.address, m.data),
      sizeHint: (m) => L.DATA + m.data.length + L.TAIL,
    },
    writeRequest: {
      kind: "DmaWriteRequest",
      command: Command.DMA_WRITE,
      reply: false,
      context: named("DMA_WRITE request"),
      read: (r) => ({ kind: "DmaWriteRequest", ...readCountedData(r, L) }),
      write: (w, m) => writeCountedData(w, L, m.address, m.data),
      sizeHint: (m) => L.DATA + m.data.length + L.TAIL,
    },
    writeReply: {
      kind: "DmaWriteReply",
      command: Command.DMA_WRITE,
      reply: true,
      context: named("DMA_WRITE reply"),
      read(r) {
        if (!L.WRITE_REPLY_HEAD || r.remaining === 0) {
          r.end();
          return { kind: "DmaWriteReply", address: 0n, count: 0n, bare: true };
        }
        const address = r.u64("address");
        if (r.remaining === 4) return { kind: "DmaWriteReply", address, count: BigInt(r.u32("count")), count32: true };
        const count = r.u64("count");
        r.end();
        return { kind: "DmaWriteReply", address, count };
      },
      write(w, m) {
        if (!L.WRITE_REPLY_HEAD || m.bare === true) return;
        w.u64(m.address, "address");
        if (m.count32 === true) {
          w.u32(Number(m.count), "count");
        } else {
          w.u64(m.count, "count");
        }
      },
    },
  };
}

const CODECS: { readonly spec: DmaCodecs; readonly qemu: DmaCodecs } = {
  spec: makeCodecs("spec"),
  qemu: makeCodecs("qemu"),
};

function codecsOf(options: DmaLayoutOptions | undefined): DmaCodecs {
  return CODECS[options?.layout ?? "spec"];
}

// The spec layout's codecs are the ones `decodeMessage`/`encodeMessage` dispatch to.
/** @internal */
export const dmaReadRequestCodec: MessageCodec<DmaReadRequest> = CODECS.spec.readRequest;
/** @internal */
export const dmaReadReplyCodec: MessageCodec<DmaReadReply> = CODECS.spec.readReply;
/** @internal */
export const dmaWriteRequestCodec: MessageCodec<DmaWriteRequest> = CODECS.spec.writeRequest;
/** @internal */
export const dmaWriteReplyCodec: MessageCodec<DmaWriteReply> = CODECS.spec.writeReply;

/**
 * The payload of a `DmaReadRequest`, without the header (`encodeMessage` builds the whole frame, in the spec layout).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field (QEMU's `count` is a u32).
 */
export function encodeDmaReadRequest(m: Body<DmaReadRequest>, options?: DmaLayoutOptions): Uint8Array {
  return encodePayload(codecsOf(options).readRequest, m);
}
/** Throws `ProtoError` (`Truncated`, `BadSize`). */
export function decodeDmaReadRequest(payload: Uint8Array, options?: DmaLayoutOptions): DmaReadRequest {
  return decodePayload(codecsOf(options).readRequest, payload);
}
/**
 * The payload of a `DmaReadReply`, without the header (`encodeMessage` builds the whole frame, in the spec layout).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDmaReadReply(m: Body<DmaReadReply>, options?: DmaLayoutOptions): Uint8Array {
  return encodePayload(codecsOf(options).readReply, m);
}
/** Throws `ProtoError` (`Truncated`, `CountMismatch`). In QEMU's layout the 4 tail bytes may be absent. */
export function decodeDmaReadReply(payload: Uint8Array, options?: DmaLayoutOptions): DmaReadReply {
  return decodePayload(codecsOf(options).readReply, payload);
}
/**
 * The payload of a `DmaWriteRequest`, without the header (`encodeMessage` builds the whole frame, in the spec
 * layout). Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDmaWriteRequest(m: Body<DmaWriteRequest>, options?: DmaLayoutOptions): Uint8Array {
  return encodePayload(codecsOf(options).writeRequest, m);
}
/** Throws `ProtoError` (`Truncated`, `CountMismatch`). In QEMU's layout the 4 tail bytes may be absent. */
export function decodeDmaWriteRequest(payload: Uint8Array, options?: DmaLayoutOptions): DmaWriteRequest {
  return decodePayload(codecsOf(options).writeRequest, payload);
}
/**
 * The payload of a `DmaWriteReply`, without the header (`encodeMessage` builds the whole frame, in the spec layout):
 * empty in QEMU's layout or with `bare`. Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDmaWriteReply(m: Body<DmaWriteReply>, options?: DmaLayoutOptions): Uint8Array {
  return encodePayload(codecsOf(options).writeReply, m);
}
/** Throws `ProtoError` (`Truncated`, `BadSize`; in QEMU's layout any payload is `BadSize`). */
export function decodeDmaWriteReply(payload: Uint8Array, options?: DmaLayoutOptions): DmaWriteReply {
  return decodePayload(codecsOf(options).writeReply, payload);
}

// ---------------------------------------------------------------------------------------------------------------
// In place (zero allocation), as for REGION_READ/WRITE (see region-access.ts): no range checks, numbers must be safe
// integers (and `count` below 2^32 in QEMU's layout).

/** The DMA access head of a frame read in place (a reusable object, see {@link readDmaAccessAt}). */
export interface DmaAccessHead {
  /** Exact up to `Number.MAX_SAFE_INTEGER`, above it a rounded number still above it. */
  address: number;
  /** As `address`. */
  count: number;
}

/**
 * Reads the DMA access head of the frame starting at `at` of `view` into `out`, without allocating. The caller made
 * sure the frame holds a header and a whole head (`msg_size` ≥ 32 in either layout).
 */
export function readDmaAccessAt(
  view: DataView,
  at: number,
  out: DmaAccessHead,
  layout: DmaMessageLayout = "spec",
): void {
  const L = DmaAccessLayout[layout];
  const p = at + HEADER_SIZE;
  out.address = readU64At(view, p + L.ADDRESS);
  out.count = L.COUNT_SIZE === 8 ? readU64At(view, p + L.COUNT) : view.getUint32(p + L.COUNT, LITTLE_ENDIAN);
}

/**
 * Header (`msg_size` counting `dataLength` data bytes and the layout's tail), address, count, and room for `room` more
 * bytes; returns where the data goes.
 */
function appendDmaAccessHead(
  arena: FrameArena,
  msgId: number,
  command: number,
  flags: number,
  address: bigint | number,
  count: bigint | number,
  dataLength: number,
  room: number,
  L: DmaAccessLayoutInfo,
): number {
  const at = arena.reserve(HEADER_SIZE + L.DATA + room);
  const v = arena.view;
  writeHeaderAt(v, at, msgId, command, HEADER_SIZE + L.DATA + dataLength + L.TAIL, flags, 0);
  const p = at + HEADER_SIZE;
  writeU64At(v, p + L.ADDRESS, address);
  if (L.COUNT_SIZE === 8) writeU64At(v, p + L.COUNT, count);
  else v.setUint32(p + L.COUNT, Number(count), LITTLE_ENDIAN);
  return p + L.DATA;
}

/** Header, address, count, `data` (if any), the layout's tail (zeros). */
function appendDmaAccess(
  arena: FrameArena,
  msgId: number,
  command: number,
  flags: number,
  address: bigint | number,
  count: bigint | number,
  data: Uint8Array | undefined,
  L: DmaAccessLayoutInfo,
): void {
  const n = data === undefined ? 0 : data.length;
  const d = appendDmaAccessHead(arena, msgId, command, flags, address, count, n, n + L.TAIL, L);
  if (data !== undefined) arena.bytes.set(data, d);
  if (L.TAIL > 0) arena.bytes.fill(0, d + n, d + n + L.TAIL);
}

/** Appends a whole DMA_READ request frame (server → client). */
export function appendDmaReadRequest(
  arena: FrameArena,
  msgId: number,
  address: bigint | number,
  count: bigint | number,
  flags = 0,
  layout: DmaMessageLayout = "spec",
): void {
  const L = DmaAccessLayout[layout];
  appendDmaAccess(arena, msgId, Command.DMA_READ, flags | HeaderFlags.TYPE_COMMAND, address, count, undefined, L);
}

/** Appends a whole DMA_READ reply frame: the head with `count` = `data.length`, then `data` (and QEMU's tail). */
export function appendDmaReadReply(
  arena: FrameArena,
  msgId: number,
  address: bigint | number,
  data: Uint8Array,
  layout: DmaMessageLayout = "spec",
): void {
  const L = DmaAccessLayout[layout];
  appendDmaAccess(arena, msgId, Command.DMA_READ, HeaderFlags.TYPE_REPLY, address, data.length, data, L);
}

/**
 * Appends the head of a DMA_READ reply whose `count` data bytes the caller sends right after it, gathered from where
 * they lie instead of copied (then, in QEMU's layout, `DmaAccessLayout.qemu.TAIL` zero bytes): the first bytes of the
 * frame {@link appendDmaReadReply} writes, `msg_size` counting the data.
 */
export function appendDmaReadReplyHead(
  arena: FrameArena,
  msgId: number,
  address: bigint | number,
  count: number,
  layout: DmaMessageLayout = "spec",
): void {
  const L = DmaAccessLayout[layout];
  appendDmaAccessHead(arena, msgId, Command.DMA_READ, HeaderFlags.TYPE_REPLY, address, count, count, 0, L);
}

/** Appends a whole DMA_WRITE request frame (`count` = `data.length`; QEMU's tail after the data). */
export function appendDmaWriteRequest(
  arena: FrameArena,
  msgId: number,
  address: bigint | number,
  data: Uint8Array,
  flags = 0,
  layout: DmaMessageLayout = "spec",
): void {
  const L = DmaAccessLayout[layout];
  appendDmaAccess(arena, msgId, Command.DMA_WRITE, flags | HeaderFlags.TYPE_COMMAND, address, data.length, data, L);
}

/**
 * Appends a whole DMA_WRITE reply frame: address and u64 count (the 16-byte form), or in QEMU's layout the bare
 * header (`address` and `count` unused).
 */
export function appendDmaWriteReply(
  arena: FrameArena,
  msgId: number,
  address: bigint | number,
  count: bigint | number,
  layout: DmaMessageLayout = "spec",
): void {
  const L = DmaAccessLayout[layout];
  if (!L.WRITE_REPLY_HEAD) {
    const at = arena.reserve(HEADER_SIZE);
    writeHeaderAt(arena.view, at, msgId, Command.DMA_WRITE, HEADER_SIZE, HeaderFlags.TYPE_REPLY, 0);
    return;
  }
  appendDmaAccess(arena, msgId, Command.DMA_WRITE, HeaderFlags.TYPE_REPLY, address, count, undefined, L);
}
