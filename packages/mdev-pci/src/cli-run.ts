import { pciBaseClassName } from "@emu/pci-config";
import { formatAddress } from "@emu/vfio-device";
import { isMdevPciError } from "./errors.js";
import { type AttributeWriter, createMdev, removeMdev } from "./mdev-lifecycle.js";
import type { MdevParent, PciDevice } from "./pci-device.js";
import { PCI_IDS_PATHS, PciIdDatabase } from "./pci-ids.js";
import { DEFAULT_SYSFS_ROOT, type SysfsScan, scanSysfs } from "./sysfs-scan.js";
import { whyNotVfioUsable } from "./vfio-host.js";

/** Where the CLI writes: process.stdout/stderr, or buffers in tests. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** For tests: how sysfs attributes are written (create/remove). */
  readonly writeAttribute?: AttributeWriter;
}

const USAGE = `Usage: emu-pci [--sysfs <dir>] [--pci-ids <file>|none] <command>

Commands:
  status               PCI devices by class and driver, and mediated devices (like dpdk-devbind --status)
  list [--json]        every device on the PCI bus: address, IDs, class, driver, IOMMU group, NUMA node
  mdev list            active mediated devices (like mdevctl list)
  mdev types           mdev parents and the types they offer (like mdevctl types)
  mdev create --parent <name> --type <type-id> [--uuid <uuid>]
  mdev remove <uuid>
  help

Options:
  --sysfs <dir>        where sysfs is mounted (default $EMU_SYSFS_ROOT, else /sys)
  --pci-ids <file>     the PCI ID database for names (default: ${PCI_IDS_PATHS[0]}); "none" prints IDs only
`;

class Usage extends Error {}

function take(args: string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === flag) {
      const v = args[i + 1];
      if (v === undefined || v.startsWith("--")) throw new Usage(`${flag} needs a value`);
      args.splice(i, 2);
      return v;
    }
    if (a.startsWith(`${flag}=`)) {
      args.splice(i, 1);
      return a.slice(flag.length + 1);
    }
  }
  return undefined;
}

function takeFlag(args: string[], flag: string): boolean {
  const i = args.indexOf(flag);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
}

const h = (n: number, w: number) => n.toString(16).padStart(w, "0");

interface Ctx {
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

function status(ctx: Ctx): void {
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

function list(ctx: Ctx, json: boolean): void {
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
    d.ids
      ? `${h(d.ids.classCode >> 8, 4)} ${pciBaseClassName(d.ids.classCode)}`
      : `mdev ${d.mdev!.parent}/${d.mdev!.type}`,
    d.driver ?? "-",
    d.iommuGroup === undefined ? "-" : String(d.iommuGroup),
    d.numaNode === undefined ? "-" : String(d.numaNode),
  ]);
  const head = ["ADDRESS", "ID", "CLASS", "DRIVER", "GROUP", "NUMA"];
  const widths = head.map((t, i) => Math.max(t.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) ctx.out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
  warnProblems(ctx, scan);
}

function mdevList(ctx: Ctx): void {
  const scan = scanSysfs({ sysfsRoot: ctx.sysfsRoot });
  for (const m of scan.mdevs) ctx.out(`${m.name} ${m.mdev!.parent} ${m.mdev!.type}`);
  warnProblems(ctx, scan);
}

/** Exactly `mdevctl types`: parents, their types, instances, API, name, description with newlines as ", ". */
function mdevTypes(ctx: Ctx): void {
  const scan = scanSysfs({ sysfsRoot: ctx.sysfsRoot });
  const byName = (a: MdevParent, b: MdevParent) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const p of [...scan.parents].sort(byName)) {
    ctx.out(p.name);
    for (const t of p.types) {
      ctx.out(`  ${t.id}`);
      ctx.out(`    Available instances: ${t.availableInstances}`);
      ctx.out(`    Device API: ${t.deviceApi}`);
      if (t.name) ctx.out(`    Name: ${t.name}`);
      if (t.description) ctx.out(`    Description: ${t.description.split("\n").join(", ")}`);
    }
  }
  ctx.out();
  warnProblems(ctx, scan);
}

/**
 * The `emu-pci` command line. Returns the exit status: 0 done, 1 failed (a tagged error, printed in words), 2 usage.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const args = [...argv];
  const out = (line = "") => void io.stdout.write(`${line}\n`);
  const err = (line: string) => void io.stderr.write(`${line}\n`);
  try {
    const sysfsRoot = take(args, "--sysfs") ?? io.env?.EMU_SYSFS_ROOT ?? DEFAULT_SYSFS_ROOT;
    const idsPath = take(args, "--pci-ids");
    const ids =
      idsPath === "none"
        ? PciIdDatabase.parse("")
        : PciIdDatabase.load(idsPath === undefined ? PCI_IDS_PATHS : [idsPath]);
    const ctx: Ctx = { sysfsRoot, ids, out, err };
    const write = io.writeAttribute === undefined ? {} : { writeAttribute: io.writeAttribute };
    const [cmd = "status", sub, ...rest] = args;
    switch (cmd) {
      case "status":
        status(ctx);
        return 0;
      case "list":
        list(ctx, takeFlag(args, "--json"));
        return 0;
      case "help":
      case "--help":
      case "-h":
        io.stdout.write(USAGE);
        return 0;
      case "mdev":
        switch (sub) {
          case "list":
            mdevList(ctx);
            return 0;
          case "types":
            mdevTypes(ctx);
            return 0;
          case "create": {
            const parent = take(rest, "--parent");
            const type = take(rest, "--type");
            const uuid = take(rest, "--uuid");
            if (!parent || !type) throw new Usage("mdev create needs --parent and --type");
            const d = createMdev({ parent, type, ...(uuid === undefined ? {} : { uuid }) }, { sysfsRoot, ...write });
            out(`${d.name} ${d.mdev!.parent} ${d.mdev!.type}`);
            return 0;
          }
          case "remove": {
            const [uuid] = rest;
            if (!uuid) throw new Usage("mdev remove needs a UUID");
            removeMdev(uuid, { sysfsRoot, ...write });
            out(`removed ${uuid.toLowerCase()}`);
            return 0;
          }
          default:
            throw new Usage(
              sub === undefined
                ? "mdev needs a command: list, types, create or remove"
                : `unknown mdev command "${sub}"`,
            );
        }
      default:
        throw new Usage(`unknown command "${cmd}"`);
    }
  } catch (e) {
    if (e instanceof Usage) {
      err(`emu-pci: ${e.message}`);
      io.stderr.write(USAGE);
      return 2;
    }
    if (isMdevPciError(e)) {
      err(`emu-pci: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
