import { Command } from "../command.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";

/** Size of the `argsz`, `size` head of MIG_DATA_READ/WRITE. */
export const MIG_DATA_HEAD_SIZE = 8;

/** VFIO_USER_MIG_DATA_READ (17) request: `argsz` u32 (max reply, ≥ 8), `size` u32 (bytes wanted). */
export interface MigDataReadRequest {
  readonly kind: "MigDataReadRequest";
  readonly argsz: number;
  readonly size: number;
}

/**
 * MIG_DATA_READ reply: `argsz` u32 (= 8 + bytes returned), `size` u32 (bytes returned; fewer than asked = no more
 * data for now), data @8. libvfio-user always sends 16 + 8 + the *requested* size, zero-padded: `data` holds only
 * `size` bytes and the padding is kept in `trailing` so the frame re-encodes byte for byte.
 */
export interface MigDataReadReply {
  readonly kind: "MigDataReadReply";
  readonly argsz: number;
  /** `size` bytes of migration data; a view of the frame. */
  readonly data: Uint8Array;
  /** Bytes after the data (libvfio-user's padding); meaningless, kept for re-encoding. */
  readonly trailing?: Uint8Array;
}

/** VFIO_USER_MIG_DATA_WRITE (18) request: `argsz` u32, `size` u32 (= `data.length`), data @8. */
export interface MigDataWriteRequest {
  readonly kind: "MigDataWriteRequest";
  readonly argsz: number;
  /** A view of the frame. */
  readonly data: Uint8Array;
}

/**
 * MIG_DATA_WRITE reply: no payload in the spec; a proposed revision adds `argsz` u32 + `size` u32 (bytes written),
 * which is accepted and kept when present.
 */
export interface MigDataWriteReply {
  readonly kind: "MigDataWriteReply";
  readonly argsz?: number;
  readonly size?: number;
}

/** @internal */
export const migDataReadRequestCodec: MessageCodec<MigDataReadRequest> = {
  kind: "MigDataReadRequest",
  command: Command.MIG_DATA_READ,
  reply: false,
  context: "MIG_DATA_READ request",
  read(r) {
    const argsz = r.u32("argsz");
    if (argsz < MIG_DATA_HEAD_SIZE) r.fail("BadArgsz", `argsz ${argsz} < ${MIG_DATA_HEAD_SIZE}`);
    const size = r.u32("size");
    r.end();
    return { kind: "MigDataReadRequest", argsz, size };
  },
  write(w, m) {
    w.u32(m.argsz, "argsz");
    w.u32(m.size, "size");
  },
};

/** @internal */
export const migDataReadReplyCodec: MessageCodec<MigDataReadReply> = {
  kind: "MigDataReadReply",
  command: Command.MIG_DATA_READ,
  reply: true,
  context: "MIG_DATA_READ reply",
  read(r) {
    const argsz = r.u32("argsz");
    const size = r.u32("size");
    if (size > r.remaining) r.fail("CountMismatch", `size ${size} but ${r.remaining} data byte(s)`);
    const data = r.bytesView(size, "data");
    const trailing = r.rest();
    return trailing.length > 0
      ? { kind: "MigDataReadReply", argsz, data, trailing }
      : { kind: "MigDataReadReply", argsz, data };
  },
  write(w, m) {
    w.u32(m.argsz, "argsz");
    w.u32(m.data.length, "size");
    w.bytes(m.data);
    if (m.trailing !== undefined) w.bytes(m.trailing);
  },
  sizeHint: (m) => MIG_DATA_HEAD_SIZE + m.data.length + (m.trailing?.length ?? 0),
};

/** @internal */
export const migDataWriteRequestCodec: MessageCodec<MigDataWriteRequest> = {
  kind: "MigDataWriteRequest",
  command: Command.MIG_DATA_WRITE,
  reply: false,
  context: "MIG_DATA_WRITE request",
  read(r) {
    const argsz = r.u32("argsz");
    const size = r.u32("size");
    const data = r.rest();
    if (data.length !== size) r.fail("CountMismatch", `size ${size} but ${data.length} data byte(s)`);
    return { kind: "MigDataWriteRequest", argsz, data };
  },
  write(w, m) {
    w.u32(m.argsz, "argsz");
    w.u32(m.data.length, "size");
    w.bytes(m.data);
  },
  sizeHint: (m) => MIG_DATA_HEAD_SIZE + m.data.length,
};

/** @internal */
export const migDataWriteReplyCodec: MessageCodec<MigDataWriteReply> = {
  kind: "MigDataWriteReply",
  command: Command.MIG_DATA_WRITE,
  reply: true,
  context: "MIG_DATA_WRITE reply",
  read(r) {
    if (r.remaining === 0) return { kind: "MigDataWriteReply" };
    const argsz = r.u32("argsz");
    const size = r.u32("size");
    r.end();
    return { kind: "MigDataWriteReply", argsz, size };
  },
  write(w, m) {
    if (m.argsz === undefined && m.size === undefined) return;
    w.u32(m.argsz ?? MIG_DATA_HEAD_SIZE, "argsz");
    w.u32(m.size ?? 0, "size");
  },
};

/**
 * The payload of a `MigDataReadRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeMigDataReadRequest(m: Body<MigDataReadRequest>): Uint8Array {
  return encodePayload(migDataReadRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadArgsz`, `BadSize`). */
export function decodeMigDataReadRequest(payload: Uint8Array): MigDataReadRequest {
  return decodePayload(migDataReadRequestCodec, payload);
}
/**
 * The payload of a `MigDataReadReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeMigDataReadReply(m: Body<MigDataReadReply>): Uint8Array {
  return encodePayload(migDataReadReplyCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `CountMismatch`). */
export function decodeMigDataReadReply(payload: Uint8Array): MigDataReadReply {
  return decodePayload(migDataReadReplyCodec, payload);
}
/**
 * The payload of a `MigDataWriteRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeMigDataWriteRequest(m: Body<MigDataWriteRequest>): Uint8Array {
  return encodePayload(migDataWriteRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `CountMismatch`). */
export function decodeMigDataWriteRequest(payload: Uint8Array): MigDataWriteRequest {
  return decodePayload(migDataWriteRequestCodec, payload);
}
/**
 * The payload of a `MigDataWriteReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeMigDataWriteReply(m: Body<MigDataWriteReply> = {}): Uint8Array {
  return encodePayload(migDataWriteReplyCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadSize`). */
export function decodeMigDataWriteReply(payload: Uint8Array): MigDataWriteReply {
  return decodePayload(migDataWriteReplyCodec, payload);
}
