import * as fs from "node:fs";
import * as path from "node:path";
import { errnoCode, isMdevPciError, MdevPciError } from "./errors.js";
import { exists, listDir } from "./internal/sysfs-read.js";
import type { PciDevice } from "./pci-device.js";
import { readMdev, readMdevParent, type SysfsOptions } from "./sysfs-scan.js";
import { parseUuid, randomUuid } from "./uuid.js";

/** How sysfs attributes are written: the default opens the existing file write-only; tests pass a fixture kernel. */
export type AttributeWriter = (file: string, data: string) => void;

export interface MdevWriteOptions extends SysfsOptions {
  readonly writeAttribute?: AttributeWriter;
}

export interface CreateMdevRequest {
  /** The parent's name as in /sys/class/mdev_bus: a BDF ("0000:00:02.0") or e.g. "mtty". */
  readonly parent: string;
  /** The type id, e.g. "i915-GVTg_V5_4" or "mtty-2". */
  readonly type: string;
  /** The UUID to give it; a random one when absent. */
  readonly uuid?: string;
}

const writeExisting: AttributeWriter = (file, data) => {
  const fd = fs.openSync(file, fs.constants.O_WRONLY);
  try {
    fs.writeSync(fd, data);
  } finally {
    fs.closeSync(fd);
  }
};

function closest(name: string, names: readonly string[]): string {
  const hit = names.find((n) => n.toLowerCase() === name.toLowerCase());
  if (hit) return ` Did you mean "${hit}"?`;
  return names.length === 0 ? " None is registered." : ` Known: ${names.join(", ")}.`;
}

function kernelRefused(action: string, file: string, e: unknown): MdevPciError {
  const code = errnoCode(e);
  const why =
    code === "EACCES" || code === "EPERM"
      ? "permission denied (writing sysfs needs root)"
      : code === "EBUSY"
        ? "the device is in use (close it in the VM or process that holds it first)"
        : code === "EINVAL"
          ? "the parent driver refused it (EINVAL)"
          : code === "EDQUOT" || code === "ENOSPC"
            ? "the parent has no room for another instance"
            : (code ?? String(e));
  return new MdevPciError("Kernel", `${action}: ${why} (writing ${file})`, {
    path: file,
    cause: e,
    ...(code === undefined ? {} : { code }),
  });
}

/**
 * Creates a mediated device the way `mdevctl start` does: checks the parent, the type and available_instances, then
 * writes the UUID (36 bytes, no newline) to the type's `create`. Returns the new device as the scan would see it.
 */
export function createMdev(request: CreateMdevRequest, options?: MdevWriteOptions): PciDevice {
  const uuid = parseUuid(request.uuid ?? randomUuid());
  const sysfsRoot = options?.sysfsRoot ?? "/sys";
  const busDir = path.join(sysfsRoot, "class", "mdev_bus");
  if (!exists(path.join(busDir, request.parent))) {
    throw new MdevPciError(
      "NoSuchParent",
      `no mdev parent "${request.parent}" (${path.join(busDir, request.parent)} does not exist).${closest(request.parent, listDir(busDir))}`,
      { path: path.join(busDir, request.parent) },
    );
  }
  const problems: MdevPciError[] = [];
  const parent = readMdevParent(request.parent, { sysfsRoot, problems });
  const type = parent.types.find((t) => t.id === request.type);
  const typePath = path.join(parent.sysfsPath, "mdev_supported_types", request.type);
  // A type that exists but cannot be read says why, rather than that there is no such type.
  const broken = problems.find((p) => p.path?.startsWith(`${typePath}${path.sep}`));
  if (type === undefined && broken !== undefined) throw broken;
  if (type === undefined) {
    throw new MdevPciError(
      "NoSuchType",
      `${request.parent} has no mdev type "${request.type}".${closest(
        request.type,
        parent.types.map((t) => t.id),
      )}`,
      { path: typePath },
    );
  }
  const typeDir = path.join(parent.sysfsPath, "mdev_supported_types", type.id);
  if (type.availableInstances === 0) {
    throw new MdevPciError("NoInstances", `${request.parent} ${type.id}: no available instances left`, {
      path: path.join(typeDir, "available_instances"),
    });
  }
  const link = path.join(sysfsRoot, "bus", "mdev", "devices", uuid);
  if (exists(link)) {
    throw new MdevPciError("AlreadyExists", `an mdev with UUID ${uuid} already exists (${link})`, {
      path: link,
      code: "EEXIST",
    });
  }
  const create = path.join(typeDir, "create");
  try {
    (options?.writeAttribute ?? writeExisting)(create, uuid);
  } catch (e) {
    if (errnoCode(e) === "EEXIST") {
      throw new MdevPciError("AlreadyExists", `an mdev with UUID ${uuid} already exists (the kernel said EEXIST)`, {
        path: create,
        code: "EEXIST",
        cause: e,
      });
    }
    throw kernelRefused(`creating ${uuid} of type ${type.id} on ${request.parent}`, create, e);
  }
  try {
    return readMdev(uuid, { sysfsRoot });
  } catch (e) {
    if (isMdevPciError(e) && e.reason === "NoSuchDevice") {
      throw new MdevPciError("Kernel", `wrote ${uuid} to ${create}, but no device ${link} appeared`, {
        path: create,
        cause: e,
      });
    }
    throw e;
  }
}

/** Removes a mediated device the way `mdevctl stop` does: writes "1" to its `remove`. */
export function removeMdev(uuid: string, options?: MdevWriteOptions): void {
  const id = parseUuid(uuid);
  const sysfsRoot = options?.sysfsRoot ?? "/sys";
  const device = readMdev(id, { sysfsRoot });
  const remove = path.join(device.sysfsPath, "remove");
  if (!exists(remove)) {
    throw new MdevPciError("MissingAttribute", `${remove} is missing, so ${id} cannot be removed`, { path: remove });
  }
  try {
    (options?.writeAttribute ?? writeExisting)(remove, "1");
  } catch (e) {
    throw kernelRefused(`removing ${id}`, remove, e);
  }
  if (exists(path.join(sysfsRoot, "bus", "mdev", "devices", id))) {
    throw new MdevPciError("Kernel", `wrote 1 to ${remove}, but ${id} is still there`, { path: remove });
  }
}
