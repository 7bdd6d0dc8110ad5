import { DEVICE_ERRNO, type DeviceErrorReason } from "./errno.js";

/** Why the server API refused something (device description, lifecycle). */
export type VfioUserServerErrorReason =
  | "InvalidDevice" // a device description the server cannot serve (see message)
  | "Closed" // the server was closed
  | "BadVector" // an interrupt index or vector the device does not have
  | "SocketPath" // the socket path is taken: another server listens there, or it is not a socket (never replaced)
  | "Busy" // a second client connected while one is served (reported through `onError`; the peer got EBUSY)
  | "InvalidFile"; // a file offered for a region's mmap areas that cannot serve it (see message)

/** Errors of the server's own API. */
export class VfioUserServerError extends Error {
  readonly _tag = "VfioUserServerError" as const;
  override readonly name = "VfioUserServerError";
  readonly reason: VfioUserServerErrorReason;

  constructor(reason: VfioUserServerErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
  }
}

export function isVfioUserServerError(e: unknown): e is VfioUserServerError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "VfioUserServerError";
}

/** Why a device's access to guest memory failed. */
export type DmaErrorReason =
  | "NotMapped" // the range is not (entirely) inside the DMA table
  | "NotDirect" // a direct view was asked of a range the client mapped without an fd (message-based)
  | "Spans" // a direct view was asked of a range that crosses two mappings
  | "Permission" // write to a read-only mapping, or read of a write-only one
  | "Disconnected" // no client, or the client went away before answering
  | "ClientError" // the client answered DMA_READ/DMA_WRITE with an error (see errno)
  | "Timeout"; // the client did not answer DMA_READ/DMA_WRITE in time (`dmaReplyTimeoutMs`): the connection is closed

/** A failed DMA access: never a crash, always this. */
export class DmaError extends Error {
  readonly _tag = "DmaError" as const;
  override readonly name = "DmaError";
  readonly reason: DmaErrorReason;
  readonly iova: bigint;
  readonly length: number;
  /** The client's errno for "ClientError". */
  readonly errno: number | undefined;

  constructor(reason: DmaErrorReason, iova: bigint, length: number, message: string, errno?: number) {
    super(message);
    this.reason = reason;
    this.iova = iova;
    this.length = length;
    this.errno = errno;
  }
}

export function isDmaError(e: unknown): e is DmaError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "DmaError";
}

/**
 * A DMA_MAP the server refused, reported through the server's `onError` (the client gets its error reply as well, but
 * QEMU and cloud-hypervisor only log or ignore it: the guest keeps running with memory the device cannot reach).
 */
export class DmaMapError extends Error {
  readonly _tag = "DmaMapError" as const;
  override readonly name = "DmaMapError";
  /** The range the client asked to map. */
  readonly iova: bigint;
  readonly size: bigint;
  /** The errno of the error reply (e.g. 17 EEXIST for an overlap, 22 EINVAL for a misaligned range). */
  readonly errno: number;
  /** The client passed an fd (memory the server would have mmapped) or not (message-based DMA). */
  readonly withFd: boolean;

  constructor(iova: bigint, size: bigint, errno: number, withFd: boolean, message: string) {
    super(message);
    this.iova = iova;
    this.size = size;
    this.errno = errno;
    this.withFd = withFd;
  }
}

export function isDmaMapError(e: unknown): e is DmaMapError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "DmaMapError";
}

/**
 * A device callback throws this to fail the client's request with a chosen errno: by name —
 * `new DeviceError("InvalidArgument", "register 0x10 is read-only")` is EINVAL on the wire (`DEVICE_ERRNO` lists the
 * names) — or by number for any other errno (`new DeviceError(Errno.ENOSPC, "…")`). Any other exception from a
 * callback becomes EIO.
 */
export class DeviceError extends Error {
  readonly _tag = "DeviceError" as const;
  override readonly name = "DeviceError";
  /** The name given, or the name of the errno given; "Other" for an errno without one. */
  readonly reason: DeviceErrorReason | "Other";
  readonly errno: number;

  constructor(reason: DeviceErrorReason | number, message: string) {
    super(message);
    if (typeof reason === "number") {
      this.errno = reason;
      this.reason = REASON_OF_ERRNO.get(reason) ?? "Other";
    } else {
      this.errno = DEVICE_ERRNO[reason];
      this.reason = reason;
    }
  }
}

const REASON_OF_ERRNO = new Map<number, DeviceErrorReason>(
  Object.entries(DEVICE_ERRNO).map(([name, errno]) => [errno, name as DeviceErrorReason]),
);

export function isDeviceError(e: unknown): e is DeviceError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "DeviceError";
}
