import { statSync } from "node:fs";
import { createRequire } from "node:module";
import type { CliIo as BaseCliIo } from "@emu/cli-kit";
import { DEFAULT_SYSFS_ROOT, SysfsBusSource, type VfioHost } from "@emu/mdev-pci";
import { type DeviceAddress, parseAddress, type VfioDevice } from "@emu/vfio-device";
import { isVfioUserClientError, VfioUserClient } from "@emu/vfio-user-client";
import { formatLspci } from "./format.js";
import { readDeviceReport } from "./report.js";

/** Where the CLI writes (process.stdout, or a test's collector), its environment, and for tests the VFIO host. */
export interface CliIo extends BaseCliIo {
  /** How PCI functions and mediated devices are opened (default: the host's kernel VFIO). */
  readonly vfioHost?: VfioHost;
}

export const USAGE = `Usage: emu-lspci [options] <device>...
Shows VFIO devices as lspci would, then their VFIO regions and IRQs. A <device> is a vfio-user socket path
(or vfio-user:<path>), a PCI function on the host (0000:3b:02.0, 3b:02.0) or a mediated device (its UUID).

  -v, -vv        verbose: Subsystem, Control/Status, Interrupt, Regions, Capabilities (-vv: details)
  -x, -xxx, -xxxx
                 hex dump of config space: 64 bytes, 256 bytes, 4096 bytes (lspci -F <file> reads it)
  -n, -nn        numeric IDs only / names and numeric IDs, as lspci -n / -nn
  --twin         offer the twin socket when connecting to a vfio-user socket
  --sysfs <dir>  where sysfs is mounted, for PCI and mediated devices (default $EMU_SYSFS_ROOT, else /sys)
  -h, --help     this text
  -V, --version  the version

Exit status: 0, 1 when a device could not be read (the others are still printed), 2 for bad usage.
`;

/** `emu-lspci <version> (<library> <version>, ...)`: this app's version and the libraries' it runs on. */
function versionText(): string {
  const req = createRequire(import.meta.url) as (id: string) => { version: string };
  return `emu-lspci ${req("../package.json").version} (@emu/vfio-user-client ${req("@emu/vfio-user-client/package.json").version}, @emu/mdev-pci ${req("@emu/mdev-pci/package.json").version})\n`;
}

interface Parsed {
  verbose: number;
  hex: number;
  numeric: number;
  twin: boolean;
  sysfs: string | undefined;
  devices: string[];
}

function parse(argv: readonly string[]): Parsed | "help" | "version" | string {
  const p: Parsed = { verbose: 0, hex: 0, numeric: 0, twin: false, sysfs: undefined, devices: [] };
  let options = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (options && a === "--") options = false;
    else if (options && (a === "-h" || a === "--help")) return "help";
    else if (options && (a === "-V" || a === "--version")) return "version";
    else if (options && a === "--twin") p.twin = true;
    else if (options && (a === "--sysfs" || a.startsWith("--sysfs="))) {
      const v = a === "--sysfs" ? argv[++i] : a.slice("--sysfs=".length);
      if (v === undefined || v === "") return "--sysfs needs a directory";
      p.sysfs = v;
    } else if (options && /^-[vxn]+$/.test(a)) {
      for (const ch of a.slice(1)) {
        if (ch === "v") p.verbose++;
        else if (ch === "x") p.hex++;
        else p.numeric++;
      }
    } else if (options && a.startsWith("-") && a !== "-") return `unknown option ${a}`;
    else p.devices.push(a);
  }
  if (p.devices.length === 0) return "no socket given";
  return p;
}

/** A PCI function or mediated device when the argument names one; otherwise the argument is a socket path. */
function addressOf(arg: string): DeviceAddress {
  try {
    const a = parseAddress(arg);
    if (a.kind !== "vfio-user" || arg.startsWith("vfio-user:")) return a;
  } catch {
    // Not an address form: a socket path relative to the working directory.
  }
  return { kind: "vfio-user", socketPath: arg };
}

/** Why a path cannot be a vfio-user socket (it exists and is something else), or undefined. */
function notASocket(path: string): string | undefined {
  try {
    return statSync(path).isSocket() ? undefined : "not a UNIX socket";
  } catch {
    return undefined; // missing or unreadable: connect says why
  }
}

async function open(address: DeviceAddress, p: Parsed, io: CliIo): Promise<VfioDevice> {
  if (address.kind === "vfio-user") {
    const why = notASocket(address.socketPath);
    if (why !== undefined) throw new Error(why);
    return VfioUserClient.connect(address.socketPath, { twinSocket: p.twin, connectTimeoutMs: 1000 });
  }
  const sysfsRoot = p.sysfs ?? io.env?.EMU_SYSFS_ROOT ?? DEFAULT_SYSFS_ROOT;
  const source = new SysfsBusSource({ sysfsRoot, ...(io.vfioHost === undefined ? {} : { host: io.vfioHost }) });
  return source.open(address);
}

/**
 * `emu-lspci <device>... [-v|-vv] [-x|-xxx|-xxxx] [-n|-nn]`: opens each device (a vfio-user socket through the
 * client, a PCI function or mediated device through kernel VFIO) and prints it as lspci does (slots 00:00.0,
 * 00:01.0, ... in argument order). Resolves with the exit status: 0, 1 when a device could not be read (the others
 * are still printed), 2 for bad usage.
 */
export async function runLspci(argv: readonly string[], io: CliIo): Promise<number> {
  const p = parse(argv);
  if (p === "help") {
    io.stdout.write(USAGE);
    return 0;
  }
  if (p === "version") {
    io.stdout.write(versionText());
    return 0;
  }
  if (typeof p === "string") {
    io.stderr.write(`emu-lspci: ${p}\n${USAGE}`);
    return 2;
  }
  let status = 0;
  for (const [i, arg] of p.devices.entries()) {
    const slot = `00:${i.toString(16).padStart(2, "0")}.0`;
    let device: VfioDevice | undefined;
    try {
      device = await open(addressOf(arg), p, io);
      const report = await readDeviceReport(device);
      io.stdout.write(formatLspci(report, { verbose: p.verbose, hex: p.hex, numeric: p.numeric, slot }));
    } catch (e) {
      const why = isVfioUserClientError(e) && e.code !== undefined ? `${e.message}` : (e as Error).message;
      io.stderr.write(`emu-lspci: ${arg}: ${why}\n`);
      status = 1;
    } finally {
      await device?.close();
    }
  }
  return status;
}
