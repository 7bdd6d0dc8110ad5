/**
 * The one place where a refused request becomes an errno. Handlers throw a `ReplyError` with a reason; the
 * connection turns it into an error reply (header only, ERROR flag, errno from `ERRNO_OF`). The README's errno table
 * is this table.
 */

/** Linux errno numbers used on the wire (vfio-user carries Linux numbering whatever the host). */
export const Errno = {
  ENOENT: 2,
  EIO: 5,
  EBADF: 9,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOTTY: 25,
  ENOSPC: 28,
  ERANGE: 34,
  ENOSYS: 38,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
} as const;
export type Errno = (typeof Errno)[keyof typeof Errno];

/** Why the server refused a request. */
export type ReplyErrorReason =
  /** The payload does not decode, or a field has a value the spec does not allow (argsz, flags, sizes). */
  | "Malformed"
  /** A region or IRQ index the device does not have. */
  | "BadIndex"
  /** offset/count outside the region, vectors outside the IRQ index, count above max_data_xfer_size. */
  | "OutOfRange"
  /** DMA_MAP over an existing mapping (the spec names EEXIST). */
  | "Exists"
  /** DMA_UNMAP of something that is not mapped exactly. */
  | "NotFound"
  /** More DMA mappings than max_dma_maps. */
  | "NoSpace"
  /** A command number the server does not know (incl. 14, unassigned since migration v2). */
  | "UnknownCommand"
  /** A known command or option the device does not offer or the session did not negotiate. */
  | "NotSupported"
  /** A DEVICE_FEATURE index the device does not have (ENOTTY, as kernel VFIO answers). */
  | "NoSuchFeature"
  /** The migration state does not allow this (MIG_DATA_READ outside a saving state, a forbidden arc, ...). */
  | "WrongState"
  /** DMA logging started twice. */
  | "Busy"
  /** A frame larger than the negotiated maximum (the connection is closed after the reply). */
  | "TooLarge"
  /** A device callback failed without naming an errno. */
  | "DeviceFailed";

export const ERRNO_OF: Readonly<Record<ReplyErrorReason, Errno>> = {
  Malformed: Errno.EINVAL,
  BadIndex: Errno.EINVAL,
  OutOfRange: Errno.EINVAL,
  Exists: Errno.EEXIST,
  NotFound: Errno.ENOENT,
  NoSpace: Errno.ENOSPC,
  UnknownCommand: Errno.ENOSYS,
  NotSupported: Errno.EOPNOTSUPP,
  NoSuchFeature: Errno.ENOTTY,
  WrongState: Errno.EINVAL,
  Busy: Errno.EBUSY,
  TooLarge: Errno.EMSGSIZE,
  DeviceFailed: Errno.EIO,
};

/**
 * Why a device callback fails a request, by name (`new DeviceError("InvalidArgument", "…")`); the errno each becomes
 * on the wire is `DEVICE_ERRNO`.
 */
export type DeviceErrorReason =
  /** EINVAL: the access or the value is not valid for the device (a bad register, size or value). */
  | "InvalidArgument"
  /** EOPNOTSUPP: the device does not do this. */
  | "NotSupported"
  /** EBUSY: the device cannot do it now. */
  | "Busy"
  /** EFAULT: a guest address the device was given is bad. */
  | "BadAddress"
  /** EIO: the device failed (what any other exception from a callback becomes). */
  | "IoError";

export const DEVICE_ERRNO: Readonly<Record<DeviceErrorReason, Errno>> = {
  InvalidArgument: Errno.EINVAL,
  NotSupported: Errno.EOPNOTSUPP,
  Busy: Errno.EBUSY,
  BadAddress: Errno.EFAULT,
  IoError: Errno.EIO,
};

/** Thrown by request handlers; turned into an error reply by the connection (never escapes the server). */
export class ReplyError extends Error {
  readonly _tag = "ReplyError" as const;
  override readonly name = "ReplyError";
  readonly reason: ReplyErrorReason;
  readonly errno: number;

  constructor(reason: ReplyErrorReason, message: string, errno?: number) {
    super(message);
    this.reason = reason;
    this.errno = errno ?? ERRNO_OF[reason];
  }
}

export function isReplyError(e: unknown): e is ReplyError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "ReplyError";
}

/** Shorthand: `throw refuse("OutOfRange", "...")`. */
export function refuse(reason: ReplyErrorReason, message: string): ReplyError {
  return new ReplyError(reason, message);
}

/**
 * The errno for any failure while serving a request: a `ReplyError` carries its own; a device callback's
 * `DeviceError` names one; a DMA failure inside a callback is EFAULT (bad address) or EIO; anything else is EIO.
 */
export function errnoOfFailure(e: unknown): number {
  if (typeof e === "object" && e !== null) {
    const tag = (e as { _tag?: unknown })._tag;
    if (tag === "ReplyError" || tag === "DeviceError") {
      const n = (e as { errno?: unknown }).errno;
      if (typeof n === "number" && Number.isInteger(n) && n > 0 && n <= 4095) return n;
      return Errno.EIO;
    }
    if (tag === "DmaError") {
      const reason = (e as { reason?: unknown }).reason;
      return reason === "NotMapped" || reason === "Permission" ? Errno.EFAULT : Errno.EIO;
    }
  }
  return Errno.EIO;
}
