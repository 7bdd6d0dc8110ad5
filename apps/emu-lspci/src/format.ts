import { decodeConfigSpace } from "@emu/pci-config";
import { headline, verboseLines } from "./config-header.js";
import type { DeviceReport } from "./report.js";
import { hex } from "./text.js";
import { vfioLines } from "./vfio-summary.js";

/** How {@link formatLspci} prints, after lspci's options. */
export interface LspciOptions {
  /** 0: one line; 1: `-v`; 2 (or more): `-vv`. */
  readonly verbose?: number;
  /** Number of `x`: 1-2 → 64 bytes, 3 → 256, 4 → 4096 (as far as config space goes). 0: no dump. */
  readonly hex?: number;
  /** 0: names and numbers as `Class [cccc]: Device vvvv:dddd`; 1 (`-n`): numbers only; 2 (`-nn`): lspci's `-nn`. */
  readonly numeric?: number;
  /** The slot shown at the start of the line. Default `00:00.0`. */
  readonly slot?: string;
}

/** The bytes `-x`/`-xxx`/`-xxxx` dump, in lspci's format (`00: 86 80 ...`), 16 per line. */
function hexLines(config: Uint8Array, xs: number): string[] {
  const want = xs >= 4 ? 4096 : xs === 3 ? 256 : 64;
  const n = Math.min(want, config.length - (config.length % 16));
  const out: string[] = [];
  for (let o = 0; o < n; o += 16) {
    const bytes = Array.from(config.subarray(o, o + 16), (b) => hex(b, 2)).join(" ");
    out.push(`${hex(o, 2)}: ${bytes}`);
  }
  return out;
}

/**
 * Formats a report the way `lspci` prints a device (first line, `-v`/`-vv` blocks, `-x` hex dump), followed (unless
 * only a dump was asked for) by the vfio-user regions and IRQs. A `-x` dump is exactly lspci's, so `lspci -F <file>`
 * decodes the output; for the config-space part `-vv` prints what `lspci -F <dump> -vv` prints (pciutils 3.9), BAR
 * and ROM sizes added from the region info.
 */
export function formatLspci(report: DeviceReport, options: LspciOptions = {}): string {
  const verbose = options.verbose ?? 0;
  const xs = options.hex ?? 0;
  const numeric = options.numeric ?? 0;
  const slot = options.slot ?? "00:00.0";
  const lines: string[] = [];
  const d = report.config.length >= 64 ? decodeConfigSpace(report.config) : undefined;
  if (d === undefined || !d.ok) {
    const why = report.configError ?? (d !== undefined && !d.ok ? d.error.message : "config space too short");
    lines.push(`${slot} <config space unreadable: ${why}>`);
  } else {
    lines.push(`${slot} ${headline(d.value, numeric, verbose)}`);
    if (verbose >= 1) lines.push(...verboseLines(d.value, report.regions, verbose, numeric, slot));
  }
  if (verbose >= 1 || xs === 0) for (const l of vfioLines(report, verbose)) lines.push(`\t${l}`);
  if (xs > 0) lines.push(...hexLines(report.config, xs));
  if (verbose >= 1 || xs > 0) lines.push("");
  return `${lines.join("\n")}\n`;
}
