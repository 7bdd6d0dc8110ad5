import { commandName } from "./command.js";
import { ProtoError } from "./errors.js";
import { LITTLE_ENDIAN } from "./internal/byte-order.js";

/** Every vfio-user message starts with this 16-byte header; `msg_size` includes it. */
export const HEADER_SIZE = 16;

/** Bits of the header's `flags` word. */
export const HeaderFlags = {
  /** Bits 0–3: message type. */
  TYPE_MASK: 0xf,
  /** Type value of a command. */
  TYPE_COMMAND: 0x0,
  /** Type value of a reply. */
  TYPE_REPLY: 0x1,
  /** Bit 4 (commands): the sender wants no reply. */
  NO_REPLY: 0x10,
  /** Bit 5 (replies): the command failed; `error` holds an errno (which may still be 0). */
  ERROR: 0x20,
} as const;

/**
 * The decoded header.
 *
 * | Offset | Size | Field |
 * |---|---|---|
 * | 0 | 2 | msg_id |
 * | 2 | 2 | cmd |
 * | 4 | 4 | msg_size (whole message incl. header) |
 * | 8 | 4 | flags |
 * | 12 | 4 | error (errno in an error reply) |
 */
export interface Header {
  readonly msgId: number;
  readonly command: number;
  readonly msgSize: number;
  readonly flags: number;
  readonly error: number;
}

/** Byte offsets of the header's fields (the table of {@link Header}): the one layout every header access uses. */
export const HeaderField = {
  MSG_ID: 0,
  CMD: 2,
  MSG_SIZE: 4,
  FLAGS: 8,
  ERROR: 12,
} as const;

/** A {@link Header} a zero-allocation reader fills in place (see {@link readHeaderAt}). */
export type MutableHeader = { -readonly [K in keyof Header]: Header[K] };

/** True if the header's type bits say "reply". */
export function isReply(flags: number): boolean {
  return (flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_REPLY;
}

/** True for a reply with the ERROR bit. */
export function isErrorReply(flags: number): boolean {
  return isReply(flags) && (flags & HeaderFlags.ERROR) !== 0;
}

/** True for a command with the NO_REPLY bit. */
export function isNoReply(flags: number): boolean {
  return (flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_COMMAND && (flags & HeaderFlags.NO_REPLY) !== 0;
}

/**
 * Reads the header at the start of `bytes` (which may be longer). Throws `ProtoError("Truncated")` if fewer than 16
 * bytes are given. Does not judge `msg_size` or the type bits; {@link decodeMessage} and {@link FrameParser} do.
 */
export function decodeHeader(bytes: Uint8Array): Header {
  if (bytes.length < HEADER_SIZE) {
    throw new ProtoError("Truncated", `header needs ${HEADER_SIZE} bytes, got ${bytes.length}`);
  }
  const h: MutableHeader = { msgId: 0, command: 0, msgSize: 0, flags: 0, error: 0 };
  readHeaderAt(new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE), 0, h);
  return h;
}

/**
 * Zero-allocation header read for receive loops that walk a chunk in place: fills `out` from the 16 bytes at `at` of
 * `view` (the caller made sure they are there). Judges nothing, like {@link decodeHeader}.
 */
export function readHeaderAt(view: DataView, at: number, out: MutableHeader): void {
  out.msgId = view.getUint16(at + HeaderField.MSG_ID, LITTLE_ENDIAN);
  out.command = view.getUint16(at + HeaderField.CMD, LITTLE_ENDIAN);
  out.msgSize = view.getUint32(at + HeaderField.MSG_SIZE, LITTLE_ENDIAN);
  out.flags = view.getUint32(at + HeaderField.FLAGS, LITTLE_ENDIAN);
  out.error = view.getUint32(at + HeaderField.ERROR, LITTLE_ENDIAN);
}

/** `msg_size` of the header at `at` of `view` (framing reads only this field). */
export function msgSizeAt(view: DataView, at: number): number {
  return view.getUint32(at + HeaderField.MSG_SIZE, LITTLE_ENDIAN);
}

/**
 * Zero-allocation header write at `at` of `view`, for encoders that build frames in place (see `FrameArena`). The
 * values are the caller's to keep in range (u16 ids and commands, u32 the rest).
 */
export function writeHeaderAt(
  view: DataView,
  at: number,
  msgId: number,
  command: number,
  msgSize: number,
  flags: number,
  error: number,
): void {
  view.setUint16(at + HeaderField.MSG_ID, msgId, LITTLE_ENDIAN);
  view.setUint16(at + HeaderField.CMD, command, LITTLE_ENDIAN);
  view.setUint32(at + HeaderField.MSG_SIZE, msgSize, LITTLE_ENDIAN);
  view.setUint32(at + HeaderField.FLAGS, flags, LITTLE_ENDIAN);
  view.setUint32(at + HeaderField.ERROR, error, LITTLE_ENDIAN);
}

/** Writes a header into a fresh 16-byte array. */
export function encodeHeader(h: Header): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  check(h.msgId, 0xffff, "msg_id");
  check(h.command, 0xffff, "cmd");
  check(h.msgSize, 0xffffffff, "msg_size");
  check(h.flags, 0xffffffff, "flags");
  check(h.error, 0xffffffff, "error");
  writeHeaderAt(new DataView(out.buffer), 0, h.msgId, h.command, h.msgSize, h.flags, h.error);
  return out;
}

function check(v: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new ProtoError("OutOfRange", `header ${field} = ${v} out of range`);
}

/** A one-line description such as `DMA_MAP reply id=7 size=16 flags=0x1` for logs. */
export function formatHeader(h: Header): string {
  const type = isReply(h.flags) ? (isErrorReply(h.flags) ? "error reply" : "reply") : "command";
  const err = isErrorReply(h.flags) ? ` errno=${h.error}` : "";
  return `${commandName(h.command)} ${type} id=${h.msgId} size=${h.msgSize} flags=0x${h.flags.toString(16)}${err}`;
}
