import { getSystemErrorMap } from "node:util";
import { commandName } from "@emu/vfio-user-proto";

/** Why a client operation failed. */
export type VfioUserClientErrorReason =
  /** The server answered with an error reply (`errno`, `code`; `payload` if it sent bytes despite the spec). */
  | "ErrorReply"
  /** The connection went away (the server closed it, crashed, or the socket failed) before the reply came. */
  | "Disconnected"
  /** `close()` was called: the client no longer sends anything. */
  | "Closed"
  /** VERSION negotiation failed (wrong major, minor above ours, capabilities we did not offer, no VERSION reply). */
  | "Negotiation"
  /** The server sent something the protocol does not allow (a reply that does not decode, a framing error). */
  | "Protocol"
  /** A bad argument from the caller (nothing was sent). */
  | "InvalidArgument"
  /** The server or the session does not offer this (e.g. REGION_WRITE_MULTI not negotiated). */
  | "Unsupported";

/** The one error family of `@emu/vfio-user-client`: every rejection and every thrown error is one of these. */
export class VfioUserClientError extends Error {
  readonly _tag = "VfioUserClientError" as const;
  override readonly name = "VfioUserClientError";
  readonly reason: VfioUserClientErrorReason;
  /** The command the failure belongs to, when there is one. */
  readonly command: number | undefined;
  /** Linux errno of an error reply (may be 0: the spec allows it). */
  readonly errno: number | undefined;
  /** errno name ("EINVAL"), for error replies and socket failures. */
  readonly code: string | undefined;
  /** Bytes a server sent with its error reply (libvfio-user sometimes sends 16). */
  readonly payload: Uint8Array | undefined;

  constructor(
    reason: VfioUserClientErrorReason,
    message: string,
    options?: {
      readonly command?: number;
      readonly errno?: number;
      readonly code?: string;
      readonly payload?: Uint8Array;
      readonly cause?: unknown;
    },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.command = options?.command;
    this.errno = options?.errno;
    this.code = options?.code ?? (options?.errno === undefined ? undefined : errnoName(options.errno));
    this.payload = options?.payload;
  }
}

/** True for any {@link VfioUserClientError}, also one made by another copy of this package. */
export function isVfioUserClientError(e: unknown): e is VfioUserClientError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "VfioUserClientError";
}

let errnoMap: Map<number, [string, string]> | undefined;

/** "EINVAL" for 22; `errno N` for numbers Node does not know (the wire carries Linux numbering). */
export function errnoName(errno: number): string {
  errnoMap ??= getSystemErrorMap();
  return errnoMap.get(-errno)?.[0] ?? `errno ${errno}`;
}

/** @internal The error for an error reply. */
export function errorReply(command: number, errno: number, payload: Uint8Array | undefined): VfioUserClientError {
  const extra = payload === undefined ? "" : ` (+${payload.length} payload byte(s))`;
  return new VfioUserClientError(
    "ErrorReply",
    `${commandName(command)} refused by the server: ${errnoName(errno)}${extra}`,
    payload === undefined ? { command, errno } : { command, errno, payload },
  );
}

/** @internal */
export function invalid(message: string): VfioUserClientError {
  return new VfioUserClientError("InvalidArgument", message);
}
