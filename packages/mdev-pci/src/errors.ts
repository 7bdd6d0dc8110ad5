/** Why an `@emu/mdev-pci` operation failed. */
export type MdevPciErrorReason =
  | "MalformedSysfs" // a sysfs attribute whose text is not in the kernel's format
  | "MissingAttribute" // a mandatory sysfs attribute file is absent
  | "MissingLink" // a sysfs symlink (mdev_type, iommu_group, ...) is absent or dangling
  | "BadUuid" // a string that is not a canonical 8-4-4-4-12 UUID
  | "NoSuchParent" // no /sys/class/mdev_bus/<parent>
  | "NoSuchType" // the parent has no such mdev_supported_types entry
  | "NoInstances" // available_instances is 0
  | "AlreadyExists" // an mdev with this UUID exists
  | "NoSuchDevice" // no device with this address in sysfs
  | "NotVfio" // the device is not usable through VFIO (wrong driver, not vfio-pci device_api, no group)
  | "NoVfio" // the host has no VFIO (no /dev/vfio, no native primitives)
  | "Kernel" // the kernel refused an ioctl, open or sysfs write (see `code`)
  | "Source" // a bus source other than sysfs could not open a device (its error is the `cause`)
  | "BadArgument"; // a caller error: bad devargs, conflicting allow/block lists, ...

/**
 * The error family of `@emu/mdev-pci`. `path` names the sysfs file or device node involved when there is one, so a
 * message always says where to look.
 */
export class MdevPciError extends Error {
  readonly _tag = "MdevPciError" as const;
  override readonly name = "MdevPciError";
  readonly reason: MdevPciErrorReason;
  /** The file, link or device node the error is about. */
  readonly path: string | undefined;
  /** errno-style code when the kernel refused (e.g. "EEXIST", "EBUSY"). */
  readonly code: string | undefined;

  constructor(
    reason: MdevPciErrorReason,
    message: string,
    options?: { readonly path?: string; readonly code?: string; readonly cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.path = options?.path;
    this.code = options?.code;
  }
}

export function isMdevPciError(e: unknown): e is MdevPciError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "MdevPciError";
}

/** The errno name of a Node system error or an `@emu/sys` SysError, when it has one. */
export function errnoCode(e: unknown): string | undefined {
  if (typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string") {
    return (e as { code: string }).code;
  }
  return undefined;
}
