import { VfioUserClient } from "./client.js";
import { isVfioUserClientError } from "./errors.js";
import { formatLspci, readDeviceReport } from "./lspci.js";

/** Where the CLI writes: anything with `write(text)` (process.stdout, or a test's collector). */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

export const USAGE = `Usage: emu-lspci [options] <socket>...
Shows vfio-user devices as lspci would, then their vfio-user regions and IRQs.

  -v, -vv        verbose: Subsystem, Control/Status, Interrupt, Regions, Capabilities (-vv: details)
  -x, -xxx, -xxxx
                 hex dump of config space: 64 bytes, 256 bytes, 4096 bytes (lspci -F <file> reads it)
  -n, -nn        numeric IDs only / names and numeric IDs, as lspci -n / -nn
  --twin         offer the twin socket when connecting
  -h, --help     this text
`;

interface Parsed {
  verbose: number;
  hex: number;
  numeric: number;
  twin: boolean;
  sockets: string[];
}

function parse(argv: readonly string[]): Parsed | string {
  const p: Parsed = { verbose: 0, hex: 0, numeric: 0, twin: false, sockets: [] };
  let options = true;
  for (const a of argv) {
    if (options && a === "--") options = false;
    else if (options && (a === "-h" || a === "--help")) return "help";
    else if (options && a === "--twin") p.twin = true;
    else if (options && /^-[vxn]+$/.test(a)) {
      for (const ch of a.slice(1)) {
        if (ch === "v") p.verbose++;
        else if (ch === "x") p.hex++;
        else p.numeric++;
      }
    } else if (options && a.startsWith("-") && a !== "-") return `unknown option ${a}`;
    else p.sockets.push(a);
  }
  if (p.sockets.length === 0) return "no socket given";
  return p;
}

/**
 * `emu-lspci <socket>... [-v|-vv] [-x|-xxx|-xxxx] [-n|-nn]`: connects to each vfio-user socket and prints the device
 * as lspci does (slots 00:00.0, 00:01.0, ... in argument order). Resolves with the exit status: 0, 1 when a device
 * could not be read (the others are still printed), 2 for bad usage.
 */
export async function runLspci(argv: readonly string[], io: CliIo): Promise<number> {
  const p = parse(argv);
  if (p === "help") {
    io.stdout.write(USAGE);
    return 0;
  }
  if (typeof p === "string") {
    io.stderr.write(`emu-lspci: ${p}\n${USAGE}`);
    return 2;
  }
  let status = 0;
  for (const [i, socket] of p.sockets.entries()) {
    const slot = `00:${i.toString(16).padStart(2, "0")}.0`;
    let client: VfioUserClient | undefined;
    try {
      client = await VfioUserClient.connect(socket, { twinSocket: p.twin, connectTimeoutMs: 1000 });
      const report = await readDeviceReport(client);
      io.stdout.write(formatLspci(report, { verbose: p.verbose, hex: p.hex, numeric: p.numeric, slot }));
    } catch (e) {
      const why = isVfioUserClientError(e) && e.code !== undefined ? `${e.message}` : (e as Error).message;
      io.stderr.write(`emu-lspci: ${socket}: ${why}\n`);
      status = 1;
    } finally {
      await client?.close();
    }
  }
  return status;
}
