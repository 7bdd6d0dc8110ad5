// Writes a sysfs tree from a FixtureSpec (see sysfs-fixture-spec.ts): PCI functions, mdev parents and their types,
// mediated devices, with the kernel's file formats and relative symlinks at their real depths.
import * as fs from "node:fs";
import * as path from "node:path";
import {
  defaultSpec,
  type FixtureSpec,
  type MdevSpec,
  type MdevTypeSpec,
  type PciFunctionSpec,
  type VirtualParentSpec,
} from "./sysfs-fixture-spec.js";

const hex = (n: number | bigint, w: number) => n.toString(16).padStart(w, "0");

function write(file: string, text: string | Uint8Array, mode = 0o644): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode });
}

/** A relative symlink, as sysfs makes them (the depth follows the real position in the tree). */
export function link(linkPath: string, target: string): void {
  fs.mkdirSync(path.dirname(linkPath), { recursive: true });
  fs.mkdirSync(target, { recursive: true });
  fs.symlinkSync(path.relative(path.dirname(linkPath), target), linkPath);
}

function defaultDevicePath(bdf: string): string {
  const [domain, bus] = bdf.split(":");
  return `pci${domain}:${bus}/${bdf}`;
}

/** The config header a device with these IDs and BARs would show (256 bytes, conventional PCI). */
export function configSpace(spec: PciFunctionSpec): Uint8Array {
  const b = new Uint8Array(256);
  const v = new DataView(b.buffer);
  v.setUint16(0x00, spec.vendor, true);
  v.setUint16(0x02, spec.device, true);
  v.setUint16(0x04, 0x0406, true); // MEM | bus master | INTx disable
  v.setUint16(0x06, 0x0010, true); // capability list
  v.setUint32(0x08, ((spec.classCode << 8) | spec.revision) >>> 0, true);
  b[0x0e] = spec.headerType ?? 0;
  if ((spec.headerType ?? 0) === 0) {
    for (let i = 0; i < 6; i++) {
      const r = spec.resources[i];
      if (!r || r[1] <= r[0]) continue;
      const [start, , flags] = r;
      const low = flags & 0x100n ? Number(start & 0xfffffffcn) | 1 : Number(start & 0xfffffff0n) | Number(flags & 0xfn);
      v.setUint32(0x10 + 4 * i, low >>> 0, true);
    }
    v.setUint16(0x2c, spec.subsystemVendor ?? 0, true);
    v.setUint16(0x2e, spec.subsystemDevice ?? 0, true);
  }
  b[0x3c] = spec.irq & 0xff;
  b[0x3d] = spec.irq ? 1 : 0;
  return b;
}

function modalias(s: PciFunctionSpec): string {
  const u = (n: number) => hex(n, 8).toUpperCase();
  const c = (shift: number) => hex((s.classCode >> shift) & 0xff, 2).toUpperCase();
  return `pci:v${u(s.vendor)}d${u(s.device)}sv${u(s.subsystemVendor ?? 0)}sd${u(s.subsystemDevice ?? 0)}bc${c(16)}sc${c(8)}i${c(0)}\n`;
}

function writeTypes(sys: string, dir: string, types: readonly MdevTypeSpec[]): void {
  for (const t of types) {
    const td = path.join(dir, "mdev_supported_types", t.id);
    if (t.name !== undefined) write(path.join(td, "name"), `${t.name}\n`, 0o444);
    write(path.join(td, "device_api"), `${t.deviceApi}\n`, 0o444);
    write(path.join(td, "available_instances"), `${t.availableInstances}\n`, 0o444);
    if (t.description !== undefined) write(path.join(td, "description"), t.description, 0o444);
    write(path.join(td, "create"), "", 0o200);
    fs.mkdirSync(path.join(td, "devices"), { recursive: true });
  }
  void sys;
}

function addGroupMember(sys: string, group: number, name: string, deviceDir: string): void {
  link(path.join(sys, "kernel", "iommu_groups", String(group), "devices", name), deviceDir);
}

function writeVfioDev(dir: string, cdev: string): void {
  write(path.join(dir, "vfio-dev", cdev, "dev"), `511:${cdev.slice(4)}\n`, 0o444);
  write(
    path.join(dir, "vfio-dev", cdev, "uevent"),
    `MAJOR=511\nMINOR=${cdev.slice(4)}\nDEVNAME=vfio/devices/${cdev}\n`,
    0o644,
  );
}

/** Adds one physical PCI function. */
export function addPciFunction(sys: string, s: PciFunctionSpec): string {
  const dir = path.join(sys, "devices", s.devicePath ?? defaultDevicePath(s.bdf));
  const f = (n: string) => path.join(dir, n);
  fs.mkdirSync(dir, { recursive: true });
  write(f("vendor"), `0x${hex(s.vendor, 4)}\n`, 0o444);
  write(f("device"), `0x${hex(s.device, 4)}\n`, 0o444);
  write(f("subsystem_vendor"), `0x${hex(s.subsystemVendor ?? 0, 4)}\n`, 0o444);
  write(f("subsystem_device"), `0x${hex(s.subsystemDevice ?? 0, 4)}\n`, 0o444);
  write(f("class"), `0x${hex(s.classCode, 6)}\n`, 0o444);
  write(f("revision"), `0x${hex(s.revision, 2)}\n`, 0o444);
  write(f("irq"), `${s.irq}\n`, 0o444);
  if (s.numaNode !== undefined) write(f("numa_node"), `${s.numaNode}\n`);
  write(f("enable"), "1\n");
  write(f("modalias"), modalias(s), 0o444);
  write(f("driver_override"), "(null)\n");
  write(f("local_cpulist"), "0-3\n", 0o444);
  write(
    f("resource"),
    s.resources.map(([a, b, c]) => `0x${hex(a, 16)} 0x${hex(b, 16)} 0x${hex(c, 16)}\n`).join(""),
    0o444,
  );
  write(f("config"), configSpace(s));
  const ue = [
    ...(s.driver ? [`DRIVER=${s.driver}`] : []),
    `PCI_CLASS=${s.classCode.toString(16).toUpperCase()}`,
    `PCI_ID=${hex(s.vendor, 4).toUpperCase()}:${hex(s.device, 4).toUpperCase()}`,
    `PCI_SUBSYS_ID=${hex(s.subsystemVendor ?? 0, 4).toUpperCase()}:${hex(s.subsystemDevice ?? 0, 4).toUpperCase()}`,
    `PCI_SLOT_NAME=${s.bdf}`,
    `MODALIAS=${modalias(s).trim()}`,
  ];
  write(f("uevent"), `${ue.join("\n")}\n`);
  link(f("subsystem"), path.join(sys, "bus", "pci"));
  link(path.join(sys, "bus", "pci", "devices", s.bdf), dir);
  if (s.driver) {
    link(f("driver"), path.join(sys, "bus", "pci", "drivers", s.driver));
    link(path.join(sys, "bus", "pci", "drivers", s.driver, s.bdf), dir);
  }
  if (s.iommuGroup !== undefined) {
    link(f("iommu_group"), path.join(sys, "kernel", "iommu_groups", String(s.iommuGroup)));
    addGroupMember(sys, s.iommuGroup, s.bdf, dir);
  }
  if (s.vfioCdev) writeVfioDev(dir, s.vfioCdev);
  if (s.mdevTypes) {
    writeTypes(sys, dir, s.mdevTypes);
    link(path.join(sys, "class", "mdev_bus", s.bdf), dir);
  }
  return dir;
}

/** Adds a virtual mdev parent such as mtty. */
export function addVirtualParent(sys: string, p: VirtualParentSpec): string {
  const dir = path.join(sys, "devices", p.devicePath);
  fs.mkdirSync(dir, { recursive: true });
  write(path.join(dir, "uevent"), "MDEV_STATE=registered\n");
  writeTypes(sys, dir, p.types);
  link(path.join(sys, "class", "mdev_bus", p.name), dir);
  return dir;
}

/** Adds one mediated device below its parent, as the kernel does on a write to `create`. */
export function addMdev(sys: string, m: MdevSpec): string {
  const parentDir = fs.realpathSync(path.join(sys, "class", "mdev_bus", m.parent));
  const dir = path.join(parentDir, m.uuid);
  const f = (n: string) => path.join(dir, n);
  fs.mkdirSync(dir);
  write(f("remove"), "", 0o200);
  write(f("uevent"), m.driver ? `DRIVER=${m.driver}\n` : "");
  for (const [k, v] of Object.entries(m.vendorAttrs ?? {})) write(path.join(dir, "vendor", k), v, 0o444);
  const typeDir = path.join(parentDir, "mdev_supported_types", m.type);
  link(f("mdev_type"), typeDir);
  link(path.join(typeDir, "devices", m.uuid), dir);
  link(f("subsystem"), path.join(sys, "bus", "mdev"));
  link(path.join(sys, "bus", "mdev", "devices", m.uuid), dir);
  if (m.driver) {
    link(f("driver"), path.join(sys, "bus", "mdev", "drivers", m.driver));
    link(path.join(sys, "bus", "mdev", "drivers", m.driver, m.uuid), dir);
  }
  link(f("iommu_group"), path.join(sys, "kernel", "iommu_groups", String(m.iommuGroup)));
  write(path.join(sys, "kernel", "iommu_groups", String(m.iommuGroup), "name"), "vfio-noiommu\n", 0o444);
  addGroupMember(sys, m.iommuGroup, m.uuid, dir);
  if (m.vfioCdev) writeVfioDev(dir, m.vfioCdev);
  return dir;
}

/** Removes one mediated device, as the kernel does on a write to its `remove`. */
export function removeMdevFromTree(sys: string, uuid: string): void {
  const link_ = path.join(sys, "bus", "mdev", "devices", uuid);
  const dir = fs.realpathSync(link_);
  const typeDir = fs.realpathSync(path.join(dir, "mdev_type"));
  const group = path.basename(fs.readlinkSync(path.join(dir, "iommu_group")));
  let driver: string | undefined;
  try {
    driver = path.basename(fs.readlinkSync(path.join(dir, "driver")));
  } catch {}
  fs.rmSync(path.join(typeDir, "devices", uuid));
  fs.rmSync(link_);
  if (driver) fs.rmSync(path.join(sys, "bus", "mdev", "drivers", driver, uuid));
  fs.rmSync(path.join(sys, "kernel", "iommu_groups", group), { recursive: true });
  fs.rmSync(dir, { recursive: true });
}

/**
 * Writes a whole tree under `root`: `root/sys/...` plus `root/etc/mdevctl.d/scripts.d/{callouts,notifiers}` (which
 * mdevctl 1.2.0 insists on). Returns the sysfs root (`root/sys`).
 */
export function makeSysfs(root: string, spec: FixtureSpec = defaultSpec()): string {
  const sys = path.join(root, "sys");
  for (const d of [
    "bus/pci/devices",
    "bus/pci/drivers",
    "bus/mdev/devices",
    "bus/mdev/drivers",
    "class/mdev_bus",
    "kernel/iommu_groups",
    "module",
  ]) {
    fs.mkdirSync(path.join(sys, d), { recursive: true });
  }
  for (const d of ["callouts", "notifiers"])
    fs.mkdirSync(path.join(root, "etc", "mdevctl.d", "scripts.d", d), { recursive: true });
  const dirs = new Map<string, string>();
  for (const p of spec.pci) dirs.set(p.bdf, addPciFunction(sys, p));
  for (const p of spec.pci) {
    if (p.physfn) link(path.join(dirs.get(p.bdf)!, "physfn"), dirs.get(p.physfn)!);
    for (const [i, vf] of (p.virtfns ?? []).entries()) link(path.join(dirs.get(p.bdf)!, `virtfn${i}`), dirs.get(vf)!);
  }
  for (const v of spec.virtualParents) addVirtualParent(sys, v);
  for (const m of spec.mdevs) addMdev(sys, m);
  return sys;
}
