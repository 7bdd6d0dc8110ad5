/** Why the driver refused or failed an operation. */
export type IavfClientErrorReason =
  /** An option or argument out of range; nothing was done. */
  | "InvalidArgument"
  /** BAR0 is too small, the VF has no SR-IOV VSI, or offers fewer queue pairs than asked. */
  | "Unsupported"
  /** The device did not answer in time (reset wait, admin-queue completion, virtchnl reply). */
  | "Timeout"
  /** The admin queue refused a descriptor (ERR flag and a non-zero retval) or is full. */
  | "AdminQueue"
  /** The PF answered a virtchnl request with a non-zero status. */
  | "Status"
  /** The PF's reply does not decode as the request's reply, or carries another opcode. */
  | "BadReply"
  /** A VF reset started while the request was waiting; its reply will never come. */
  | "Reset"
  /** The driver (or its mailbox) is closed. */
  | "Closed"
  /** The device failed underneath (a transport error, the server went away): see `cause`. */
  | "Device";

/** The one error family of `@emu/iavf-client`; check with {@link isIavfClientError}. */
export class IavfClientError extends Error {
  readonly _tag = "IavfClientError" as const;
  override readonly name = "IavfClientError";
  readonly reason: IavfClientErrorReason;
  /** The virtchnl opcode concerned, when there is one. */
  readonly opcode: number | undefined;
  /** The virtchnl status (reason `Status`) or the admin-queue retval (reason `AdminQueue`). */
  readonly status: number | undefined;

  constructor(
    reason: IavfClientErrorReason,
    message: string,
    options?: { readonly cause?: unknown; readonly opcode?: number; readonly status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.opcode = options?.opcode;
    this.status = options?.status;
  }
}

/** True for any {@link IavfClientError}, also one made by another copy of this package. */
export function isIavfClientError(e: unknown): e is IavfClientError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "IavfClientError";
}

/** Wraps what a `VfioDevice` call threw as a `Device` error (tagged errors of this package pass through). */
export function deviceFailure(what: string, e: unknown): IavfClientError {
  if (isIavfClientError(e)) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new IavfClientError("Device", `${what}: ${msg}`, { cause: e });
}
