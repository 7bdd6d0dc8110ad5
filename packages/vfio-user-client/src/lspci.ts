import {
  type AcsBits,
  type AerCorrectableErrors,
  type AerUncorrectableErrors,
  type CapabilityChainBreak,
  type DecodedBar,
  type DecodedCapability,
  type DecodedConfigSpace,
  type DecodedExtendedCapability,
  decodeConfigSpace,
  PciCapId,
  PciCommand,
  PciExp,
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

/** lspci's first line for config space: `System peripheral: Device 1234:11ec (rev 10)`. */
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
        : `${pciClassName(c.classCode)}: Device ${ids}`; // as lspci prints it without a name database
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

/**
 * What lspci's capability printers need beyond the capability itself: options, the header type, whether the
 * function is device 0 function 0 (LnkCap2/LnkCtl2 of other endpoints are not shown), whether it has a memory BAR
 * (AtomicOps completer bits), and the IDs (subsystem names).
 */
interface CapContext {
  readonly verbose: number;
  readonly numeric: number;
  readonly headerType: number;
  readonly vendorId: number;
  readonly deviceId: number;
  readonly firstFunction: boolean;
  readonly hasMemoryBar: boolean;
  /** The PCI Express device/port type, once its capability has been seen (extended capabilities need it). */
  pcieType: number | undefined;
}

const AUX_CURRENT_MA = [0, 55, 100, 160, 220, 270, 320, 375];
const LINK_SPEEDS = ["unknown", "2.5GT/s", "5GT/s", "8GT/s", "16GT/s", "32GT/s", "64GT/s"];
const ASPM_SUPPORT = ["not supported", "L0s", "L1", "L0s L1"];
const ASPM_ENABLED = ["Disabled", "L0s Enabled", "L1 Enabled", "L0s L1 Enabled"];
const INDICATOR = ["Unknown", "On", "Blink", "Off"];
const CTO_RANGES: Record<number, string> = {
  0: "Not Supported",
  1: "Range A",
  2: "Range B",
  3: "Range AB",
  6: "Range BC",
  7: "Range ABC",
  14: "Range BCD",
  15: "Range ABCD",
};
const CTO_VALUES: Record<number, string> = {
  0: "50us to 50ms",
  1: "50us to 100us",
  2: "1ms to 10ms",
  5: "16ms to 55ms",
  6: "65ms to 210ms",
  9: "260ms to 900ms",
  10: "1s to 3.5s",
  13: "4s to 13s",
  14: "17s to 64s",
};
const OBFF_SUPPORT = ["Not Supported", "Via message", "Via WAKE#", "Via message/WAKE#"];
const OBFF_ENABLED = ["Disabled", "Via message A", "Via message B", "Via WAKE#"];
const EPR_SUPPORT = ["Not Supported", "Dev Specific", "Form Factor Dev Specific", "Reserved"];
const LN_CLS = ["Not Supported", "64byte cachelines", "128byte cachelines", "Reserved"];
const TPH_COMPLETER = ["TPHComp- ExtTPHComp-", "TPHComp+ ExtTPHComp-", "", "TPHComp+ ExtTPHComp+"];
const DEEMPHASIS = ["-6dB", "-3.5dB"];
const TRANSMIT_MARGIN = [
  "Normal Operating Range",
  "800-1200mV(full-swing)/400-700mV(half-swing)",
  "200-400mV(full-swing)/100-200mV(half-swing)",
  "200-400mV(full-swing)/100-200mV(half-swing)",
  "200-400mV(full-swing)/100-200mV(half-swing)",
  "200-400mV(full-swing)/100-200mV(half-swing)",
];
const COMPLIANCE_PRESET = [
  "-6dB de-emphasis, 0dB preshoot",
  "-3.5dB de-emphasis, 0dB preshoot",
  "-4.4dB de-emphasis, 0dB preshoot",
  "-2.5dB de-emphasis, 0dB preshoot",
  "0dB de-emphasis, 0dB preshoot",
  "0dB de-emphasis, 1.9dB preshoot",
  "0dB de-emphasis, 2.5dB preshoot",
  "-6.0dB de-emphasis, 3.5dB preshoot",
  "-3.5dB de-emphasis, 3.5dB preshoot",
  "0dB de-emphasis, 3.5dB preshoot",
];
const CROSSLINK_RES = ["unsupported", "Upstream Port", "Downstream Port", "incomplete"];
const COMPONENT_PRESENCE: Record<number, string> = {
  0: "Link Down - Not Determined",
  1: "Link Down - Not Present",
  2: "Link Down - Present",
  4: "Link Up - Present",
  5: "Link Up - Present and DRS Received",
};

/** A latency upper bound as lspci prints it: `<64ns`, `<2us`, `unlimited`. */
function latency(ns: number): string {
  if (!Number.isFinite(ns)) return "unlimited";
  return ns < 1000 ? `<${ns}ns` : `<${ns / 1000}us`;
}

/** A power limit as lspci prints it (C's `%g` of the watts, or `>600W`). */
function watts(w: number): string {
  return Number.isFinite(w) ? `${Number(w.toPrecision(6))}W` : ">600W";
}

/** lspci's LnkCap2 speed range from the supported-speeds vector (bit 0 = 2.5 GT/s). */
function speedRange(vector: number): string {
  if (vector & 0x60) return "RsvdP";
  if (vector & 0x10) return "2.5-32GT/s";
  if (vector & 0x08) return "2.5-16GT/s";
  if (vector & 0x04) return "2.5-8GT/s";
  if (vector & 0x02) return "2.5-5GT/s";
  if (vector & 0x01) return "2.5GT/s";
  return "Unknown";
}

/** `Device 1234:0001` / `1234:0001` / `Device [1234:0001]` for a subsystem we have no names for. */
function subsystemIds(vendor: number, device: number, numeric: number): string {
  const ids = `${hex(vendor, 4)}:${hex(device, 4)}`;
  return numeric >= 2 ? `Device [${ids}]` : numeric === 1 ? ids : `Device ${ids}`;
}

function pcieLines(cap: Extract<DecodedCapability, { kind: "pcie" }>, ctx: CapContext, at: string): string[] {
  const t = cap.deviceType;
  const slotted = (name: string): string => `${name} (Slot${pm(cap.slotImplemented)})`;
  const typeText =
    t === PciExp.TYPE_ROOT_PORT || t === PciExp.TYPE_DOWNSTREAM || t === PciExp.TYPE_PCIE_BRIDGE
      ? slotted(cap.deviceTypeName)
      : cap.deviceTypeName;
  const v = ctx.verbose >= 2 ? `(v${cap.version}) ` : "";
  const lines = [`${at}Express ${v}${typeText}, MSI ${hex(cap.interruptMessageNumber, 2)}`];
  if (ctx.verbose < 2) return lines;
  const endpoint = t === PciExp.TYPE_ENDPOINT || t === PciExp.TYPE_LEG_END;
  const rootPort = t === PciExp.TYPE_ROOT_PORT;
  const downstream = t === PciExp.TYPE_DOWNSTREAM;
  const upstream = t === PciExp.TYPE_UPSTREAM;
  const pciBridge = t === PciExp.TYPE_PCI_BRIDGE;
  const flrType = endpoint || t === PciExp.TYPE_RC_END;

  const dc = cap.devCap;
  let l = `\t\tDevCap:\tMaxPayload ${dc.maxPayloadSize} bytes, PhantFunc ${(1 << dc.phantomFunctionBits) - 1}`;
  if (endpoint) l += `, Latency L0s ${latency(dc.l0sAcceptableLatencyNs)}, L1 ${latency(dc.l1AcceptableLatencyNs)}`;
  lines.push(l);
  l = `\t\t\tExtTag${pm(dc.extendedTag)}`;
  if (endpoint || upstream || pciBridge)
    l += ` AttnBtn${pm(dc.attentionButton)} AttnInd${pm(dc.attentionIndicator)} PwrInd${pm(dc.powerIndicator)}`;
  l += ` RBE${pm(dc.roleBasedErrorReporting)}`;
  if (flrType) l += ` FLReset${pm(dc.flr)}`;
  if (t === PciExp.TYPE_ENDPOINT || upstream || pciBridge) l += ` SlotPowerLimit ${watts(dc.slotPowerLimitWatts)}`;
  lines.push(l);
  const ctl = cap.devCtl;
  lines.push(
    `\t\tDevCtl:\tCorrErr${pm(ctl.correctableErrorReporting)} NonFatalErr${pm(ctl.nonFatalErrorReporting)} ` +
      `FatalErr${pm(ctl.fatalErrorReporting)} UnsupReq${pm(ctl.unsupportedRequestReporting)}`,
  );
  l =
    `\t\t\tRlxdOrd${pm(ctl.relaxedOrdering)} ExtTag${pm(ctl.extendedTag)} PhantFunc${pm(ctl.phantomFunctions)} ` +
    `AuxPwr${pm(ctl.auxPowerPm)} NoSnoop${pm(ctl.noSnoop)}`;
  if (pciBridge) l += ` BrConfRtry${pm(ctl.bridgeConfigRetry)}`;
  if (flrType && dc.flr) l += ` FLReset${pm(ctl.initiateFlr)}`;
  lines.push(l, `\t\t\tMaxPayload ${ctl.maxPayloadSize} bytes, MaxReadReq ${ctl.maxReadRequestSize} bytes`);
  const ds = cap.devSta;
  lines.push(
    `\t\tDevSta:\tCorrErr${pm(ds.correctableError)} NonFatalErr${pm(ds.nonFatalError)} FatalErr${pm(ds.fatalError)} ` +
      `UnsupReq${pm(ds.unsupportedRequest)} AuxPwr${pm(ds.auxPowerDetected)} TransPend${pm(ds.transactionsPending)}`,
  );

  const lc = cap.lnkCap;
  const lctl = cap.lnkCtl;
  const ls = cap.lnkSta;
  if (lc !== undefined && lctl !== undefined && ls !== undefined) {
    l = `\t\tLnkCap:\tPort #${lc.portNumber}, Speed ${LINK_SPEEDS[lc.maxSpeed] ?? "unknown"}, Width x${lc.maxWidth}, ASPM ${ASPM_SUPPORT[lc.aspmSupport]}`;
    if (lc.aspmSupport !== 0) {
      l += ", Exit Latency ";
      if (lc.aspmSupport & 1) l += `L0s ${latency(lc.l0sExitLatencyNs)}`;
      if (lc.aspmSupport & 2) l += `${lc.aspmSupport & 1 ? ", " : ""}L1 ${latency(lc.l1ExitLatencyNs)}`;
    }
    lines.push(
      l,
      `\t\t\tClockPM${pm(lc.clockPm)} Surprise${pm(lc.surpriseDownReporting)} LLActRep${pm(lc.dataLinkLayerActiveReporting)} ` +
        `BwNot${pm(lc.bandwidthNotification)} ASPMOptComp${pm(lc.aspmOptionalityCompliance)}`,
    );
    l = `\t\tLnkCtl:\tASPM ${ASPM_ENABLED[lctl.aspm]};`;
    if (rootPort || endpoint || pciBridge) l += ` RCB ${lctl.rcb128 ? 128 : 64} bytes,`;
    lines.push(
      `${l} Disabled${pm(lctl.linkDisable)} CommClk${pm(lctl.commonClock)}`,
      `\t\t\tExtSynch${pm(lctl.extendedSynch)} ClockPM${pm(lctl.clockPm)} AutWidDis${pm(lctl.hwAutonomousWidthDisable)} ` +
        `BWInt${pm(lctl.bandwidthManagementInterrupt)} AutBWInt${pm(lctl.autonomousBandwidthInterrupt)}`,
    );
    const compare = (sta: number, capv: number): string =>
      sta > capv
        ? " (overdriven)"
        : sta === capv || rootPort || downstream || t === PciExp.TYPE_PCIE_BRIDGE
          ? ""
          : " (downgraded)";
    lines.push(
      `\t\tLnkSta:\tSpeed ${LINK_SPEEDS[ls.speed] ?? "unknown"}${compare(ls.speed, lc.maxSpeed)}, ` +
        `Width x${ls.width}${compare(ls.width, lc.maxWidth)}`,
      `\t\t\tTrErr${pm(ls.trainingError)} Train${pm(ls.linkTraining)} SlotClk${pm(ls.slotClock)} ` +
        `DLActive${pm(ls.dataLinkLayerActive)} BWMgmt${pm(ls.bandwidthManagement)} ABWMgmt${pm(ls.autonomousBandwidth)}`,
    );
  }
  const sc = cap.sltCap;
  const sctl = cap.sltCtl;
  const ss = cap.sltSta;
  if (sc !== undefined && sctl !== undefined && ss !== undefined) {
    lines.push(
      `\t\tSltCap:\tAttnBtn${pm(sc.attentionButton)} PwrCtrl${pm(sc.powerController)} MRL${pm(sc.mrlSensor)} ` +
        `AttnInd${pm(sc.attentionIndicator)} PwrInd${pm(sc.powerIndicator)} HotPlug${pm(sc.hotPlugCapable)} ` +
        `Surprise${pm(sc.hotPlugSurprise)}`,
      `\t\t\tSlot #${sc.physicalSlotNumber}, PowerLimit ${watts(sc.powerLimitWatts)}; ` +
        `Interlock${pm(sc.electromechanicalInterlock)} NoCompl${pm(sc.noCommandCompleted)}`,
      `\t\tSltCtl:\tEnable: AttnBtn${pm(sctl.attentionButtonPressedEnable)} PwrFlt${pm(sctl.powerFaultDetectedEnable)} ` +
        `MRL${pm(sctl.mrlSensorChangedEnable)} PresDet${pm(sctl.presenceDetectChangedEnable)} ` +
        `CmdCplt${pm(sctl.commandCompletedInterruptEnable)} HPIrq${pm(sctl.hotPlugInterruptEnable)} ` +
        `LinkChg${pm(sctl.dataLinkLayerStateChangedEnable)}`,
      `\t\t\tControl: AttnInd ${INDICATOR[sctl.attentionIndicator]}, PwrInd ${INDICATOR[sctl.powerIndicator]}, ` +
        `Power${pm(sctl.powerControllerOff)} Interlock${pm(sctl.electromechanicalInterlock)}`,
      `\t\tSltSta:\tStatus: AttnBtn${pm(ss.attentionButtonPressed)} PowerFlt${pm(ss.powerFaultDetected)} ` +
        `MRL${pm(ss.mrlSensorOpen)} CmdCplt${pm(ss.commandCompleted)} PresDet${pm(ss.presenceDetected)} ` +
        `Interlock${pm(ss.electromechanicalInterlockEngaged)}`,
      `\t\t\tChanged: MRL${pm(ss.mrlSensorChanged)} PresDet${pm(ss.presenceDetectChanged)} ` +
        `LinkState${pm(ss.dataLinkLayerStateChanged)}`,
    );
  }
  const r = cap.root;
  if (r !== undefined)
    lines.push(
      `\t\tRootCap: CRSVisible${pm(r.crsSoftwareVisibilityCapable)}`,
      `\t\tRootCtl: ErrCorrectable${pm(r.systemErrorOnCorrectable)} ErrNon-Fatal${pm(r.systemErrorOnNonFatal)} ` +
        `ErrFatal${pm(r.systemErrorOnFatal)} PMEIntEna${pm(r.pmeInterruptEnable)} CRSVisible${pm(r.crsSoftwareVisibilityEnable)}`,
      `\t\tRootSta: PME ReqID ${hex(r.pmeRequesterId, 4)}, PMEStatus${pm(r.pmeStatus)} PMEPending${pm(r.pmePending)}`,
    );

  const d2 = cap.devCap2;
  const c2 = cap.devCtl2;
  if (d2 === undefined || c2 === undefined) return lines;
  const ariPorts = rootPort || downstream;
  lines.push(
    `\t\tDevCap2: Completion Timeout: ${CTO_RANGES[d2.completionTimeoutRanges] ?? "Unknown"}, ` +
      `TimeoutDis${pm(d2.completionTimeoutDisable)} NROPrPrP${pm(d2.noRoEnabledPrPrPassing)} LTR${pm(d2.ltr)}`,
    `\t\t\t 10BitTagComp${pm(d2.tag10BitCompleter)} 10BitTagReq${pm(d2.tag10BitRequester)} ` +
      `OBFF ${OBFF_SUPPORT[d2.obff]}, ExtFmt${pm(d2.extendedFmtField)} EETLPPrefix${pm(d2.endEndTlpPrefix)}` +
      (d2.endEndTlpPrefix ? `, MaxEETLPPrefixes ${d2.maxEndEndTlpPrefixes}` : ""),
    `\t\t\t EmergencyPowerReduction ${EPR_SUPPORT[d2.emergencyPowerReduction]}, ` +
      `EmergencyPowerReductionInit${pm(d2.emergencyPowerReductionInitRequired)}`,
  );
  l = `\t\t\t FRS${pm(d2.frs)}`;
  if (rootPort) l += ` LN System CLS ${LN_CLS[d2.lnSystemCls]},`;
  if (rootPort || t === PciExp.TYPE_ENDPOINT) l += ` ${TPH_COMPLETER[d2.tphCompleter]}`;
  if (ariPorts) l += ` ARIFwd${pm(d2.ariForwarding)}`;
  lines.push(l);
  if (rootPort || upstream || downstream || ctx.hasMemoryBar) {
    l = "\t\t\t AtomicOpsCap:";
    if (rootPort || upstream || downstream) l += ` Routing${pm(d2.atomicOpRouting)}`;
    if (rootPort || ctx.hasMemoryBar)
      l += ` 32bit${pm(d2.atomicOp32Completer)} 64bit${pm(d2.atomicOp64Completer)} 128bitCAS${pm(d2.cas128Completer)}`;
    lines.push(l);
  }
  l =
    `\t\tDevCtl2: Completion Timeout: ${CTO_VALUES[c2.completionTimeoutValue] ?? "Unknown"}, ` +
    `TimeoutDis${pm(c2.completionTimeoutDisable)} LTR${pm(c2.ltr)} 10BitTagReq${pm(c2.tag10BitRequester)} ` +
    `OBFF ${OBFF_ENABLED[c2.obff]},`;
  if (ariPorts) l += ` ARIFwd${pm(c2.ariForwarding)}`;
  lines.push(l);
  if (rootPort || upstream || downstream || endpoint || t === PciExp.TYPE_RC_END) {
    l = "\t\t\t AtomicOpsCtl:";
    if (rootPort || endpoint || t === PciExp.TYPE_RC_END) l += ` ReqEn${pm(c2.atomicOpRequester)}`;
    if (rootPort || upstream || downstream) l += ` EgressBlck${pm(c2.atomicOpEgressBlocking)}`;
    lines.push(l);
  }

  const lc2 = cap.lnkCap2;
  const lctl2 = cap.lnkCtl2;
  const ls2 = cap.lnkSta2;
  if (lc2 === undefined || lctl2 === undefined || ls2 === undefined) return lines;
  // lspci leaves out Link Capabilities/Control 2 of endpoints other than device 0 function 0 (reserved before 3.0).
  const showCap2 = !(endpoint && !ctx.firstFunction);
  if (showCap2) {
    if (lc2.raw !== 0)
      lines.push(
        `\t\tLnkCap2: Supported Link Speeds: ${speedRange(lc2.supportedSpeeds)}, Crosslink${pm(lc2.crosslink)} ` +
          `Retimer${pm(lc2.retimerPresenceDetect)} 2Retimers${pm(lc2.twoRetimersPresenceDetect)} DRS${pm(lc2.drs)}`,
      );
    l =
      `\t\tLnkCtl2: Target Link Speed: ${lctl2.targetSpeed === 0 ? "2.5GT/s" : (LINK_SPEEDS[lctl2.targetSpeed] ?? "Unknown")}, ` +
      `EnterCompliance${pm(lctl2.enterCompliance)} SpeedDis${pm(lctl2.hwAutonomousSpeedDisable)}`;
    if (downstream) l += `, Selectable De-emphasis: ${DEEMPHASIS[lctl2.selectableDeemphasis ? 1 : 0]}`;
    lines.push(
      l,
      `\t\t\t Transmit Margin: ${TRANSMIT_MARGIN[lctl2.transmitMargin] ?? "Unknown"}, ` +
        `EnterModifiedCompliance${pm(lctl2.enterModifiedCompliance)} ComplianceSOS${pm(lctl2.complianceSos)}`,
      `\t\t\t Compliance Preset/De-emphasis: ${COMPLIANCE_PRESET[lctl2.compliancePreset] ?? "Unknown"}`,
    );
  }
  lines.push(
    `\t\tLnkSta2: Current De-emphasis Level: ${DEEMPHASIS[ls2.deemphasis35dB ? 1 : 0]}, ` +
      `EqualizationComplete${pm(ls2.equalizationComplete)} EqualizationPhase1${pm(ls2.equalizationPhase1)}`,
    `\t\t\t EqualizationPhase2${pm(ls2.equalizationPhase2)} EqualizationPhase3${pm(ls2.equalizationPhase3)} ` +
      `LinkEqualizationRequest${pm(ls2.linkEqualizationRequest)}`,
  );
  l =
    `\t\t\t Retimer${pm(ls2.retimerDetected)} 2Retimers${pm(ls2.twoRetimersDetected)} ` +
    `CrosslinkRes: ${CROSSLINK_RES[ls2.crosslinkResolution]}`;
  const downstreamPort = rootPort || downstream || t === PciExp.TYPE_PCIE_BRIDGE;
  if (downstreamPort && showCap2 && lc2.drs) {
    lines.push(`${l}, DRS${pm(ls2.drsMessageReceived)}`);
    lines.push(`\t\t\t DownstreamComp: ${COMPONENT_PRESENCE[ls2.downstreamComponentPresence] ?? "Reserved"}`);
  } else lines.push(l);
  return lines;
}

const VIRTIO_CFG = ["<unknown>", "CommonCfg", "Notify", "ISR", "DeviceCfg"];
/** Standard capabilities lspci names but does not decode ("... <?>"). */
const STD_UNDECODED = new Set([0x06, 0x0b, 0x0e, 0x0f]);

/** The lines of one standard capability, with their tabs, as lspci prints them. */
function capabilityLines(cap: DecodedCapability, ctx: CapContext): string[] {
  const at = `\tCapabilities: [${hex(cap.offset, 2)}] `;
  const vv = ctx.verbose >= 2;
  switch (cap.kind) {
    case "pm": {
      const lines = [`${at}Power Management version ${cap.version}`];
      if (!vv) return lines;
      const pme = (bit: number): string => pm((cap.pmeSupport & (1 << bit)) !== 0);
      lines.push(
        `\t\tFlags: PMEClk${pm(cap.pmeClock)} DSI${pm(cap.dsi)} D1${pm(cap.d1)} D2${pm(cap.d2)} ` +
          `AuxCurrent=${AUX_CURRENT_MA[cap.auxCurrent] ?? 0}mA ` +
          `PME(D0${pme(0)},D1${pme(1)},D2${pme(2)},D3hot${pme(3)},D3cold${pme(4)})`,
        `\t\tStatus: D${cap.powerState} NoSoftRst${pm(cap.noSoftReset)} PME-Enable${pm(cap.pmeEnable)} ` +
          `DSel=${cap.dataSelect} DScale=${cap.dataScale} PME${pm(cap.pmeStatus)}`,
      );
      if (cap.bridgeSupport !== 0) lines.push(`\t\tBridge: PM${pm(cap.busPowerClockControl)} B3${pm(!cap.b2b3)}`);
      return lines;
    }
    case "msi": {
      const lines = [
        `${at}MSI: Enable${pm(cap.enabled)} Count=${cap.vectorsEnabled}/${cap.vectorsCapable} ` +
          `Maskable${pm(cap.perVectorMask)} 64bit${pm(cap.address64)}`,
      ];
      if (!vv) return lines;
      lines.push(`\t\tAddress: ${hex(cap.address, cap.address64 ? 16 : 8)}  Data: ${hex(cap.data, 4)}`);
      if (cap.perVectorMask)
        lines.push(`\t\tMasking: ${hex(cap.maskBits ?? 0, 8)}  Pending: ${hex(cap.pendingBits ?? 0, 8)}`);
      return lines;
    }
    case "msix": {
      const lines = [`${at}MSI-X: Enable${pm(cap.enabled)} Count=${cap.tableSize} Masked${pm(cap.functionMask)}`];
      if (vv)
        lines.push(
          `\t\tVector table: BAR=${cap.tableBar} offset=${hex(cap.tableOffset, 8)}`,
          `\t\tPBA: BAR=${cap.pbaBar} offset=${hex(cap.pbaOffset, 8)}`,
        );
      return lines;
    }
    case "pcie":
      ctx.pcieType = cap.deviceType;
      return pcieLines(cap, ctx, at);
    case "vendor": {
      const v = cap.virtio;
      if (v === undefined) return [`${at}Vendor Specific Information: Len=${hex(cap.length, 2)} <?>`];
      const lines = [`${at}Vendor Specific Information: VirtIO: ${VIRTIO_CFG[v.cfgType] ?? "<unknown>"}`];
      if (vv)
        lines.push(
          `\t\tBAR=${v.bar} offset=${hex(v.offset, 8)} size=${hex(v.length, 8)}` +
            (v.notifyOffMultiplier === undefined ? "" : ` multiplier=${hex(v.notifyOffMultiplier, 8)}`),
        );
      return lines;
    }
    case "slot-id":
      return [
        `${at}Slot ID: ${cap.expansionSlots} slots, First${pm(cap.firstInChassis)}, chassis ${hex(cap.chassis, 2)}`,
      ];
    case "debug-port":
      return [`${at}Debug port: BAR=${cap.bar} offset=${hex(cap.barOffset, 4)}`];
    case "ssvid":
      return [`${at}Subsystem: ${subsystemIds(cap.subsystemVendorId, cap.subsystemId, ctx.numeric)}`];
    case "af": {
      const lines = [`${at}PCI Advanced Features`];
      if (vv)
        lines.push(
          `\t\tAFCap: TP${pm(cap.transactionsPendingCapable)} FLR${pm(cap.flrCapable)}`,
          `\t\tAFCtrl: FLR${pm(cap.initiateFlr)}`,
          `\t\tAFStatus: TP${pm(cap.transactionsPending)}`,
        );
      return lines;
    }
    case "sata": {
      let l = `${at}SATA HBA v${cap.major}.${cap.minor}`;
      if (vv) {
        const loc = cap.barLocation;
        l +=
          loc >= 4 && loc <= 9
            ? ` BAR${loc - 4} Offset=${hex(cap.barOffset, 8)}`
            : loc === 15
              ? " InCfgSpace"
              : ` BAR??${loc}`;
      }
      return [l];
    }
    case "other": {
      // Named but not decoded here: the name, and lspci's "<?>" where lspci does not decode it either.
      if (cap.id === PciCapId.AGP)
        return [`${at}AGP version ${((cap.word >> 4) & 0xf).toString(16)}.${(cap.word & 0xf).toString(16)}`];
      if (cap.id === PciCapId.PCIX) return [`${at}PCI-X ${ctx.headerType === 1 ? "bridge" : "non-bridge"} device`];
      if (cap.id === PciCapId.EA) return [`${at}Enhanced Allocation (EA): NumEntries=${cap.word & 0x3f}`];
      if (cap.title === undefined) return [`${at}Capability ID 0x${cap.id.toString(16)} [${hex(cap.word, 4)}]`];
      return [`${at}${cap.title}${STD_UNDECODED.has(cap.id) ? " <?>" : ""}`];
    }
  }
}

const UE_NAMES = [
  ["DLP", "dataLinkProtocol"],
  ["SDES", "surpriseDown"],
  ["TLP", "poisonedTlp"],
  ["FCP", "flowControlProtocol"],
  ["CmpltTO", "completionTimeout"],
  ["CmpltAbrt", "completerAbort"],
  ["UnxCmplt", "unexpectedCompletion"],
  ["RxOF", "receiverOverflow"],
  ["MalfTLP", "malformedTlp"],
  ["ECRC", "ecrc"],
  ["UnsupReq", "unsupportedRequest"],
  ["ACSViol", "acsViolation"],
] as const satisfies readonly (readonly [string, keyof AerUncorrectableErrors])[];
const CE_NAMES = [
  ["RxErr", "receiverError"],
  ["BadTLP", "badTlp"],
  ["BadDLLP", "badDllp"],
  ["Rollover", "replayNumRollover"],
  ["Timeout", "replayTimerTimeout"],
  ["AdvNonFatalErr", "advisoryNonFatal"],
] as const satisfies readonly (readonly [string, keyof AerCorrectableErrors])[];
const ACS_NAMES = [
  ["SrcValid", "sourceValidation"],
  ["TransBlk", "translationBlocking"],
  ["ReqRedir", "requestRedirect"],
  ["CmpltRedir", "completionRedirect"],
  ["UpstreamFwd", "upstreamForwarding"],
  ["EgressCtrl", "egressControl"],
  ["DirectTrans", "directTranslatedP2p"],
] as const satisfies readonly (readonly [string, keyof AcsBits])[];

function flagList<T>(v: T, names: readonly (readonly [string, keyof T])[]): string {
  return names.map(([label, key]) => `${label}${pm(v[key] === true)}`).join(" ");
}

/** Extended capabilities lspci names but does not decode ("... <?>"). */
const EXT_UNDECODED = new Set([
  0x04, 0x06, 0x08, 0x0a, 0x11, 0x16, 0x1a, 0x1c, 0x20, 0x21, 0x22, 0x25, 0x26, 0x27, 0x28, 0x29,
]);

/** The lines of one extended capability, with their tabs, as lspci prints them. */
function extendedCapabilityLines(cap: DecodedExtendedCapability, ctx: CapContext): string[] {
  const vv = ctx.verbose >= 2;
  const at = `\tCapabilities: [${hex(cap.offset, 3)}${vv ? ` v${cap.version}` : ""}] `;
  switch (cap.kind) {
    case "aer": {
      const lines = [`${at}Advanced Error Reporting`];
      if (!vv) return lines;
      const c = cap.control;
      lines.push(
        `\t\tUESta:\t${flagList(cap.uncorrectableStatus, UE_NAMES)}`,
        `\t\tUEMsk:\t${flagList(cap.uncorrectableMask, UE_NAMES)}`,
        `\t\tUESvrt:\t${flagList(cap.uncorrectableSeverity, UE_NAMES)}`,
        `\t\tCESta:\t${flagList(cap.correctableStatus, CE_NAMES)}`,
        `\t\tCEMsk:\t${flagList(cap.correctableMask, CE_NAMES)}`,
        `\t\tAERCap:\tFirst Error Pointer: ${hex(c.firstErrorPointer, 2)}, ECRCGenCap${pm(c.ecrcGenerationCapable)} ` +
          `ECRCGenEn${pm(c.ecrcGenerationEnabled)} ECRCChkCap${pm(c.ecrcCheckCapable)} ECRCChkEn${pm(c.ecrcCheckEnabled)}`,
        `\t\t\tMultHdrRecCap${pm(c.multipleHeaderRecordingCapable)} MultHdrRecEn${pm(c.multipleHeaderRecordingEnabled)} ` +
          `TLPPfxPres${pm(c.tlpPrefixLogPresent)} HdrLogCap${pm(c.completionTimeoutHeaderLogCapable)}`,
        `\t\tHeaderLog: ${cap.headerLog.map((d) => hex(d, 8)).join(" ")}`,
      );
      const r = cap.root;
      if (r !== undefined)
        lines.push(
          `\t\tRootCmd: CERptEn${pm(r.correctableReportingEnable)} NFERptEn${pm(r.nonFatalReportingEnable)} ` +
            `FERptEn${pm(r.fatalReportingEnable)}`,
          `\t\tRootSta: CERcvd${pm(r.correctableReceived)} MultCERcvd${pm(r.multipleCorrectableReceived)} ` +
            `UERcvd${pm(r.uncorrectableReceived)} MultUERcvd${pm(r.multipleUncorrectableReceived)}`,
          `\t\t\t FirstFatal${pm(r.firstUncorrectableFatal)} NonFatalMsg${pm(r.nonFatalReceived)} ` +
            `FatalMsg${pm(r.fatalReceived)} IntMsg ${r.interruptMessageNumber}`,
          `\t\tErrorSrc: ERR_COR: ${hex(r.correctableSourceId, 4)} ERR_FATAL/NONFATAL: ${hex(r.uncorrectableSourceId, 4)}`,
        );
      return lines;
    }
    case "dsn": {
      const bytes = Array.from({ length: 8 }, (_, i) => hex((cap.serialNumber >> BigInt(56 - 8 * i)) & 0xffn, 2));
      return [`${at}Device Serial Number ${bytes.join("-")}`];
    }
    case "ari": {
      const lines = [`${at}Alternative Routing-ID Interpretation (ARI)`];
      if (vv)
        lines.push(
          `\t\tARICap:\tMFVC${pm(cap.mfvcFunctionGroupsCapable)} ACS${pm(cap.acsFunctionGroupsCapable)}, ` +
            `Next Function: ${cap.nextFunction}`,
          `\t\tARICtl:\tMFVC${pm(cap.mfvcFunctionGroupsEnabled)} ACS${pm(cap.acsFunctionGroupsEnabled)}, ` +
            `Function Group: ${cap.functionGroup}`,
        );
      return lines;
    }
    case "sriov": {
      const lines = [`${at}Single Root I/O Virtualization (SR-IOV)`];
      if (!vv) return lines;
      lines.push(
        `\t\tIOVCap:\tMigration${pm(cap.vfMigrationCapable)} 10BitTagReq${pm(cap.vf10BitTagRequesterSupported)} ` +
          `Interrupt Message Number: ${hex(cap.vfMigrationInterruptMessageNumber, 3)}`,
        `\t\tIOVCtl:\tEnable${pm(cap.vfEnable)} Migration${pm(cap.vfMigrationEnable)} ` +
          `Interrupt${pm(cap.vfMigrationInterruptEnable)} MSE${pm(cap.vfMemorySpaceEnable)} ` +
          `ARIHierarchy${pm(cap.ariCapableHierarchy)} 10BitTagReq${pm(cap.vf10BitTagRequesterEnable)}`,
        `\t\tIOVSta:\tMigration${pm(cap.vfMigrationStatus)}`,
        `\t\tInitial VFs: ${cap.initialVfs}, Total VFs: ${cap.totalVfs}, Number of VFs: ${cap.numVfs}, ` +
          `Function Dependency Link: ${hex(cap.functionDependencyLink, 2)}`,
        `\t\tVF offset: ${cap.firstVfOffset}, stride: ${cap.vfStride}, Device ID: ${hex(cap.vfDeviceId, 4)}`,
        `\t\tSupported Page Size: ${hex(cap.supportedPageSizes, 8)}, System Page Size: ${hex(cap.systemPageSize, 8)}`,
      );
      for (const bar of cap.vfBars) {
        const is64 = bar.kind === "memory64";
        // lspci calls every VF BAR that is not type 00b "64-bit".
        lines.push(
          `\t\tRegion ${bar.index}: Memory at ${hex(bar.address, is64 ? 16 : 8)} ` +
            `(${bar.kind === "memory32" ? "32" : "64"}-bit, ${bar.prefetchable ? "" : "non-"}prefetchable)`,
        );
      }
      lines.push(`\t\tVF Migration: offset: ${hex(cap.vfMigrationStateOffset, 8)}, BIR: ${cap.vfMigrationStateBir}`);
      return lines;
    }
    case "acs": {
      const lines = [`${at}Access Control Services`];
      if (vv)
        lines.push(
          `\t\tACSCap:\t${flagList(cap.capabilities, ACS_NAMES)}`,
          `\t\tACSCtl:\t${flagList(cap.control, ACS_NAMES)}`,
        );
      return lines;
    }
    case "ats": {
      const lines = [`${at}Address Translation Service (ATS)`];
      if (vv)
        lines.push(
          `\t\tATSCap:\tInvalidate Queue Depth: ${hex(cap.invalidateQueueDepth, 2)}`,
          `\t\tATSCtl:\tEnable${pm(cap.enabled)}, Smallest Translation Unit: ${hex(cap.smallestTranslationUnit, 2)}`,
        );
      return lines;
    }
    case "pri": {
      const lines = [`${at}Page Request Interface (PRI)`];
      if (vv)
        lines.push(
          `\t\tPRICtl: Enable${pm(cap.enabled)} Reset${pm(cap.reset)}`,
          `\t\tPRISta: RF${pm(cap.responseFailure)} UPRGI${pm(cap.unexpectedPageRequestGroupIndex)} Stopped${pm(cap.stopped)}`,
          `\t\tPage Request Capacity: ${hex(cap.outstandingPageRequestCapacity, 8)}, ` +
            `Page Request Allocation: ${hex(cap.outstandingPageRequestAllocation, 8)}`,
        );
      return lines;
    }
    case "pasid": {
      const lines = [`${at}Process Address Space ID (PASID)`];
      if (vv)
        lines.push(
          `\t\tPASIDCap: Exec${pm(cap.executePermissionSupported)} Priv${pm(cap.privilegedModeSupported)}, ` +
            `Max PASID Width: ${hex(cap.maxPasidWidth, 2)}`,
          `\t\tPASIDCtl: Enable${pm(cap.enabled)} Exec${pm(cap.executePermissionEnabled)} Priv${pm(cap.privilegedModeEnabled)}`,
        );
      return lines;
    }
    case "ltr": {
      const lines = [`${at}Latency Tolerance Reporting`];
      if (vv)
        lines.push(
          `\t\tMax snoop latency: ${cap.maxSnoopLatencyNs}ns`,
          `\t\tMax no snoop latency: ${cap.maxNoSnoopLatencyNs}ns`,
        );
      return lines;
    }
    case "vsec":
      return [
        `${at}Vendor Specific Information: ID=${hex(cap.vsecId, 4)} Rev=${cap.vsecRevision} Len=${hex(cap.vsecLength, 3)} <?>`,
      ];
    case "dvsec":
      return [
        `${at}Designated Vendor-Specific: Vendor=${hex(cap.dvsecVendorId, 4)} ID=${hex(cap.dvsecId, 4)} ` +
          `Rev=${cap.dvsecRevision} Len=${cap.dvsecLength} <?>`,
      ];
    case "other":
      if (cap.title === undefined) return [`${at}Extended Capability ID 0x${cap.id.toString(16)}`];
      return [`${at}${cap.title}${EXT_UNDECODED.has(cap.id) ? " <?>" : ""}`];
  }
}

/** The lines lspci prints where a capability list stops early. */
function chainBreakLine(
  brk: CapabilityChainBreak,
  extended: readonly DecodedExtendedCapability[] | undefined,
  verbose: number,
): string {
  if (extended === undefined) {
    if (brk.reason === "unreadable") return "\tCapabilities: <access denied>";
    return `\tCapabilities: [${hex(brk.offset, 2)}] <chain ${brk.reason}>`;
  }
  const version = extended.find((e) => e.offset === brk.offset)?.version ?? 0;
  return `\tCapabilities: [${hex(brk.offset, 3)}${verbose >= 2 ? ` v${version}` : ""}] <chain ${brk.reason}>`;
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
function verboseLines(
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
      lines.push(`\tSubsystem: ${subsystemIds(c.subsystemVendorId, c.subsystemId, numeric)}`);
  } else if (c.headerType === 1) {
    const ss = c.capabilities.find((k) => k.kind === "ssvid");
    if (ss !== undefined && ss.subsystemVendorId !== 0 && ss.subsystemVendorId !== 0xffff)
      lines.push(`\tSubsystem: ${subsystemIds(ss.subsystemVendorId, ss.subsystemId, numeric)}`);
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
  if (verbose >= 1 || xs === 0) for (const l of vfioUserLines(report, verbose)) lines.push(`\t${l}`);
  if (xs > 0) lines.push(...hexLines(report.config, xs));
  if (verbose >= 1 || xs > 0) lines.push("");
  return `${lines.join("\n")}\n`;
}
