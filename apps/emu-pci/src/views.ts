// What each emu-pci command prints: dpdk-devbind's status, the bus list, mdevctl's list and types.

import {
  type MdevParent,
  type PciDevice,
  type PciIdDatabase,
  type SysfsScan,
  scanSysfs,
  whyNotVfioUsable,
} from "@emu/mdev-pci";
import { pciBaseClassName, pciClassName } from "@emu/pci-config";
import { formatAddress } from "@emu/vfio-device";

const h = (n: number, w: number) => n.toString(16).padStart(w, "0");

/** What a view needs: where sysfs is, the names database, and where lines go. */
export interface Ctx {
  readonly sysfsRoot: string;
  readonly ids: PciIdDatabase;
  readonly out: (line?: string) => void;
  readonly err: (line: string) => void;
}

function deviceLabel(ctx: Ctx, d: PciDevice): string {
  const ids = d.ids!;
  return `'${ctx.ids.deviceName(ids.vendorId, ids.deviceId)} ${h(ids.deviceId, 4)}'`;
}

const SECTION: Record<number, string> = {
  1: "Storage",
  2: "Network",
  3: "Display",
  6: "Bridge",
  7: "Communication",
  18: "Accelerator",
};

function section(ctx: Ctx, title: string, lines: string[]): void {
  if (lines.length === 0) return;
  ctx.out(title);
  ctx.out("=".repeat(title.length));
  for (const l of lines) ctx.out(l);
  ctx.out();
}

function warnProblems(ctx: Ctx, scan: SysfsScan): void {
  for (const p of scan.problems) ctx.err(`warning: ${p.message}`);
}

export function status(ctx: Ctx): void {
  const scan = scanSysfs({ sysfsRoot: ctx.sysfsRoot });
  const classes = [...new Set(scan.devices.map((d) => (d.ids!.classCode >> 16) & 0xff))].sort((a, b) => a - b);
  for (const c of classes) {
    const name = SECTION[c] ?? pciBaseClassName(c << 16);
    const ofClass = scan.devices.filter((d) => ((d.ids!.classCode >> 16) & 0xff) === c);
    const attrs = (d: PciDevice) =>
      [
        ...(d.driver ? [`drv=${d.driver}`] : []),
        ...(d.numaNode === undefined ? [] : [`numa_node=${d.numaNode}`]),
        ...(d.iommuGroup === undefined ? [] : [`iommu_group=${d.iommuGroup}`]),
        ...(d.vfioCdev ? [`vfio=${d.vfioCdev}`] : []),
        ...(d.mdevParent ? ["mdev_parent"] : []),
        ...(d.physfn ? [`physfn=${formatAddress(d.physfn)}`] : []),
      ].join(" ");
    const line = (d: PciDevice) => `${d.name} ${deviceLabel(ctx, d)} ${attrs(d)}`.trimEnd();
    section(
      ctx,
      `${name} devices using a VFIO driver`,
      ofClass.filter((d) => d.driver && whyNotVfioUsable(d) === undefined).map(line),
    );
    section(
      ctx,
      `${name} devices using kernel driver`,
      ofClass.filter((d) => d.driver && whyNotVfioUsable(d) !== undefined).map(line),
    );
    section(ctx, `Other ${name} devices`, ofClass.filter((d) => !d.driver).map(line));
  }
  const typeName = (m: PciDevice) =>
    scan.parents.find((p) => p.name === m.mdev!.parent)?.types.find((t) => t.id === m.mdev!.type)?.name;
  const mline = (m: PciDevice) => {
    const name = typeName(m);
    return [
      m.name,
      `parent=${m.mdev!.parent}`,
      `type=${m.mdev!.type}`,
      ...(name ? [`'${name}'`] : []),
      ...(m.driver ? [`drv=${m.driver}`] : []),
      ...(m.iommuGroup === undefined ? [] : [`iommu_group=${m.iommuGroup}`]),
      ...(m.vfioCdev ? [`vfio=${m.vfioCdev}`] : []),
    ].join(" ");
  };
  section(
    ctx,
    "Mediated PCI devices (vfio-pci)",
    scan.mdevs.filter((m) => m.mdev!.deviceApi === "vfio-pci").map(mline),
  );
  section(
    ctx,
    "Other mediated devices (not PCI)",
    scan.mdevs.filter((m) => m.mdev!.deviceApi !== "vfio-pci").map((m) => `${mline(m)} api=${m.mdev!.deviceApi}`),
  );
  if (scan.devices.length === 0 && scan.mdevs.length === 0)
    ctx.out(`No PCI or mediated devices under ${ctx.sysfsRoot}.`);
  warnProblems(ctx, scan);
}

function jsonable(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `0x${x.toString(16)}` : x)));
}

export function list(ctx: Ctx, json: boolean): void {
  const scan = scanSysfs({ sysfsRoot: ctx.sysfsRoot });
  const all = [...scan.devices, ...scan.mdevs.filter((m) => m.mdev!.deviceApi === "vfio-pci")];
  if (json) {
    ctx.out(
      JSON.stringify(
        jsonable({
          devices: scan.devices,
          parents: scan.parents,
          mdevs: scan.mdevs,
          problems: scan.problems.map((p) => ({ reason: p.reason, path: p.path, message: p.message })),
        }),
        null,
        2,
      ),
    );
    return;
  }
  const rows = all.map((d) => [
    d.name,
    d.ids ? `${h(d.ids.vendorId, 4)}:${h(d.ids.deviceId, 4)}` : "-",
    d.ids ? `${h(d.ids.classCode >> 8, 4)} ${pciClassName(d.ids.classCode)}` : `mdev ${d.mdev!.parent}/${d.mdev!.type}`,
    d.driver ?? "-",
    d.iommuGroup === undefined ? "-" : String(d.iommuGroup),
    d.numaNode === undefined ? "-" : String(d.numaNode),
  ]);
  const head = ["ADDRESS", "ID", "CLASS", "DRIVER", "GROUP", "NUMA"];
  const widths = head.map((t, i) => Math.max(t.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) ctx.out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
  warnProblems(ctx, scan);
}

/** What `mdev list` and `mdev types` are narrowed to (mdevctl's `--parent` and `--uuid`). */
export interface MdevFilter {
  readonly parent?: string;
  readonly uuid?: string;
}

export function mdevList(ctx: Ctx, filter: MdevFilter = {}): void {
  const scan = scanSysfs({ sysfsRoot: ctx.sysfsRoot });
  for (const m of scan.mdevs) {
    if (filter.parent !== undefined && m.mdev?.parent !== filter.parent) continue;
    if (filter.uuid !== undefined && m.name !== filter.uuid) continue;
    ctx.out(`${m.name} ${m.mdev?.parent} ${m.mdev?.type}`);
  }
  warnProblems(ctx, scan);
}

/**
 * Exactly `mdevctl types`: parents, their types, instances, API, name, description with newlines as ", ", and the
 * blank line mdevctl ends with; nothing at all when there is no parent.
 */
export function mdevTypes(ctx: Ctx, filter: Pick<MdevFilter, "parent"> = {}): void {
  const scan = scanSysfs({ sysfsRoot: ctx.sysfsRoot });
  const byName = (a: MdevParent, b: MdevParent) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const parents = scan.parents.filter((p) => filter.parent === undefined || p.name === filter.parent).sort(byName);
  for (const p of parents) {
    ctx.out(p.name);
    for (const t of p.types) {
      ctx.out(`  ${t.id}`);
      ctx.out(`    Available instances: ${t.availableInstances}`);
      ctx.out(`    Device API: ${t.deviceApi}`);
      if (t.name) ctx.out(`    Name: ${t.name}`);
      if (t.description) ctx.out(`    Description: ${t.description.split("\n").join(", ")}`);
    }
  }
  if (parents.length > 0) ctx.out();
  warnProblems(ctx, scan);
}
