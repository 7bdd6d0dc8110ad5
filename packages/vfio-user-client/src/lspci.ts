import {
  type DecodedBar,
  type DecodedCapability,
  type DecodedConfigSpace,
  decodeConfigSpace,
  PCIE_LINK_SPEEDS_GTS,
  PciCommand,
  PciStatus,
  pciClassName,
} from "@emu/pci-config";
import type { DeviceInfo, IrqInfo, RegionInfo } from "@emu/vfio-device";
import { PciRegion } from "@emu/vfio-user-proto";
import type { NegotiatedSession, VfioUserClient } from "./client.js";
import { isVfioUserClientError } from "./errors.js";

/** Everything `emu-lspci` shows about one device, read once. */
export interface DeviceReport {
  readonly socketPath: string;
  readonly negotiated: NegotiatedSession;
  readonly info: DeviceInfo;
  /** One entry per region index 0..numRegions-1: its info, or why it could not be read. */
  readonly regions: readonly (RegionInfo | { readonly index: number; readonly error: string })[];
  /** One entry per IRQ index 0..numIrqs-1. */
  readonly irqs: readonly (IrqInfo | { readonly index: number; readonly error: string })[];
  /** Config space (region 7) as read, whole (256 or 4096 bytes); empty if it could not be read. */
  readonly config: Uint8Array;
  /** Why config space could not be read, if so. */
  readonly configError?: string;
}

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

const errorText = (e: unknown): string =>
  isVfioUserClientError(e) && e.code !== undefined ? `${e.code}: ${e.message}` : (e as Error).message;

/** Reads device info, every region's info, every IRQ's info and the whole config space (pipelined). */
export async function readDeviceReport(device: VfioUserClient): Promise<DeviceReport> {
  const info = await device.getInfo();
  const regionP = Array.from({ length: info.numRegions }, (_, index) =>
    device.getRegionInfo(index).catch((e: unknown) => ({ index, error: errorText(e) })),
  );
  const irqP = Array.from({ length: info.numIrqs }, (_, index) =>
    device.getIrqInfo(index).catch((e: unknown) => ({ index, error: errorText(e) })),
  );
  const regions = await Promise.all(regionP);
  const irqs = await Promise.all(irqP);
  const cfgInfo = regions[PciRegion.CONFIG];
  let config: Uint8Array = new Uint8Array(0);
  let configError: string | undefined;
  if (cfgInfo === undefined) configError = "the device has no config-space region";
  else if ("error" in cfgInfo) configError = cfgInfo.error;
  else {
    const size = Number(cfgInfo.size > 4096n ? 4096n : cfgInfo.size);
    try {
      config = await device.regionRead(PciRegion.CONFIG, 0n, size);
    } catch (e) {
      configError = errorText(e);
    }
  }
  return {
    socketPath: device.address.socketPath,
    negotiated: device.negotiated,
    info,
    regions,
    irqs,
    config,
    ...(configError === undefined ? {} : { configError }),
  };
}

const hex = (n: number | bigint, w: number): string => n.toString(16).padStart(w, "0");
const pm = (b: boolean): string => (b ? "+" : "-");

/** lspci's `[size=...]`: the largest of K/M/G/T that divides the size. */
function showSize(x: bigint): string {
  if (x === 0n) return "";
  const suffix = ["", "K", "M", "G", "T"];
  let i = 0;
  while (i < suffix.length - 1 && x % 1024n === 0n) {
    x /= 1024n;
    i++;
  }
  return ` [size=${x}${suffix[i]}]`;
}

/** lspci's first line for config space: `System peripheral [0880]: Device 1234:11ec (rev 10)`. */
export function describeDevice(
  config: Uint8Array,
  options: { readonly numeric?: number; readonly verbose?: number } = {},
): string {
  const d = decodeConfigSpace(config);
  if (!d.ok) return `<${d.error.message}>`;
  return headline(d.value, options.numeric ?? 0, options.verbose ?? 0);
}

function headline(c: DecodedConfigSpace, numeric: number, verbose: number): string {
  const cls = hex(c.classCode >> 8, 4);
  const ids = `${hex(c.vendorId, 4)}:${hex(c.deviceId, 4)}`;
  let s =
    numeric === 1
      ? `${cls}: ${ids}`
      : numeric >= 2
        ? `${pciClassName(c.classCode)} [${cls}]: Device [${ids}]`
        : `${pciClassName(c.classCode)} [${cls}]: Device ${ids}`;
  if (c.revision !== 0) s += ` (rev ${hex(c.revision, 2)})`;
  if (verbose > 0 && c.progIf !== 0) s += ` (prog-if ${hex(c.progIf, 2)})`;
  return s;
}

function subsystem(c: DecodedConfigSpace, numeric: number): string | undefined {
  if (c.subsystemVendorId === undefined || c.subsystemId === undefined) return undefined;
  if (c.subsystemVendorId === 0 && c.subsystemId === 0) return undefined;
  const ids = `${hex(c.subsystemVendorId, 4)}:${hex(c.subsystemId, 4)}`;
  return numeric >= 2 ? `Device [${ids}]` : numeric === 1 ? ids : `Device ${ids}`;
}

const DEVSEL = ["fast", "medium", "slow", "??"];
const UDF = 0x0040;

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

function flagsLine(c: DecodedConfigSpace): string {
  const cmd = c.command;
  const st = c.status;
  let s = "Flags: ";
  if (cmd & PciCommand.MASTER) s += "bus master, ";
  if (st & PciStatus.MHZ66) s += "66MHz, ";
  if (st & UDF) s += "user-definable features, ";
  if (st & PciStatus.FAST_BACK) s += "fast Back2Back, ";
  s += `${DEVSEL[(st & PciStatus.DEVSEL_MASK) >> 9]} devsel`;
  if (cmd & PciCommand.MASTER) s += `, latency ${c.latencyTimer}`;
  if (c.interruptLine !== 0 && c.interruptPin !== 0) s += `, IRQ ${c.interruptLine}`;
  return s;
}

const regionSize = (regions: DeviceReport["regions"], index: number): bigint => {
  const r = regions[index];
  return r === undefined || "error" in r ? 0n : r.size;
};

/** The BAR lines: decoded registers, with sizes from the vfio-user region info. */
function barLines(c: DecodedConfigSpace, regions: DeviceReport["regions"], verbose: number): string[] {
  const out: string[] = [];
  const decoded = new Map<number, DecodedBar>(c.bars.map((b) => [b.index, b]));
  for (let i = 0; i < (c.headerType === 0 ? 6 : c.headerType === 1 ? 2 : 0); i++) {
    const size = regionSize(regions, i);
    let bar = decoded.get(i);
    if (bar === undefined) {
      // A register reading 0 is a 32-bit non-prefetchable memory BAR at 0 if the region exists, else nothing.
      if (size === 0n) continue;
      bar = { index: i, kind: "memory32", prefetchable: false, address: 0n, raw: 0 };
    }
    const prefix = verbose >= 2 ? `Region ${i}: ` : "";
    if (bar.kind === "io") {
      const addr = bar.address === 0n ? "<unassigned>" : hex(bar.address, 4);
      const disabled = (c.command & PciCommand.IO) === 0 ? " [disabled]" : "";
      out.push(`${prefix}I/O ports at ${addr}${disabled}${showSize(size)}`);
    } else {
      const addr = bar.address === 0n ? "<unassigned>" : hex(bar.address, 8);
      const type = bar.kind === "memory64" ? "64-bit" : bar.kind === "memory1m" ? "low-1M" : "32-bit";
      const disabled = (c.command & PciCommand.MEMORY) === 0 ? " [disabled]" : "";
      out.push(
        `${prefix}Memory at ${addr} (${type}, ${bar.prefetchable ? "" : "non-"}prefetchable)${disabled}${showSize(size)}`,
      );
    }
    if (bar.kind === "memory64") i++;
  }
  const romSize = regionSize(regions, PciRegion.ROM);
  if (c.romAddress !== undefined && (romSize > 0n || c.romAddress.address !== 0)) {
    const addr = c.romAddress.address === 0 ? "<unassigned>" : hex(c.romAddress.address, 8);
    const disabled = !c.romAddress.enabled
      ? " [disabled]"
      : (c.command & PciCommand.MEMORY) === 0
        ? " [disabled by cmd]"
        : "";
    out.push(`Expansion ROM at ${addr}${disabled}${showSize(romSize)}`);
  }
  return out;
}

const AUX_CURRENT_MA = [0, 55, 100, 160, 220, 270, 320, 375];

function capabilityLines(cap: DecodedCapability, verbose: number): string[] {
  const at = `Capabilities: [${hex(cap.offset, 2)}] `;
  switch (cap.kind) {
    case "pm": {
      const lines = [`${at}Power Management version ${cap.version}`];
      if (verbose >= 2) {
        const pme = (bit: number): string => pm((cap.pmeSupport & (1 << bit)) !== 0);
        lines.push(
          `\tFlags: PMEClk${pm(cap.pmeClock)} DSI${pm(cap.dsi)} D1${pm(cap.d1)} D2${pm(cap.d2)} ` +
            `AuxCurrent=${AUX_CURRENT_MA[cap.auxCurrent] ?? 0}mA ` +
            `PME(D0${pme(0)},D1${pme(1)},D2${pme(2)},D3hot${pme(3)},D3cold${pme(4)})`,
          `\tStatus: D${cap.powerState} NoSoftRst${pm(cap.noSoftReset)} PME-Enable${pm(cap.pmeEnable)} PME${pm(cap.pmeStatus)}`,
        );
      }
      return lines;
    }
    case "msi": {
      const lines = [
        `${at}MSI: Enable${pm(cap.enabled)} Count=${cap.vectorsEnabled}/${cap.vectorsCapable} ` +
          `Maskable${pm(cap.perVectorMask)} 64bit${pm(cap.address64)}`,
      ];
      if (verbose >= 2) {
        lines.push(`\tAddress: ${hex(cap.address, cap.address64 ? 16 : 8)}  Data: ${hex(cap.data, 4)}`);
        if (cap.perVectorMask)
          lines.push(`\tMasking: ${hex(cap.maskBits ?? 0, 8)}  Pending: ${hex(cap.pendingBits ?? 0, 8)}`);
      }
      return lines;
    }
    case "msix": {
      const lines = [`${at}MSI-X: Enable${pm(cap.enabled)} Count=${cap.tableSize} Masked${pm(cap.functionMask)}`];
      if (verbose >= 2)
        lines.push(
          `\tVector table: BAR=${cap.tableBar} offset=${hex(cap.tableOffset, 8)}`,
          `\tPBA: BAR=${cap.pbaBar} offset=${hex(cap.pbaOffset, 8)}`,
        );
      return lines;
    }
    case "pcie": {
      const v = verbose >= 2 && cap.version >= 2 ? ` (v${cap.version})` : "";
      const lines = [`${at}Express${v} ${cap.deviceTypeName}, MSI ${hex(cap.interruptMessageNumber, 2)}`];
      if (verbose >= 2) {
        const speed = (s: number): string => {
          const g = PCIE_LINK_SPEEDS_GTS[s];
          return g === undefined || g === 0 ? "unknown" : `${g}GT/s`;
        };
        lines.push(
          `\tDevCap:\tMaxPayload ${cap.devCap.maxPayloadSize} bytes, ExtTag${pm(cap.devCap.extendedTag)} FLReset${pm(cap.devCap.flr)}`,
          `\tDevCtl:\tRlxdOrd${pm(cap.devCtl.relaxedOrdering)} ExtTag${pm(cap.devCtl.extendedTag)} NoSnoop${pm(cap.devCtl.noSnoop)}`,
          `\t\tMaxPayload ${cap.devCtl.maxPayloadSize} bytes, MaxReadReq ${cap.devCtl.maxReadRequestSize} bytes`,
        );
        if (cap.link !== undefined) {
          const aspm = ["ASPM not supported", "ASPM L0s", "ASPM L1", "ASPM L0s L1"][cap.link.aspmSupport & 3];
          lines.push(
            `\tLnkCap:\tPort #${cap.link.portNumber}, Speed ${speed(cap.link.maxSpeed)}, Width x${cap.link.maxWidth}, ${aspm}`,
            `\tLnkSta:\tSpeed ${speed(cap.link.speed)}, Width x${cap.link.width}`,
          );
        }
      }
      return lines;
    }
    case "vendor":
      return [`${at}Vendor Specific Information: Len=${hex(cap.length, 2)} <?>`];
    case "other":
      return [`${at}${cap.name}`];
  }
}

const REGION_NAMES = ["BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM", "CONFIG", "VGA"];
const IRQ_NAMES = ["INTx", "MSI", "MSI-X", "ERR", "REQ"];

function flagNames(flags: number, names: readonly string[]): string {
  const set = names.filter((_, i) => (flags & (1 << i)) !== 0);
  return set.length === 0 ? "" : ` <${set.join(" ")}>`;
}

/** The vfio-user part of the report: session, device flags, regions with sparse areas, IRQs. */
function vfioUserLines(r: DeviceReport, verbose: number): string[] {
  const n = r.negotiated;
  const out = [
    `vfio-user: ${r.socketPath}, protocol ${n.major}.${n.minor}, max_data_xfer_size ${n.server.maxDataXferSize}, ` +
      `max_msg_fds ${n.server.maxMsgFds}, twin_socket${pm(n.twinSocket)}, write_multiple${pm(n.writeMultiple)}`,
    `Device: flags 0x${hex(r.info.flags, 0)}${flagNames(r.info.flags, ["RESET", "PCI"])}, ` +
      `${r.info.numRegions} regions, ${r.info.numIrqs} IRQs`,
  ];
  for (const reg of r.regions) {
    const name = REGION_NAMES[reg.index] ?? `device-specific`;
    if ("error" in reg) {
      out.push(`Region ${reg.index} (${name}): <${reg.error}>`);
      continue;
    }
    if (reg.size === 0n && reg.flags === 0 && verbose < 2) continue;
    out.push(
      `Region ${reg.index} (${name}): size=0x${hex(reg.size, 0)}${showSize(reg.size)}, offset=0x${hex(reg.offset, 0)}, ` +
        `flags=0x${hex(reg.flags, 0)}${flagNames(reg.flags, ["READ", "WRITE", "MMAP", "CAPS"])}`,
    );
    if (reg.sparseAreas !== undefined)
      out.push(
        `\tSparse mmap: ${reg.sparseAreas.length === 0 ? "none" : reg.sparseAreas.map((a) => `[0x${hex(a.offset, 0)}+0x${hex(a.size, 0)}]`).join(" ")}`,
      );
    if (reg.type !== undefined) out.push(`\tType: 0x${hex(reg.type.type, 0)}, subtype 0x${hex(reg.type.subtype, 0)}`);
    if (reg.msixMappable) out.push("\tMSI-X table mappable");
    for (const c of reg.otherCapabilities) out.push(`\tCapability ${c.id} v${c.version}: ${c.data.length} byte(s)`);
  }
  for (const irq of r.irqs) {
    const name = IRQ_NAMES[irq.index] ?? `index ${irq.index}`;
    if ("error" in irq) {
      out.push(`IRQ ${irq.index} (${name}): <${irq.error}>`);
      continue;
    }
    if (irq.count === 0 && verbose < 2) continue;
    out.push(
      `IRQ ${irq.index} (${name}): count=${irq.count}, flags=0x${hex(irq.flags, 0)}` +
        flagNames(irq.flags, ["EVENTFD", "MASKABLE", "AUTOMASKED", "NORESIZE"]),
    );
  }
  return out;
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
 * decodes the output.
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
    const c = d.value;
    lines.push(`${slot} ${headline(c, numeric, verbose)}`);
    if (verbose >= 1) {
      const sub = subsystem(c, numeric);
      if (sub !== undefined) lines.push(`\tSubsystem: ${sub}`);
      if (verbose >= 2) {
        lines.push(`\t${controlLine(c.command)}`, `\t${statusLine(c.status)}`);
        if (c.command & PciCommand.MASTER)
          lines.push(
            `\tLatency: ${c.latencyTimer}${c.cacheLineSize !== 0 ? `, Cache Line Size: ${c.cacheLineSize * 4} bytes` : ""}`,
          );
      } else {
        lines.push(`\t${flagsLine(c)}`);
      }
      if (c.interruptPin !== 0 && verbose >= 2) {
        const pin = String.fromCharCode(0x40 + Math.min(c.interruptPin, 5));
        lines.push(`\tInterrupt: pin ${c.interruptPin > 4 ? "?" : pin} routed to IRQ ${c.interruptLine}`);
      }
      for (const l of barLines(c, report.regions, verbose)) lines.push(`\t${l}`);
      for (const cap of c.capabilities) for (const l of capabilityLines(cap, verbose)) lines.push(`\t${l}`);
      for (const e of c.extendedCapabilities)
        lines.push(`\tCapabilities: [${hex(e.offset, 3)} v${e.version}] ${e.name}`);
      for (const issue of c.issues) lines.push(`\tCapabilities: <${issue}>`);
    }
  }
  if (verbose >= 1 || xs === 0) for (const l of vfioUserLines(report, verbose)) lines.push(`\t${l}`);
  if (xs > 0) lines.push(...hexLines(report.config, xs));
  if (verbose >= 1 || xs > 0) lines.push("");
  return `${lines.join("\n")}\n`;
}
