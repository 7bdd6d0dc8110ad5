/** Why a VfioDevice operation was refused. */
export type VfioDeviceErrorReason =
  | "OutOfBounds" // an access outside the region, or a size the helper does not support
  | "NotMappable" // mmap asked of a region or area that has no mappable part
  | "BadAddress" // an address string that is not a BDF, mdev UUID or vfio-user socket
  | "Unsupported" // the device or the implementation does not offer this operation
  | "NoSuchDevice" // no source knows the address
  | "Closed" // the device was closed
  | "Io"; // the transport or the kernel failed (see `cause`)

/** The one error family of @emu/vfio-device; implementations throw it (or their own tagged errors) at the seam. */
export class VfioDeviceError extends Error {
  readonly _tag = "VfioDeviceError" as const;
  override readonly name = "VfioDeviceError";
  readonly reason: VfioDeviceErrorReason;
  /** errno-style code when the failure came from a peer or the kernel (e.g. "EINVAL"). */
  readonly code: string | undefined;

  constructor(reason: VfioDeviceErrorReason, message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.code = options?.code;
  }
}

export function isVfioDeviceError(e: unknown): e is VfioDeviceError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "VfioDeviceError";
}
