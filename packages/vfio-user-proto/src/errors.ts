/**
 * The one error family of `@emu/vfio-user-proto`.
 *
 * Every decoder in this package either returns a {@link Result} or throws a {@link ProtoError}; nothing else escapes,
 * whatever the input bytes. Encoders throw a `ProtoError` when given a value that cannot be put on the wire.
 */

/** Why bytes could not be decoded (or a value could not be encoded). */
export type ProtoErrorReason =
  /** The input ends before a field or structure it must contain. */
  | "Truncated"
  /** The 16-byte header is unusable: `msg_size` below 16 or not the frame's length, or a type that is neither command nor reply. */
  | "BadHeader"
  /** The payload has a length this message does not allow (bytes left over, entries of an unknown size, no entries). */
  | "BadSize"
  /** A request's `argsz` is smaller than the fixed part of the structure it names. */
  | "BadArgsz"
  /** VERSION data that is not NUL-terminated UTF-8 JSON of the documented shape. */
  | "BadJson"
  /** A capability chain with a loop, an offset outside the structure, or a capability body that does not fit. */
  | "BadCapabilityChain"
  /** A `count`/`size`/`num_*` field that disagrees with the bytes that follow it. */
  | "CountMismatch"
  /** A frame larger than the negotiated maximum, or a message too large to encode. */
  | "TooLarge"
  /** (encoding only) a value outside the range of its wire field, e.g. a negative u32 or a u64 ≥ 2^64. */
  | "OutOfRange";

/** A tagged protocol error. Check with {@link isProtoError}; switch on {@link ProtoError.reason}. */
export class ProtoError extends Error {
  readonly _tag = "ProtoError" as const;
  override readonly name = "ProtoError";
  readonly reason: ProtoErrorReason;
  /** The command number of the message being decoded, when known. */
  readonly command: number | undefined;

  constructor(reason: ProtoErrorReason, message: string, options?: { command?: number }) {
    super(message);
    this.reason = reason;
    this.command = options?.command;
  }
}

/** True for any {@link ProtoError}, also one created by another copy of this package. */
export function isProtoError(e: unknown): e is ProtoError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "ProtoError";
}

/** The Result shape returned at the package's untrusted-input boundary (`decodeMessage`, `tryDecode`). */
export type Result<T, E = ProtoError> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

/**
 * Runs a throwing decoder and turns a {@link ProtoError} into `{ ok: false }`. Any other exception is a bug in this
 * package and is re-thrown.
 */
export function tryDecode<T>(decode: () => T): Result<T> {
  try {
    return { ok: true, value: decode() };
  } catch (e) {
    if (isProtoError(e)) return { ok: false, error: e };
    throw e;
  }
}
