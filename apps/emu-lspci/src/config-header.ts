import {
  type DecodedBar,
  type DecodedConfigSpace,
  decodeConfigSpace,
  PciCapId,
  PciCommand,
  PciStatus,
  pciClassName,
} from "@emu/pci-config";
import { PciRegion } from "@emu/vfio-user-proto";
import { type CapContext, capabilityLines, chainBreakLine } from "./capabilities.js";
import { extendedCapabilityLines } from "./extended-capabilities.js";
import { pciName } from "./names.js";
import type { DeviceReport } from "./report.js";
import { hex, pm, showSize } from "./text.js";

/** lspci's first line for config space: `System peripheral: Device 1234:11ec (rev 10)`. */
export function describeDevice(
  config: Uint8Array,
  options: { readonly numeric?: number; readonly verbose?: number } = {},
): string {
  const d = decodeConfigSpace(config);
  if (!d.ok) return `<${d.error.message}>`;
  return headline(d.value, options.numeric ?? 0, options.verbose ?? 0);
}

export function headline(c: DecodedConfigSpace, numeric: number, verbose: number): string {
  const cls = hex(c.classCode >> 8, 4);
  const name = pciName(c.vendorId, c.deviceId, numeric);
  let s =
    numeric === 1
      ? `${cls}: ${name}`
      : numeric >= 2
        ? `${pciClassName(c.classCode)} [${cls}]: ${name}`
        : `${pciClassName(c.classCode)}: ${name}`;
  if (c.revision !== 0) s += ` (rev ${hex(c.revision, 2)})`;
  if (verbose > 0 && c.progIf !== 0) s += ` (prog-if ${hex(c.progIf, 2)})`;
  return s;
}

const DEVSEL = ["fast", "medium", "slow", "??"];
const UDF = 0x0040;
const BIST_CAPABLE = 0x80;
const BIST_START = 0x40;
const BIST_CODE_MASK = 0x0f;

function controlLine(cmd: number): string {
  return (
    `Control: I/O${pm((cmd & PciCommand.IO) !== 0)} Mem${pm((cmd & PciCommand.MEMORY) !== 0)} ` +
    `BusMaster${pm((cmd & PciCommand.MASTER) !== 0)} SpecCycle${pm((cmd & PciCommand.SPECIAL) !== 0)} ` +
    `MemWINV${pm((cmd & PciCommand.INVALIDATE) !== 0)} VGASnoop${pm((cmd & PciCommand.VGA_PALETTE) !== 0)} ` +
    `ParErr${pm((cmd & PciCommand.PARITY) !== 0)} Stepping${pm((cmd & PciCommand.WAIT) !== 0)} ` +
    `SERR${pm((cmd & PciCommand.SERR) !== 0)} FastB2B${pm((cmd & PciCommand.FAST_BACK) !== 0)} ` +
    `DisINTx${pm((cmd & PciCommand.INTX_DISABLE) !== 0)}`
  );
}

function statusLine(st: number): string {
  return (
    `Status: Cap${pm((st & PciStatus.CAP_LIST) !== 0)} 66MHz${pm((st & PciStatus.MHZ66) !== 0)} ` +
    `UDF${pm((st & UDF) !== 0)} FastB2B${pm((st & PciStatus.FAST_BACK) !== 0)} ` +
    `ParErr${pm((st & PciStatus.MASTER_DATA_PARITY) !== 0)} DEVSEL=${DEVSEL[(st & PciStatus.DEVSEL_MASK) >> 9]} ` +
    `>TAbort${pm((st & PciStatus.SIG_TARGET_ABORT) !== 0)} <TAbort${pm((st & PciStatus.REC_TARGET_ABORT) !== 0)} ` +
    `<MAbort${pm((st & PciStatus.REC_MASTER_ABORT) !== 0)} >SERR${pm((st & PciStatus.SIG_SYSTEM_ERROR) !== 0)} ` +
    `<PERR${pm((st & PciStatus.DETECTED_PARITY) !== 0)} INTx${pm((st & PciStatus.INTERRUPT) !== 0)}`
  );
}

/** `-v`'s one-line summary of COMMAND and STATUS. */
function flagsLine(c: DecodedConfigSpace): string {
  const cmd = c.command;
  const st = c.status;
  let s = "Flags: ";
  if (cmd & PciCommand.MASTER) s += "bus master, ";
  if (cmd & PciCommand.VGA_PALETTE) s += "VGA palette snoop, ";
  if (cmd & PciCommand.WAIT) s += "stepping, ";
  if (cmd & PciCommand.FAST_BACK) s += "fast Back2Back, ";
  if (st & PciStatus.MHZ66) s += "66MHz, ";
  if (st & UDF) s += "user-definable features, ";
  s += `${DEVSEL[(st & PciStatus.DEVSEL_MASK) >> 9]} devsel`;
  if (cmd & PciCommand.MASTER) s += `, latency ${c.latencyTimer}`;
  if (c.interruptLine !== 0) s += `, IRQ ${c.interruptLine}`;
  return s;
}

/** `-vv`'s Latency line (bus masters only): latency timer, Min_Gnt/Max_Lat, cache line size. */
function latencyLine(c: DecodedConfigSpace): string {
  const minGnt = c.minGrant ?? 0;
  const maxLat = c.maxLatency ?? 0;
  let s = `Latency: ${c.latencyTimer}`;
  if (minGnt !== 0 || maxLat !== 0) {
    const parts: string[] = [];
    if (minGnt !== 0) parts.push(`${minGnt * 250}ns min`);
    if (maxLat !== 0) parts.push(`${maxLat * 250}ns max`);
    s += ` (${parts.join(", ")})`;
  }
  if (c.cacheLineSize !== 0) s += `, Cache Line Size: ${c.cacheLineSize * 4} bytes`;
  return s;
}

/** lspci's sanity remarks on the header layout versus the class code. */
function headerRemarks(c: DecodedConfigSpace): string[] {
  const cls = c.classCode >> 8;
  const remark = `!!! Invalid class ${hex(cls, 4)} for header type ${hex(c.headerType, 2)}`;
  switch (c.headerType) {
    case 0:
      return cls === 0x0604 ? [remark] : [];
    case 1:
    case 2:
      return cls >> 8 !== 0x06 ? [remark] : [];
    default:
      return [`!!! Unknown header type ${hex(c.headerType, 2)}`];
  }
}

const regionSize = (regions: DeviceReport["regions"], index: number): bigint => {
  const r = regions[index];
  return r === undefined || "error" in r ? 0n : r.size;
};

const barCount = (c: DecodedConfigSpace): number => (c.headerType === 0 ? 6 : c.headerType === 1 ? 2 : 0);

/** The BAR lines: decoded registers, with sizes from the vfio-user region info. */
function barLines(c: DecodedConfigSpace, regions: DeviceReport["regions"], verbose: number): string[] {
  const out: string[] = [];
  const decoded = new Map<number, DecodedBar>(c.bars.map((b) => [b.index, b]));
  for (let i = 0; i < barCount(c); i++) {
    const size = regionSize(regions, i);
    let bar = decoded.get(i);
    if (bar === undefined) {
      // A register reading 0 is a 32-bit non-prefetchable memory BAR at 0 if the region exists, else nothing.
      if (size === 0n) continue;
      bar = { index: i, kind: "memory32", prefetchable: false, address: 0n, raw: 0 };
    }
    const prefix = verbose >= 2 ? `Region ${i}: ` : "";
    if (bar.kind === "io") {
      const io = (c.command & PciCommand.IO) !== 0;
      const addr = bar.address !== 0n || io ? hex(bar.address, 4) : "<unassigned>";
      out.push(`\t${prefix}I/O ports at ${addr}${io ? "" : " [disabled]"}${showSize(size)}`);
    } else {
      const addr = bar.address === 0n ? "<unassigned>" : hex(bar.address, 8);
      const type = bar.kind === "memory64" ? "64-bit" : bar.kind === "memory1m" ? "low-1M" : "32-bit";
      const disabled = (c.command & PciCommand.MEMORY) === 0 ? " [disabled]" : "";
      out.push(
        `\t${prefix}Memory at ${addr} (${type}, ${bar.prefetchable ? "" : "non-"}prefetchable)${disabled}${showSize(size)}`,
      );
    }
    if (bar.kind === "memory64") i++;
  }
  const romSize = regionSize(regions, PciRegion.ROM);
  const rom = c.romAddress;
  if (rom !== undefined && ((rom.raw !== 0 && rom.raw !== 0xffffffff) || romSize > 0n)) {
    const addr = rom.address === 0 ? "<unassigned>" : hex(rom.address, 8);
    const disabled = !rom.enabled ? " [disabled]" : (c.command & PciCommand.MEMORY) === 0 ? " [disabled by cmd]" : "";
    out.push(`\tExpansion ROM at ${addr}${disabled}${showSize(romSize)}`);
  }
  return out;
}

/** Does the function have a memory BAR (a memory register that is set, or a region whose register reads 0)? */
function hasMemoryBar(c: DecodedConfigSpace, regions: DeviceReport["regions"]): boolean {
  if (c.bars.some((b) => b.kind !== "io")) return true;
  const covered = new Set<number>();
  for (const b of c.bars) {
    covered.add(b.index);
    if (b.kind === "memory64") covered.add(b.index + 1);
  }
  for (let i = 0; i < barCount(c); i++) if (!covered.has(i) && regionSize(regions, i) > 0n) return true;
  return false;
}

/** `bb:dd.f` → is it device 0 function 0? */
function isFirstFunction(slot: string): boolean {
  const m = /([0-9a-f]{2})\.([0-7])$/i.exec(slot);
  return m === null || (Number.parseInt(m[1] as string, 16) === 0 && m[2] === "0");
}

/** The `-v`/`-vv` block for config space, after the first line (lspci's show_verbose for a header and its lists). */
export function verboseLines(
  c: DecodedConfigSpace,
  regions: DeviceReport["regions"],
  verbose: number,
  numeric: number,
  slot: string,
): string[] {
  const lines: string[] = [];
  const known = c.headerType <= 2;
  if (c.headerType === 0 && c.subsystemVendorId !== undefined && c.subsystemId !== undefined) {
    if (c.subsystemVendorId !== 0 && c.subsystemVendorId !== 0xffff)
      lines.push(`\tSubsystem: ${pciName(c.subsystemVendorId, c.subsystemId, numeric, [c.vendorId, c.deviceId])}`);
  } else if (c.headerType === 1) {
    const ss = c.capabilities.find((k) => k.kind === "ssvid");
    if (ss !== undefined && ss.subsystemVendorId !== 0 && ss.subsystemVendorId !== 0xffff)
      lines.push(`\tSubsystem: ${pciName(ss.subsystemVendorId, ss.subsystemId, numeric, [c.vendorId, c.deviceId])}`);
  }
  for (const r of headerRemarks(c)) lines.push(`\t${r}`);
  if (known && verbose >= 2) {
    lines.push(`\t${controlLine(c.command)}`, `\t${statusLine(c.status)}`);
    if (c.command & PciCommand.MASTER) lines.push(`\t${latencyLine(c)}`);
  }
  if (verbose >= 2) {
    const pin = known ? c.interruptPin : 0;
    if (pin !== 0 || c.interruptLine !== 0) {
      const letter = pin === 0 ? "?" : String.fromCharCode((0x40 + pin) & 0xff);
      lines.push(`\tInterrupt: pin ${letter} routed to IRQ ${c.interruptLine}`);
    }
  }
  if (known && verbose < 2) lines.push(`\t${flagsLine(c)}`);
  if (c.bist & BIST_CAPABLE)
    lines.push(c.bist & BIST_START ? "\tBIST is running" : `\tBIST result: ${hex(c.bist & BIST_CODE_MASK, 2)}`);
  if (!known) return lines;
  lines.push(...barLines(c, regions, verbose));
  const ctx: CapContext = {
    verbose,
    numeric,
    headerType: c.headerType,
    vendorId: c.vendorId,
    deviceId: c.deviceId,
    firstFunction: isFirstFunction(slot),
    hasMemoryBar: hasMemoryBar(c, regions),
    pcieType: undefined,
  };
  for (const cap of c.capabilities) lines.push(...capabilityLines(cap, ctx));
  const shown = new Set<string>();
  if (c.capabilityChainBreak !== undefined) {
    lines.push(chainBreakLine(c.capabilityChainBreak, undefined, verbose));
    shown.add(c.capabilityChainBreak.issue);
  }
  // lspci walks the extended list only for PCI Express and PCI-X functions.
  const extBreak = c.extendedCapabilityChainBreak;
  if (c.capabilities.some((k) => k.id === PciCapId.EXP || k.id === PciCapId.PCIX)) {
    for (const e of c.extendedCapabilities) lines.push(...extendedCapabilityLines(e, ctx));
    if (extBreak !== undefined) lines.push(chainBreakLine(extBreak, c.extendedCapabilities, verbose));
  }
  if (extBreak !== undefined) shown.add(extBreak.issue);
  for (const issue of c.issues) if (!shown.has(issue)) lines.push(`\tCapabilities: <${issue}>`);
  return lines;
}
