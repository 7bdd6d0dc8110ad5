/**
 * The one error family of `@emu/iavf-common`.
 *
 * Decoders of untrusted bytes return a {@link Result} whose error is an {@link IavfError}; they never throw, whatever
 * the bytes. Encoders throw an `IavfError` (reason `OutOfRange`) when given a value its wire field cannot hold.
 */
import type { Result } from "@emu/vfio-user-proto";
import { VirtchnlStatus } from "./virtchnl/status.js";

/** The `Result` shape of emu (`@emu/vfio-user-proto`'s): `{ ok: true, value } | { ok: false, error }`. */
export type { Result } from "@emu/vfio-user-proto";

/** Why bytes could not be decoded (or a value could not be encoded). */
export type IavfErrorReason =
  /** The buffer is shorter than the structure it must hold (an admin-queue descriptor, a reply). */
  | "Truncated"
  /** The length is neither the exact nor the legacy ("one extra element") length for the counts it carries. */
  | "BadLength"
  /** A count that must not be zero is zero (queue pairs, vectors, addresses, VLAN ids). */
  | "BadFormat"
  /** A message that never travels in this direction (EVENT sent by a VF, a request opcode as a reply). */
  | "BadDirection"
  /** (encoding only) a value outside the range of its wire field. */
  | "OutOfRange";

/** A tagged error. Check with {@link isIavfError}; switch on {@link IavfError.reason}. */
export class IavfError extends Error {
  readonly _tag = "IavfError" as const;
  override readonly name = "IavfError";
  readonly reason: IavfErrorReason;
  /** The virtchnl opcode of the message, when the error concerns one. */
  readonly opcode: number | undefined;
  /**
   * The virtchnl status a PF answers this message with, as the reference validator does: `ERR_OPCODE_MISMATCH` (−38)
   * for a bad length or format, `ERR_PARAM` (−5) for a message a VF may not send.
   */
  readonly status: number;

  constructor(reason: IavfErrorReason, message: string, opcode?: number) {
    super(message);
    this.reason = reason;
    this.opcode = opcode;
    this.status =
      reason === "BadDirection" || reason === "OutOfRange"
        ? VirtchnlStatus.ERR_PARAM
        : VirtchnlStatus.ERR_OPCODE_MISMATCH;
  }
}

/** True for any {@link IavfError}, also one created by another copy of this package. */
export function isIavfError(e: unknown): e is IavfError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "IavfError";
}

/** Runs a throwing decoder and turns an {@link IavfError} into `{ ok: false }`; anything else is a bug and re-thrown. */
export function tryIavf<T>(decode: () => T): Result<T, IavfError> {
  try {
    return { ok: true, value: decode() };
  } catch (e) {
    if (isIavfError(e)) return { ok: false, error: e };
    throw e;
  }
}
