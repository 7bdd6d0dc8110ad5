import * as path from "node:path";
import { formatAddress, type PciAddress, pciAddress } from "@emu/vfio-device";
import { isMdevPciError, MdevPciError } from "./errors.js";
import {
  exists,
  linkBasename,
  listDir,
  oneLine,
  readAttribute,
  readDecimal,
  readHex,
  readOptionalAttribute,
  readOptionalDecimal,
  readOptionalHex,
  requireLinkBasename,
  resolveLink,
} from "./internal/sysfs-read.js";
import type { MdevParent, MdevType, PciDevice, PciResource } from "./pci-device.js";
import { IORESOURCE } from "./pci-device.js";
import { isCanonicalUuid, parseUuid } from "./uuid.js";

/** Where sysfs is mounted: `/sys` on a host; a fixture's `sys` directory in tests or a container's bind mount. */
export interface SysfsOptions {
  readonly sysfsRoot?: string;
}

export const DEFAULT_SYSFS_ROOT = "/sys";

/** Everything a scan found, plus what it could not read (one tagged error per bad entry; the scan goes on). */
export interface SysfsScan {
  readonly sysfsRoot: string;
  /** Physical PCI functions (/sys/bus/pci/devices), sorted by address. */
  readonly devices: readonly PciDevice[];
  /** mdev parents (/sys/class/mdev_bus), sorted by name, with their types sorted by id. */
  readonly parents: readonly MdevParent[];
  /** Mediated devices (/sys/bus/mdev/devices) of every device_api, sorted by parent then UUID. */
  readonly mdevs: readonly PciDevice[];
  readonly problems: readonly MdevPciError[];
}

const BDF_NAME = /^([0-9a-f]{4,8}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/;

/** Parses a sysfs PCI device name (`%04x:%02x:%02x.%d`, domains above 0xffff allowed). */
export function parseBdfName(name: string, where?: string): PciAddress {
  const m = BDF_NAME.exec(name);
  if (!m) {
    throw new MdevPciError(
      "MalformedSysfs",
      `${where ?? name}: "${name}" is not a PCI address of the form dddd:bb:dd.f`,
      where === undefined ? {} : { path: where },
    );
  }
  return pciAddress(
    Number.parseInt(m[1]!, 16),
    Number.parseInt(m[2]!, 16),
    Number.parseInt(m[3]!, 16),
    Number.parseInt(m[4]!, 10),
  );
}

function root(options?: SysfsOptions): string {
  return options?.sysfsRoot ?? DEFAULT_SYSFS_ROOT;
}

/** Parses the text of a `resource` file: `0x%016llx 0x%016llx 0x%016llx` per line. */
export function parseResourceFile(file: string, text: string): PciResource[] {
  const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
  if (text === "" || lines.length === 0) {
    throw new MdevPciError("MalformedSysfs", `${file} is empty (expected one "start end flags" line per resource)`, {
      path: file,
    });
  }
  return lines.map((line, index) => {
    const m = /^0x([0-9a-fA-F]{1,16}) 0x([0-9a-fA-F]{1,16}) 0x([0-9a-fA-F]{1,16})$/.exec(line);
    if (!m) {
      throw new MdevPciError(
        "MalformedSysfs",
        `${file} line ${index + 1}: expected "0x<start> 0x<end> 0x<flags>", found ${JSON.stringify(line)}`,
        { path: file },
      );
    }
    const start = BigInt(`0x${m[1]}`);
    const end = BigInt(`0x${m[2]}`);
    const flags = BigInt(`0x${m[3]}`);
    const size = end > start ? end - start + 1n : 0n;
    const kind = size === 0n ? "unused" : flags & IORESOURCE.IO ? "io" : flags & IORESOURCE.MEM ? "memory" : "unused";
    return {
      index,
      start,
      end,
      flags,
      size,
      kind,
      prefetchable: (flags & IORESOURCE.PREFETCH) !== 0n,
      is64: (flags & IORESOURCE.MEM_64) !== 0n,
    } satisfies PciResource;
  });
}

function groupNumber(link: string): number | undefined {
  const name = linkBasename(link);
  if (name === undefined) return undefined;
  if (!/^\d+$/.test(name)) {
    throw new MdevPciError("MalformedSysfs", `${link} points to group "${name}", which is not a number`, {
      path: link,
    });
  }
  return Number.parseInt(name, 10);
}

function vfioCdev(dir: string): string | undefined {
  return listDir(path.join(dir, "vfio-dev")).find((n) => /^vfio\d+$/.test(n));
}

function numaNode(dir: string): number | undefined {
  const n = readOptionalDecimal(path.join(dir, "numa_node"), true);
  return n === undefined || n < 0 ? undefined : n;
}

/** Reads one physical PCI function from `<sysfs>/bus/pci/devices/<bdf>`. */
export function readPciDevice(bdf: string | PciAddress, options?: SysfsOptions): PciDevice {
  const name = typeof bdf === "string" ? bdf : formatAddress(bdf);
  const link = path.join(root(options), "bus", "pci", "devices", name);
  if (!exists(link)) {
    throw new MdevPciError("NoSuchDevice", `no PCI device ${name} (${link} does not exist)`, { path: link });
  }
  const address = parseBdfName(name, link);
  const dir = resolveLink(link);
  const f = (n: string) => path.join(dir, n);
  const subsystemVendorId = readOptionalHex(f("subsystem_vendor"), 16);
  const subsystemDeviceId = readOptionalHex(f("subsystem_device"), 16);
  const revision = readOptionalHex(f("revision"), 8);
  const driver = linkBasename(f("driver"));
  const iommuGroup = groupNumber(f("iommu_group"));
  const numa = numaNode(dir);
  const cdev = vfioCdev(dir);
  const physfnName = linkBasename(f("physfn"));
  const virtfns = listDir(dir)
    .filter((n) => /^virtfn\d+$/.test(n))
    .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))
    .map((n) => parseBdfName(requireLinkBasename(f(n), "SR-IOV VF link"), f(n)));
  return {
    address,
    name,
    sysfsPath: dir,
    ids: {
      vendorId: readHex(f("vendor"), 16),
      deviceId: readHex(f("device"), 16),
      classCode: readHex(f("class"), 24),
      ...(subsystemVendorId === undefined ? {} : { subsystemVendorId }),
      ...(subsystemDeviceId === undefined ? {} : { subsystemDeviceId }),
      ...(revision === undefined ? {} : { revision }),
    },
    irq: readDecimal(f("irq"), false),
    resources: parseResourceFile(f("resource"), readAttribute(f("resource"))),
    ...(driver === undefined ? {} : { driver }),
    ...(iommuGroup === undefined ? {} : { iommuGroup }),
    ...(numa === undefined ? {} : { numaNode: numa }),
    ...(cdev === undefined ? {} : { vfioCdev: cdev }),
    mdevParent: exists(f("mdev_supported_types")),
    ...(physfnName === undefined ? {} : { physfn: parseBdfName(physfnName, f("physfn")) }),
    virtfns,
  };
}

/** Reads one mdev type directory. */
function readMdevType(parent: string, typeDir: string): MdevType {
  const id = path.basename(typeDir);
  const f = (n: string) => path.join(typeDir, n);
  const nameText = readOptionalAttribute(f("name"));
  const name = nameText === undefined ? undefined : oneLine(f("name"), nameText).trim();
  const descText = readOptionalAttribute(f("description"));
  const description = descText?.trim();
  const deviceApi = oneLine(f("device_api"), readAttribute(f("device_api"))).trim();
  if (deviceApi === "") {
    throw new MdevPciError("MalformedSysfs", `${f("device_api")} is empty (expected e.g. "vfio-pci")`, {
      path: f("device_api"),
    });
  }
  return {
    id,
    parent,
    ...(name === undefined || name === "" ? {} : { name }),
    deviceApi,
    availableInstances: readDecimal(f("available_instances"), false),
    ...(description === undefined ? {} : { description }),
    instances: listDir(f("devices")).filter(isCanonicalUuid),
  };
}

/** Reads one mdev parent from `<sysfs>/class/mdev_bus/<name>`. */
export function readMdevParent(name: string, options?: SysfsOptions): MdevParent {
  const link = path.join(root(options), "class", "mdev_bus", name);
  if (!exists(link)) {
    throw new MdevPciError("NoSuchParent", `no mdev parent "${name}" (${link} does not exist)`, { path: link });
  }
  const dir = resolveLink(link);
  const typesDir = path.join(dir, "mdev_supported_types");
  if (!exists(typesDir)) {
    throw new MdevPciError("MissingAttribute", `${typesDir} is missing: ${name} lists no mdev types`, {
      path: typesDir,
    });
  }
  const types = listDir(typesDir).map((t) => readMdevType(name, path.join(typesDir, t)));
  const address = BDF_NAME.test(name) ? parseBdfName(name) : undefined;
  return { name, sysfsPath: dir, ...(address === undefined ? {} : { address }), types };
}

/** Reads one mediated device from `<sysfs>/bus/mdev/devices/<uuid>`. */
export function readMdev(uuid: string, options?: SysfsOptions): PciDevice {
  const id = parseUuid(uuid);
  const link = path.join(root(options), "bus", "mdev", "devices", id);
  if (!exists(link)) {
    throw new MdevPciError("NoSuchDevice", `no mediated device ${id} (${link} does not exist)`, { path: link });
  }
  const dir = resolveLink(link);
  const f = (n: string) => path.join(dir, n);
  const parent = path.basename(path.dirname(dir));
  const type = requireLinkBasename(f("mdev_type"), "every mdev links to its type");
  const deviceApi = oneLine(f("mdev_type/device_api"), readAttribute(f("mdev_type/device_api"))).trim();
  const driver = linkBasename(f("driver"));
  const iommuGroup = groupNumber(f("iommu_group"));
  const cdev = vfioCdev(dir);
  const numa = numaNode(dir);
  const parentAddress = BDF_NAME.test(parent) ? parseBdfName(parent) : undefined;
  return {
    address: { kind: "mdev", uuid: id },
    name: id,
    sysfsPath: dir,
    resources: [],
    ...(driver === undefined ? {} : { driver }),
    ...(iommuGroup === undefined ? {} : { iommuGroup }),
    ...(numa === undefined ? {} : { numaNode: numa }),
    ...(cdev === undefined ? {} : { vfioCdev: cdev }),
    mdevParent: false,
    virtfns: [],
    mdev: { parent, ...(parentAddress === undefined ? {} : { parentAddress }), type, deviceApi },
  };
}

function collect<T>(items: readonly string[], read: (name: string) => T, problems: MdevPciError[]): T[] {
  const out: T[] = [];
  for (const item of items) {
    try {
      out.push(read(item));
    } catch (e) {
      if (!isMdevPciError(e)) throw e;
      problems.push(e);
    }
  }
  return out;
}

function compareAddress(a: PciAddress, b: PciAddress): number {
  return a.domain - b.domain || a.bus - b.bus || a.device - b.device || a.function - b.function;
}

/**
 * Scans sysfs the way lspci and mdevctl do: physical functions from bus/pci/devices, parents from class/mdev_bus,
 * mediated devices from bus/mdev/devices. An entry that cannot be read (malformed attribute, dangling link, a name
 * that is not a BDF or UUID) is reported in `problems` and left out; with `strict` the first one is thrown.
 */
export function scanSysfs(options?: SysfsOptions & { readonly strict?: boolean }): SysfsScan {
  const sysfsRoot = root(options);
  const opts = { sysfsRoot };
  const problems: MdevPciError[] = [];
  if (!exists(path.join(sysfsRoot, "bus"))) {
    throw new MdevPciError("NoSuchDevice", `${sysfsRoot} does not look like sysfs (no ${sysfsRoot}/bus)`, {
      path: sysfsRoot,
    });
  }
  const devices = collect(
    listDir(path.join(sysfsRoot, "bus", "pci", "devices")),
    (n) => readPciDevice(n, opts),
    problems,
  ).sort((a, b) => compareAddress(a.address as PciAddress, b.address as PciAddress));
  const parents = collect(listDir(path.join(sysfsRoot, "class", "mdev_bus")), (n) => readMdevParent(n, opts), problems);
  const mdevs = collect(
    listDir(path.join(sysfsRoot, "bus", "mdev", "devices")),
    (n) => {
      if (!isCanonicalUuid(n)) {
        throw new MdevPciError(
          "BadUuid",
          `${path.join(sysfsRoot, "bus", "mdev", "devices", n)}: "${n}" is not a lower-case UUID, so it is not an mdev`,
          { path: path.join(sysfsRoot, "bus", "mdev", "devices", n) },
        );
      }
      return readMdev(n, opts);
    },
    problems,
  ).sort((a, b) => {
    const pa = a.mdev?.parent ?? "";
    const pb = b.mdev?.parent ?? "";
    return pa < pb ? -1 : pa > pb ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  if (options?.strict && problems.length > 0) throw problems[0];
  return { sysfsRoot, devices, parents, mdevs, problems };
}
