import * as fs from "node:fs";
import * as path from "node:path";
import { formatAddress, type PciAddress, type PciIds, pciAddress } from "@emu/vfio-device";
import { isMdevPciError, MdevPciError } from "./errors.js";
import {
  exists,
  linkBasename,
  listDir,
  oneLine,
  parseHexAttribute,
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
  /**
   * The fields of listed devices that are unknown because their attribute could not be read, by device name (BDF or
   * UUID): attribute paths relative to the device's directory, such as "driver", "numa_node", "class" or
   * "mdev_type/device_api". Each is also in `problems`. A device with none is not in the map.
   */
  readonly unknownFields: ReadonlyMap<string, readonly string[]>;
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

/** The NUMA node as lspci shows it: absent when the file is (no NUMA) or says -1, any other value as written. */
function numaNode(dir: string): number | undefined {
  const n = readOptionalDecimal(path.join(dir, "numa_node"), true);
  return n === -1 ? undefined : n;
}

/** A type's `device_api`: one non-empty line. */
function readDeviceApi(file: string): string {
  const api = oneLine(file, readAttribute(file)).trim();
  if (api === "")
    throw new MdevPciError("MalformedSysfs", `${file} is empty (expected e.g. "vfio-pci")`, { path: file });
  return api;
}

/** How a read treats an attribute it cannot read. */
export interface SysfsReadOptions extends SysfsOptions {
  /** Throw the first bad attribute, optional ones included, instead of reporting it. */
  readonly strict?: boolean;
  /**
   * Where a bad optional attribute is reported (a dangling `driver` or `iommu_group` link, a garbage `numa_node`, a
   * missing `irq` or `resource`, a malformed `class`, an mdev type that cannot be read...), once per device and
   * attribute. The device is still returned, with that one field unknown: left out, `[]` for `resources`,
   * {@link UNKNOWN_CLASS_CODE} for the class, `""` for an mdev's `deviceApi`. Without `problems` (and without
   * `strict`) such problems are not reported.
   */
  readonly problems?: MdevPciError[];
}

/** The class code of a device whose `class` attribute exists but cannot be parsed (the bus's "unknown" class). */
export const UNKNOWN_CLASS_CODE = 0xffffff;

/** Reads one optional field: a tagged error is reported (or thrown under `strict`) and the field is unknown. */
function lenient<T>(options: SysfsReadOptions | undefined, read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if (!isMdevPciError(e) || options?.strict) throw e;
    options?.problems?.push(e);
    return undefined;
  }
}

/**
 * The IDs of a function. vendor, device and class must exist (lspci leaves out a device without them too); a
 * malformed class, subsystem or revision makes that one ID unknown. A missing `subsystem_device` next to a
 * `subsystem_vendor` reads as 0, as lspci shows it.
 */
function readIds(dir: string, options: SysfsReadOptions | undefined): PciIds {
  const f = (n: string) => path.join(dir, n);
  const opt = <T>(read: () => T) => lenient(options, read);
  const vendorId = readHex(f("vendor"), 16);
  const deviceId = readHex(f("device"), 16);
  const classText = readAttribute(f("class"));
  const classCode = opt(() => parseHexAttribute(f("class"), classText, 24)) ?? UNKNOWN_CLASS_CODE;
  const subsystemVendorId = opt(() => readOptionalHex(f("subsystem_vendor"), 16));
  const subsystemDeviceId = exists(f("subsystem_device"))
    ? opt(() => readHex(f("subsystem_device"), 16))
    : exists(f("subsystem_vendor"))
      ? 0
      : undefined;
  const revision = opt(() => readOptionalHex(f("revision"), 8));
  return {
    vendorId,
    deviceId,
    classCode,
    ...(subsystemVendorId === undefined ? {} : { subsystemVendorId }),
    ...(subsystemDeviceId === undefined ? {} : { subsystemDeviceId }),
    ...(revision === undefined ? {} : { revision }),
  };
}

/** The `virtfnN` links of a PF, in VF order; a link that cannot be read is reported and left out. */
function readVirtfns(dir: string, options: SysfsReadOptions | undefined): PciAddress[] {
  return listDir(dir)
    .filter((n) => /^virtfn\d+$/.test(n))
    .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))
    .flatMap((n) => {
      const link = path.join(dir, n);
      const vf = lenient(options, () => parseBdfName(requireLinkBasename(link, "SR-IOV VF link"), link));
      return vf === undefined ? [] : [vf];
    });
}

/**
 * Reads one physical PCI function from `<sysfs>/bus/pci/devices/<bdf>`. Only a missing or malformed `vendor` or
 * `device`, a missing `class` or a link that does not resolve make it unreadable; any other bad attribute leaves that
 * field unknown and is reported through `options.problems` (see {@link SysfsReadOptions}).
 */
export function readPciDevice(bdf: string | PciAddress, options?: SysfsReadOptions): PciDevice {
  const name = typeof bdf === "string" ? bdf : formatAddress(bdf);
  const link = path.join(root(options), "bus", "pci", "devices", name);
  if (!exists(link)) {
    throw new MdevPciError("NoSuchDevice", `no PCI device ${name} (${link} does not exist)`, { path: link });
  }
  const address = parseBdfName(name, link);
  const dir = resolveLink(link);
  const f = (n: string) => path.join(dir, n);
  const opt = <T>(read: () => T) => lenient(options, read);
  const ids = readIds(dir, options);
  const irq = opt(() => readDecimal(f("irq"), false));
  const resources = opt(() => parseResourceFile(f("resource"), readAttribute(f("resource")))) ?? [];
  const driver = opt(() => linkBasename(f("driver")));
  const iommuGroup = opt(() => groupNumber(f("iommu_group")));
  const numa = opt(() => numaNode(dir));
  const cdev = opt(() => vfioCdev(dir));
  const physfn = opt(() => {
    const pf = linkBasename(f("physfn"));
    return pf === undefined ? undefined : parseBdfName(pf, f("physfn"));
  });
  return {
    address,
    name,
    sysfsPath: dir,
    ids,
    ...(irq === undefined ? {} : { irq }),
    resources,
    ...(driver === undefined ? {} : { driver }),
    ...(iommuGroup === undefined ? {} : { iommuGroup }),
    ...(numa === undefined ? {} : { numaNode: numa }),
    ...(cdev === undefined ? {} : { vfioCdev: cdev }),
    mdevParent: exists(f("mdev_supported_types")),
    ...(physfn === undefined ? {} : { physfn }),
    virtfns: readVirtfns(dir, options),
  };
}

/** Reads one mdev type directory; `device_api` and `available_instances` must be readable, the rest may not be. */
function readMdevType(parent: string, typeDir: string, options: SysfsReadOptions | undefined): MdevType {
  const id = path.basename(typeDir);
  const f = (n: string) => path.join(typeDir, n);
  const opt = <T>(read: () => T) => lenient(options, read);
  const deviceApi = readDeviceApi(f("device_api"));
  const availableInstances = readDecimal(f("available_instances"), false);
  const name = opt(() => {
    const text = readOptionalAttribute(f("name"));
    return text === undefined ? undefined : oneLine(f("name"), text).trim();
  });
  const description = opt(() => readOptionalAttribute(f("description")))?.trim();
  return {
    id,
    parent,
    ...(name === undefined || name === "" ? {} : { name }),
    deviceApi,
    availableInstances,
    ...(description === undefined ? {} : { description }),
    instances: (opt(() => listDir(f("devices"))) ?? []).filter(isCanonicalUuid),
  };
}

/**
 * Reads one mdev parent from `<sysfs>/class/mdev_bus/<name>`. A type that cannot be read is reported through
 * `options.problems` and left out; the parent's other types are not affected.
 */
export function readMdevParent(name: string, options?: SysfsReadOptions): MdevParent {
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
  const types = listDir(typesDir).flatMap((t) => {
    const type = lenient(options, () => readMdevType(name, path.join(typesDir, t), options));
    return type === undefined ? [] : [type];
  });
  const address = BDF_NAME.test(name) ? parseBdfName(name) : undefined;
  return { name, sysfsPath: dir, ...(address === undefined ? {} : { address }), types };
}

/**
 * Reads one mediated device from `<sysfs>/bus/mdev/devices/<uuid>`. It needs its `mdev_type` link; whatever else
 * cannot be read (its type's `device_api`, its driver or IOMMU group link) is reported and left unknown.
 */
export function readMdev(uuid: string, options?: SysfsReadOptions): PciDevice {
  const id = parseUuid(uuid);
  const link = path.join(root(options), "bus", "mdev", "devices", id);
  if (!exists(link)) {
    throw new MdevPciError("NoSuchDevice", `no mediated device ${id} (${link} does not exist)`, { path: link });
  }
  const dir = resolveLink(link);
  const f = (n: string) => path.join(dir, n);
  const opt = <T>(read: () => T) => lenient(options, read);
  const parent = path.basename(path.dirname(dir));
  const type = requireLinkBasename(f("mdev_type"), "every mdev links to its type");
  const deviceApi = opt(() => readDeviceApi(f("mdev_type/device_api"))) ?? "";
  const driver = opt(() => linkBasename(f("driver")));
  const iommuGroup = opt(() => groupNumber(f("iommu_group")));
  const cdev = opt(() => vfioCdev(dir));
  const numa = opt(() => numaNode(dir));
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

/** The file a problem is about, with its directory's links resolved: one bad file seen through two links is one. */
function problemKey(p: MdevPciError): string {
  if (p.path === undefined) return `${p.reason}\0${p.message}`;
  let dir = path.dirname(p.path);
  try {
    dir = fs.realpathSync(dir);
  } catch {}
  return `${p.reason}\0${path.join(dir, path.basename(p.path))}`;
}

function once(problems: readonly MdevPciError[]): MdevPciError[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = problemKey(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Scans sysfs the way lspci and mdevctl do: physical functions from bus/pci/devices, parents from class/mdev_bus,
 * mediated devices from bus/mdev/devices. An entry that cannot be read at all (a missing `vendor`, a dangling device
 * link, a name that is not a BDF or UUID, an mdev type without `device_api`) is reported in `problems` and left out;
 * a bad optional attribute leaves the device listed with that field unknown and is reported once (see
 * {@link SysfsReadOptions}). With `strict` the first problem of either kind is thrown.
 */
export function scanSysfs(options?: SysfsOptions & { readonly strict?: boolean }): SysfsScan {
  const sysfsRoot = root(options);
  const found: MdevPciError[] = [];
  const opts: SysfsReadOptions = { sysfsRoot, strict: options?.strict ?? false, problems: found };
  const unknownFields = new Map<string, readonly string[]>();
  const tracked = (read: () => PciDevice): PciDevice => {
    const before = found.length;
    const d = read();
    const fields = found
      .slice(before)
      .map((p) => (p.path === undefined ? p.message : path.relative(d.sysfsPath, p.path)));
    if (fields.length > 0) unknownFields.set(d.name, [...new Set(fields)]);
    return d;
  };
  if (!exists(path.join(sysfsRoot, "bus"))) {
    throw new MdevPciError("NoSuchDevice", `${sysfsRoot} does not look like sysfs (no ${sysfsRoot}/bus)`, {
      path: sysfsRoot,
    });
  }
  const devices = collect(
    listDir(path.join(sysfsRoot, "bus", "pci", "devices")),
    (n) => tracked(() => readPciDevice(n, opts)),
    found,
  ).sort((a, b) => compareAddress(a.address as PciAddress, b.address as PciAddress));
  const parents = collect(listDir(path.join(sysfsRoot, "class", "mdev_bus")), (n) => readMdevParent(n, opts), found);
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
      return tracked(() => readMdev(n, opts));
    },
    found,
  ).sort((a, b) => {
    const pa = a.mdev?.parent ?? "";
    const pb = b.mdev?.parent ?? "";
    return pa < pb ? -1 : pa > pb ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  const problems = once(found);
  if (options?.strict && problems.length > 0) throw problems[0];
  return { sysfsRoot, devices, parents, mdevs, problems, unknownFields };
}
