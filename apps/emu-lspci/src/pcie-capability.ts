import type { DecodedCapability } from "@emu/pci-config";
import { PciExp } from "@emu/pci-config";
import { hex, pm } from "./text.js";

/**
 * What lspci's capability printers need beyond the capability itself: options, the header type, whether the
 * function is device 0 function 0 (LnkCap2/LnkCtl2 of other endpoints are not shown), whether it has a memory BAR
 * (AtomicOps completer bits), and the IDs (subsystem names).
 */
export interface CapContext {
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

type PcieCap = Extract<DecodedCapability, { kind: "pcie" }>;

/** The device/port type facts that decide which fields lspci prints. */
interface PortRole {
  readonly type: number;
  readonly endpoint: boolean;
  readonly rootPort: boolean;
  readonly downstream: boolean;
  readonly upstream: boolean;
  readonly pciBridge: boolean;
  readonly flrType: boolean;
}

function portRole(t: number): PortRole {
  const endpoint = t === PciExp.TYPE_ENDPOINT || t === PciExp.TYPE_LEG_END;
  return {
    type: t,
    endpoint,
    rootPort: t === PciExp.TYPE_ROOT_PORT,
    downstream: t === PciExp.TYPE_DOWNSTREAM,
    upstream: t === PciExp.TYPE_UPSTREAM,
    pciBridge: t === PciExp.TYPE_PCI_BRIDGE,
    flrType: endpoint || t === PciExp.TYPE_RC_END,
  };
}

export function pcieLines(cap: PcieCap, ctx: CapContext, at: string): string[] {
  const t = cap.deviceType;
  const slotted = (name: string): string => `${name} (Slot${pm(cap.slotImplemented)})`;
  const typeText =
    t === PciExp.TYPE_ROOT_PORT || t === PciExp.TYPE_DOWNSTREAM || t === PciExp.TYPE_PCIE_BRIDGE
      ? slotted(cap.deviceTypeName)
      : cap.deviceTypeName;
  const v = ctx.verbose >= 2 ? `(v${cap.version}) ` : "";
  const lines = [`${at}Express ${v}${typeText}, MSI ${hex(cap.interruptMessageNumber, 2)}`];
  if (ctx.verbose < 2) return lines;
  const role = portRole(t);
  lines.push(...deviceLines(cap, role), ...linkLines(cap, role), ...slotLines(cap), ...rootLines(cap));
  const d2 = cap.devCap2;
  const c2 = cap.devCtl2;
  if (d2 === undefined || c2 === undefined) return lines;
  lines.push(...deviceCap2Lines(d2, role, ctx), ...deviceCtl2Lines(c2, role), ...link2Lines(cap, role, ctx));
  return lines;
}

/** DevCap, DevCtl and DevSta. */
function deviceLines(cap: PcieCap, role: PortRole): string[] {
  const { type: t, endpoint, upstream, pciBridge, flrType } = role;
  const lines: string[] = [];
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
  return lines;
}

/** LnkCap, LnkCtl and LnkSta, when the function has a link. */
function linkLines(cap: PcieCap, role: PortRole): string[] {
  const { type: t, endpoint, rootPort, downstream, pciBridge } = role;
  const lc = cap.lnkCap;
  const lctl = cap.lnkCtl;
  const ls = cap.lnkSta;
  if (lc === undefined || lctl === undefined || ls === undefined) return [];
  let l = `\t\tLnkCap:\tPort #${lc.portNumber}, Speed ${LINK_SPEEDS[lc.maxSpeed] ?? "unknown"}, Width x${lc.maxWidth}, ASPM ${ASPM_SUPPORT[lc.aspmSupport]}`;
  if (lc.aspmSupport !== 0) {
    l += ", Exit Latency ";
    if (lc.aspmSupport & 1) l += `L0s ${latency(lc.l0sExitLatencyNs)}`;
    if (lc.aspmSupport & 2) l += `${lc.aspmSupport & 1 ? ", " : ""}L1 ${latency(lc.l1ExitLatencyNs)}`;
  }
  const lines = [
    l,
    `\t\t\tClockPM${pm(lc.clockPm)} Surprise${pm(lc.surpriseDownReporting)} LLActRep${pm(lc.dataLinkLayerActiveReporting)} ` +
      `BwNot${pm(lc.bandwidthNotification)} ASPMOptComp${pm(lc.aspmOptionalityCompliance)}`,
  ];
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
  return lines;
}

/** SltCap, SltCtl and SltSta, when the port has a slot. */
function slotLines(cap: PcieCap): string[] {
  const sc = cap.sltCap;
  const sctl = cap.sltCtl;
  const ss = cap.sltSta;
  if (sc === undefined || sctl === undefined || ss === undefined) return [];
  return [
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
  ];
}

/** RootCap, RootCtl and RootSta, for root ports and root complex event collectors. */
function rootLines(cap: PcieCap): string[] {
  const r = cap.root;
  if (r === undefined) return [];
  return [
    `\t\tRootCap: CRSVisible${pm(r.crsSoftwareVisibilityCapable)}`,
    `\t\tRootCtl: ErrCorrectable${pm(r.systemErrorOnCorrectable)} ErrNon-Fatal${pm(r.systemErrorOnNonFatal)} ` +
      `ErrFatal${pm(r.systemErrorOnFatal)} PMEIntEna${pm(r.pmeInterruptEnable)} CRSVisible${pm(r.crsSoftwareVisibilityEnable)}`,
    `\t\tRootSta: PME ReqID ${hex(r.pmeRequesterId, 4)}, PMEStatus${pm(r.pmeStatus)} PMEPending${pm(r.pmePending)}`,
  ];
}

/** DevCap2, with the AtomicOps completer bits lspci shows for ports and functions with a memory BAR. */
function deviceCap2Lines(d2: NonNullable<PcieCap["devCap2"]>, role: PortRole, ctx: CapContext): string[] {
  const { type: t, rootPort, downstream, upstream } = role;
  const lines = [
    `\t\tDevCap2: Completion Timeout: ${CTO_RANGES[d2.completionTimeoutRanges] ?? "Unknown"}, ` +
      `TimeoutDis${pm(d2.completionTimeoutDisable)} NROPrPrP${pm(d2.noRoEnabledPrPrPassing)} LTR${pm(d2.ltr)}`,
    `\t\t\t 10BitTagComp${pm(d2.tag10BitCompleter)} 10BitTagReq${pm(d2.tag10BitRequester)} ` +
      `OBFF ${OBFF_SUPPORT[d2.obff]}, ExtFmt${pm(d2.extendedFmtField)} EETLPPrefix${pm(d2.endEndTlpPrefix)}` +
      (d2.endEndTlpPrefix ? `, MaxEETLPPrefixes ${d2.maxEndEndTlpPrefixes}` : ""),
    `\t\t\t EmergencyPowerReduction ${EPR_SUPPORT[d2.emergencyPowerReduction]}, ` +
      `EmergencyPowerReductionInit${pm(d2.emergencyPowerReductionInitRequired)}`,
  ];
  let l = `\t\t\t FRS${pm(d2.frs)}`;
  if (rootPort) l += ` LN System CLS ${LN_CLS[d2.lnSystemCls]},`;
  if (rootPort || t === PciExp.TYPE_ENDPOINT) l += ` ${TPH_COMPLETER[d2.tphCompleter]}`;
  if (rootPort || downstream) l += ` ARIFwd${pm(d2.ariForwarding)}`;
  lines.push(l);
  if (rootPort || upstream || downstream || ctx.hasMemoryBar) {
    l = "\t\t\t AtomicOpsCap:";
    if (rootPort || upstream || downstream) l += ` Routing${pm(d2.atomicOpRouting)}`;
    if (rootPort || ctx.hasMemoryBar)
      l += ` 32bit${pm(d2.atomicOp32Completer)} 64bit${pm(d2.atomicOp64Completer)} 128bitCAS${pm(d2.cas128Completer)}`;
    lines.push(l);
  }
  return lines;
}

/** DevCtl2, with the AtomicOps control bits. */
function deviceCtl2Lines(c2: NonNullable<PcieCap["devCtl2"]>, role: PortRole): string[] {
  const { type: t, endpoint, rootPort, downstream, upstream } = role;
  let l =
    `\t\tDevCtl2: Completion Timeout: ${CTO_VALUES[c2.completionTimeoutValue] ?? "Unknown"}, ` +
    `TimeoutDis${pm(c2.completionTimeoutDisable)} LTR${pm(c2.ltr)} 10BitTagReq${pm(c2.tag10BitRequester)} ` +
    `OBFF ${OBFF_ENABLED[c2.obff]},`;
  if (rootPort || downstream) l += ` ARIFwd${pm(c2.ariForwarding)}`;
  const lines = [l];
  if (rootPort || upstream || downstream || endpoint || t === PciExp.TYPE_RC_END) {
    l = "\t\t\t AtomicOpsCtl:";
    if (rootPort || endpoint || t === PciExp.TYPE_RC_END) l += ` ReqEn${pm(c2.atomicOpRequester)}`;
    if (rootPort || upstream || downstream) l += ` EgressBlck${pm(c2.atomicOpEgressBlocking)}`;
    lines.push(l);
  }
  return lines;
}

/** LnkCap2, LnkCtl2 and LnkSta2, when the function has them. */
function link2Lines(cap: PcieCap, role: PortRole, ctx: CapContext): string[] {
  const { type: t, endpoint, rootPort, downstream } = role;
  const lc2 = cap.lnkCap2;
  const lctl2 = cap.lnkCtl2;
  const ls2 = cap.lnkSta2;
  if (lc2 === undefined || lctl2 === undefined || ls2 === undefined) return [];
  // lspci leaves out Link Capabilities/Control 2 of endpoints other than device 0 function 0 (reserved before 3.0).
  const showCap2 = !(endpoint && !ctx.firstFunction);
  const lines: string[] = [];
  if (showCap2) {
    if (lc2.raw !== 0)
      lines.push(
        `\t\tLnkCap2: Supported Link Speeds: ${speedRange(lc2.supportedSpeeds)}, Crosslink${pm(lc2.crosslink)} ` +
          `Retimer${pm(lc2.retimerPresenceDetect)} 2Retimers${pm(lc2.twoRetimersPresenceDetect)} DRS${pm(lc2.drs)}`,
      );
    let l =
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
  const l =
    `\t\t\t Retimer${pm(ls2.retimerDetected)} 2Retimers${pm(ls2.twoRetimersDetected)} ` +
    `CrosslinkRes: ${CROSSLINK_RES[ls2.crosslinkResolution]}`;
  const downstreamPort = rootPort || downstream || t === PciExp.TYPE_PCIE_BRIDGE;
  if (downstreamPort && showCap2 && lc2.drs) {
    lines.push(`${l}, DRS${pm(ls2.drsMessageReceived)}`);
    lines.push(`\t\t\t DownstreamComp: ${COMPONENT_PRESENCE[ls2.downstreamComponentPresence] ?? "Reserved"}`);
  } else lines.push(l);
  return lines;
}
