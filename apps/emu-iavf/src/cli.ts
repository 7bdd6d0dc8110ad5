// emu-iavf: one emu_iavf device served on a vfio-user socket until SIGINT/SIGTERM, with no data path attached.
import { createRequire } from "node:module";
import type { CliIo } from "@emu/cli-kit";
import { type EmudevDevice, EmudevRegistry, isEmudevError } from "@emu/emudev";
import { iavf, iavfDriver } from "@emu/iavf-emu";
import { eventLine, virtchnlLine } from "./conversation.js";

export const USAGE = `Usage: emu-iavf [options] <devargs>
Serves an emulated Intel Ethernet Adaptive Virtual Function (emu_iavf, PCI 8086:1889) on a vfio-user socket, for a
VMM (QEMU: -device vfio-user-pci) or any vfio-user client. No data path is attached: the link stays down.

  <devargs>      emu_iavf<N>,sock=<path>[,queues=1..16][,mac=xx:xx:xx:xx:xx:xx][,mtu=68..9702][,speed=<Mbps>]
                 [,link=auto|up|down]   e.g. 'emu_iavf0,sock=/tmp/iavf.sock,queues=4'
  -v, --verbose  log the virtchnl conversation, one line per message (-vv: with the decoded requests)
  -q, --quiet    print nothing but errors
  -h, --help     this text
  -V, --version  the version

Stops on SIGINT or SIGTERM (the socket is removed). Exit status: 0 after a signal, 1 when the device cannot be
served, 2 for bad usage.
`;

function versionText(): string {
  const req = createRequire(import.meta.url) as (id: string) => { version: string };
  return `emu-iavf ${req("../package.json").version} (@emu/iavf-emu ${req("@emu/iavf-emu/package.json").version})\n`;
}

interface Parsed {
  verbose: number;
  quiet: boolean;
  devargs: string;
}

function parse(argv: readonly string[]): Parsed | "help" | "version" | string {
  const p: Parsed = { verbose: 0, quiet: false, devargs: "" };
  for (const a of argv) {
    if (a === "-h" || a === "--help") return "help";
    if (a === "-V" || a === "--version") return "version";
    if (a === "-v" || a === "--verbose") p.verbose++;
    else if (a === "-vv") p.verbose += 2;
    else if (a === "-q" || a === "--quiet") p.quiet = true;
    else if (a.startsWith("-")) return `unknown option ${a}`;
    else if (p.devargs !== "") return `one device only (got ${p.devargs} and ${a})`;
    else p.devargs = a;
  }
  return p.devargs === "" ? "missing <devargs>" : p;
}

/** What the device is and how to attach a VMM to it. */
function banner(dev: EmudevDevice): string {
  const nic = iavf(dev);
  const path = JSON.stringify(dev.socketPath);
  return (
    `${dev.name}: Intel Ethernet Adaptive Virtual Function [8086:1889], ${nic.queuePairs} queue pair(s), ` +
    `MAC ${nic.defaultMac}, MTU ${String(dev.attribute("mtu"))}, link ${nic.link.up ? "up" : "down"} (no data path)\n` +
    `serving on ${dev.socketPath}\n` +
    `QEMU: -device '{"driver":"vfio-user-pci","socket":{"type":"unix","path":${path}}}'\n`
  );
}

/**
 * The command: serves the device until `stop` aborts (the launcher aborts on SIGINT/SIGTERM), then closes it.
 * Resolves with the exit status.
 */
export async function runEmuIavf(argv: readonly string[], io: CliIo, stop: AbortSignal): Promise<number> {
  const p = parse(argv);
  if (p === "help" || p === "version") {
    io.stdout.write(p === "help" ? USAGE : versionText());
    return 0;
  }
  if (typeof p === "string") {
    io.stderr.write(`emu-iavf: ${p}\n${USAGE}`);
    return 2;
  }
  const out = (line: string) => {
    if (!p.quiet) io.stdout.write(`${line}\n`);
  };
  const emu = new EmudevRegistry({ onError: (e) => io.stderr.write(`emu-iavf: ${String(e)}\n`) });
  emu.registerDriver(iavfDriver);
  let dev: EmudevDevice;
  try {
    dev = emu.create(p.devargs);
    if (dev.driver !== "emu_iavf") throw new Error(`${dev.name} is not an emu_iavf device`);
    dev.configure({
      ...(p.verbose > 0
        ? { onVirtchnl: (e: Parameters<typeof virtchnlLine>[0]) => out(virtchnlLine(e, p.verbose)) }
        : {}),
      onError: (e: unknown) => io.stderr.write(`emu-iavf: ${e instanceof Error ? e.message : String(e)}\n`),
    });
  } catch (e) {
    io.stderr.write(`emu-iavf: ${isEmudevError(e) || e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  dev.on("*", (e) => {
    const line = eventLine(e);
    if (line !== undefined) out(line);
  });
  try {
    await dev.start();
  } catch (e) {
    io.stderr.write(`emu-iavf: cannot serve on ${dev.socketPath}: ${e instanceof Error ? e.message : String(e)}\n`);
    await emu.closeAll();
    return 1;
  }
  if (!p.quiet) io.stdout.write(banner(dev));
  if (!stop.aborted)
    await new Promise<void>((resolve) => stop.addEventListener("abort", () => resolve(), { once: true }));
  await emu.closeAll();
  out("closed");
  return 0;
}
