import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { CliIo as BaseCliIo } from "@emu/cli-kit";
import {
  type AttributeWriter,
  createMdev,
  DEFAULT_SYSFS_ROOT,
  isMdevPciError,
  PCI_IDS_PATHS,
  PciIdDatabase,
  parseUuid,
  removeMdev,
} from "@emu/mdev-pci";
import { isUsageError, type ParsedArgs, parseArgs, UsageError } from "./args.js";
import { type Ctx, list, mdevList, mdevTypes, status } from "./views.js";

/** Where the CLI writes: process.stdout/stderr, or buffers in tests. */
export interface CliIo extends BaseCliIo {
  /** For tests: how sysfs attributes are written (create/remove). */
  readonly writeAttribute?: AttributeWriter;
}

export const USAGE = `Usage: emu-pci [--sysfs <dir>] [--pci-ids <file>|none] <command>

Commands:
  status               PCI devices by class and driver, and mediated devices (like dpdk-devbind --status; -s)
  list [--json]        every device on the PCI bus: address, IDs, class, driver, IOMMU group, NUMA node
  mdev list [-p <parent>] [-u <uuid>]
                       active mediated devices (like mdevctl list)
  mdev types [-p <parent>]
                       mdev parents and the types they offer (like mdevctl types)
  mdev create -p|--parent <name> -t|--type <type-id> [-u|--uuid <uuid>]
                       create a mediated device (mdevctl's "start" is accepted too)
  mdev remove <uuid>   remove a mediated device (also -u <uuid>; mdevctl's "stop" is accepted too)
  help

Options:
  --sysfs <dir>        where sysfs is mounted (default $EMU_SYSFS_ROOT, else /sys)
  --pci-ids <file>     the PCI ID database for names (default: the first of ${PCI_IDS_PATHS.join(", ")}); "none" prints IDs only
  -h, --help           this text
  -V, --version        the version

Exit status: 0 done, 1 failed (the reason is printed), 2 bad usage.
`;

/** `emu-pci <version> (<library> <version>, ...)`: this app's version and the libraries' it runs on. */
function versionText(): string {
  const req = createRequire(import.meta.url) as (id: string) => { version: string };
  return `emu-pci ${req("../package.json").version} (@emu/mdev-pci ${req("@emu/mdev-pci/package.json").version})\n`;
}

/** The names database: the file given (which must be readable), none, or the first the host has. */
function idDatabase(path: string | undefined): PciIdDatabase {
  if (path === "none") return PciIdDatabase.parse("");
  if (path === undefined) return PciIdDatabase.load(PCI_IDS_PATHS);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new PciIdsError(`cannot read the PCI ID database ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
  return PciIdDatabase.parse(text);
}

/** A --pci-ids file that cannot be read: exit 1, like a --sysfs that is not sysfs. */
class PciIdsError extends Error {
  readonly _tag = "PciIdsError" as const;
  override readonly name = "PciIdsError";
}

const isPciIdsError = (e: unknown): e is PciIdsError =>
  typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "PciIdsError";

/** A UUID operand or option, as typed (any case); a malformed one is a usage mistake. */
function uuidArg(text: string): string {
  try {
    return parseUuid(text);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function mdevCommand(args: ParsedArgs, ctx: Ctx, io: CliIo): number {
  const opt = (name: string) => args.options.get(name);
  const write = io.writeAttribute === undefined ? {} : { writeAttribute: io.writeAttribute };
  const sysfsRoot = ctx.sysfsRoot;
  const parent = opt("parent");
  const uuid = opt("uuid");
  switch (args.command) {
    case "mdev list":
      mdevList(ctx, {
        ...(parent === undefined ? {} : { parent }),
        ...(uuid === undefined ? {} : { uuid: uuidArg(uuid) }),
      });
      return 0;
    case "mdev types":
      mdevTypes(ctx, parent === undefined ? {} : { parent });
      return 0;
    case "mdev create": {
      const type = opt("type");
      if (!parent || !type) throw new UsageError("mdev create needs --parent and --type");
      const request = { parent, type, ...(uuid === undefined ? {} : { uuid: uuidArg(uuid) }) };
      const d = createMdev(request, { sysfsRoot, ...write });
      ctx.out(`${d.name} ${d.mdev?.parent} ${d.mdev?.type}`);
      return 0;
    }
    default: {
      const given = args.operands[0] ?? uuid;
      if (given === undefined) throw new UsageError("mdev remove needs a UUID");
      const id = uuidArg(given);
      removeMdev(id, { sysfsRoot, ...write });
      ctx.out(`removed ${id}`);
      return 0;
    }
  }
}

function run(args: ParsedArgs, io: CliIo, ctx: Ctx): number {
  if (args.command === "status") status(ctx);
  else if (args.command === "list") list(ctx, args.options.has("json"));
  else return mdevCommand(args, ctx, io);
  return 0;
}

/**
 * The `emu-pci` command line. Returns the exit status: 0 done, 1 failed (a tagged error, printed in words), 2 usage.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const out = (line = "") => void io.stdout.write(`${line}\n`);
  const err = (line: string) => void io.stderr.write(`${line}\n`);
  try {
    const args = parseArgs(argv);
    if (args.options.has("help") || args.command === "help") {
      io.stdout.write(USAGE);
      return 0;
    }
    if (args.options.has("version")) {
      io.stdout.write(versionText());
      return 0;
    }
    const sysfsRoot = args.options.get("sysfs") ?? io.env?.EMU_SYSFS_ROOT ?? DEFAULT_SYSFS_ROOT;
    const ctx: Ctx = { sysfsRoot, ids: idDatabase(args.options.get("pci-ids")), out, err };
    return run(args, io, ctx);
  } catch (e) {
    if (isUsageError(e)) {
      err(`emu-pci: ${e.message}`);
      io.stderr.write(USAGE);
      return 2;
    }
    if (isMdevPciError(e) || isPciIdsError(e)) {
      err(`emu-pci: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
