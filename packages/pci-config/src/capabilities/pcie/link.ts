import { bit, field } from "../../internal/bits.js";
import { rd16, rd32 } from "../../internal/bytes.js";
import { PciExp } from "../../registers/pcie.js";
import { L0S_NS, L1_NS } from "./encodings.js";

// The link register group of the PCI Express capability: LNKCAP, LNKCTL, LNKSTA and their "2" registers.

/** Link Capabilities. Exit latencies are upper bounds in nanoseconds (Infinity = "more than the largest"). */
export interface PcieLnkCap {
  /** LNKCAP encoding: 1 = 2.5 GT/s, 2 = 5, 3 = 8, 4 = 16, 5 = 32, 6 = 64 (see `PCIE_LINK_SPEEDS_GTS`). */
  readonly maxSpeed: number;
  readonly maxWidth: number;
  /** ASPM support: bit 0 L0s, bit 1 L1. */
  readonly aspmSupport: number;
  readonly l0sExitLatencyNs: number;
  readonly l1ExitLatencyNs: number;
  readonly clockPm: boolean;
  readonly surpriseDownReporting: boolean;
  readonly dataLinkLayerActiveReporting: boolean;
  readonly bandwidthNotification: boolean;
  readonly aspmOptionalityCompliance: boolean;
  readonly portNumber: number;
  readonly raw: number;
}

export interface PcieLnkCtl {
  /** ASPM control: bit 0 L0s enabled, bit 1 L1 enabled. */
  readonly aspm: number;
  /** Read Completion Boundary is 128 bytes (else 64). */
  readonly rcb128: boolean;
  readonly linkDisable: boolean;
  readonly commonClock: boolean;
  readonly extendedSynch: boolean;
  readonly clockPm: boolean;
  readonly hwAutonomousWidthDisable: boolean;
  readonly bandwidthManagementInterrupt: boolean;
  readonly autonomousBandwidthInterrupt: boolean;
  readonly raw: number;
}

export interface PcieLnkSta {
  /** Current link speed (LNKCAP encoding) and negotiated width. */
  readonly speed: number;
  readonly width: number;
  /** Training Error (obsolete since PCIe 1.1). */
  readonly trainingError: boolean;
  readonly linkTraining: boolean;
  readonly slotClock: boolean;
  readonly dataLinkLayerActive: boolean;
  readonly bandwidthManagement: boolean;
  readonly autonomousBandwidth: boolean;
  readonly raw: number;
}

export interface PcieLnkCap2 {
  /** Supported Link Speeds Vector: bit 0 = 2.5 GT/s, bit 1 = 5 GT/s, ... (LNKCAP2 bits 1..7). */
  readonly supportedSpeeds: number;
  readonly crosslink: boolean;
  readonly retimerPresenceDetect: boolean;
  readonly twoRetimersPresenceDetect: boolean;
  readonly drs: boolean;
  readonly raw: number;
}

export interface PcieLnkCtl2 {
  /** Target Link Speed (LNKCAP encoding). */
  readonly targetSpeed: number;
  readonly enterCompliance: boolean;
  readonly hwAutonomousSpeedDisable: boolean;
  /** Selectable De-emphasis (downstream ports): set = -3.5 dB, clear = -6 dB. */
  readonly selectableDeemphasis: boolean;
  /** Transmit Margin encoding (0 = normal operating range). */
  readonly transmitMargin: number;
  readonly enterModifiedCompliance: boolean;
  readonly complianceSos: boolean;
  /** Compliance Preset/De-emphasis encoding. */
  readonly compliancePreset: number;
  readonly raw: number;
}

export interface PcieLnkSta2 {
  /** Current De-emphasis Level: set = -3.5 dB, clear = -6 dB. */
  readonly deemphasis35dB: boolean;
  readonly equalizationComplete: boolean;
  readonly equalizationPhase1: boolean;
  readonly equalizationPhase2: boolean;
  readonly equalizationPhase3: boolean;
  readonly linkEqualizationRequest: boolean;
  readonly retimerDetected: boolean;
  readonly twoRetimersDetected: boolean;
  /** Crosslink Resolution: 0 not supported, 1 upstream port, 2 downstream port, 3 not completed. */
  readonly crosslinkResolution: number;
  /** Downstream Component Presence encoding (0..7). */
  readonly downstreamComponentPresence: number;
  readonly drsMessageReceived: boolean;
  readonly raw: number;
}

export function decodeLnkCap(b: Uint8Array, o: number): PcieLnkCap {
  const lnkcap = rd32(b, o + PciExp.LNKCAP);
  return {
    maxSpeed: lnkcap & PciExp.LNKCAP_SLS_MASK,
    maxWidth: field(lnkcap, PciExp.LNKCAP_MLW_MASK, PciExp.LNKCAP_MLW_SHIFT),
    aspmSupport: field(lnkcap, PciExp.LNKCAP_ASPMS_MASK, PciExp.LNKCAP_ASPMS_SHIFT),
    l0sExitLatencyNs: L0S_NS[field(lnkcap, PciExp.LNKCAP_L0SEL_MASK, PciExp.LNKCAP_L0SEL_SHIFT)] as number,
    l1ExitLatencyNs: L1_NS[field(lnkcap, PciExp.LNKCAP_L1EL_MASK, PciExp.LNKCAP_L1EL_SHIFT)] as number,
    clockPm: bit(lnkcap, PciExp.LNKCAP_CLKPM),
    surpriseDownReporting: bit(lnkcap, PciExp.LNKCAP_SDERC),
    dataLinkLayerActiveReporting: bit(lnkcap, PciExp.LNKCAP_DLLLARC),
    bandwidthNotification: bit(lnkcap, PciExp.LNKCAP_LBNC),
    aspmOptionalityCompliance: bit(lnkcap, PciExp.LNKCAP_AOC),
    portNumber: lnkcap >>> PciExp.LNKCAP_PN_SHIFT,
    raw: lnkcap,
  };
}

export function decodeLnkCtl(b: Uint8Array, o: number): PcieLnkCtl {
  const lnkctl = rd16(b, o + PciExp.LNKCTL);
  return {
    aspm: lnkctl & PciExp.LNKCTL_ASPMC_MASK,
    rcb128: bit(lnkctl, PciExp.LNKCTL_RCB),
    linkDisable: bit(lnkctl, PciExp.LNKCTL_LD),
    commonClock: bit(lnkctl, PciExp.LNKCTL_CCC),
    extendedSynch: bit(lnkctl, PciExp.LNKCTL_ES),
    clockPm: bit(lnkctl, PciExp.LNKCTL_CLKREQ_EN),
    hwAutonomousWidthDisable: bit(lnkctl, PciExp.LNKCTL_HAWD),
    bandwidthManagementInterrupt: bit(lnkctl, PciExp.LNKCTL_LBMIE),
    autonomousBandwidthInterrupt: bit(lnkctl, PciExp.LNKCTL_LABIE),
    raw: lnkctl,
  };
}

export function decodeLnkSta(b: Uint8Array, o: number): PcieLnkSta {
  const lnksta = rd16(b, o + PciExp.LNKSTA);
  return {
    speed: lnksta & PciExp.LNKSTA_CLS_MASK,
    width: field(lnksta, PciExp.LNKSTA_NLW_MASK, PciExp.LNKSTA_NLW_SHIFT),
    trainingError: bit(lnksta, PciExp.LNKSTA_TRERR),
    linkTraining: bit(lnksta, PciExp.LNKSTA_LT),
    slotClock: bit(lnksta, PciExp.LNKSTA_SLC),
    dataLinkLayerActive: bit(lnksta, PciExp.LNKSTA_DLLLA),
    bandwidthManagement: bit(lnksta, PciExp.LNKSTA_LBMS),
    autonomousBandwidth: bit(lnksta, PciExp.LNKSTA_LABS),
    raw: lnksta,
  };
}

export function decodeLnkCap2(b: Uint8Array, o: number): PcieLnkCap2 {
  const lnkcap2 = rd32(b, o + PciExp.LNKCAP2);
  return {
    supportedSpeeds: field(lnkcap2, PciExp.LNKCAP2_SLS_MASK, PciExp.LNKCAP2_SLS_SHIFT),
    crosslink: bit(lnkcap2, PciExp.LNKCAP2_CROSSLINK),
    retimerPresenceDetect: bit(lnkcap2, PciExp.LNKCAP2_RETIMER),
    twoRetimersPresenceDetect: bit(lnkcap2, PciExp.LNKCAP2_2RETIMERS),
    drs: bit(lnkcap2, PciExp.LNKCAP2_DRS),
    raw: lnkcap2,
  };
}

export function decodeLnkCtl2(b: Uint8Array, o: number): PcieLnkCtl2 {
  const lnkctl2 = rd16(b, o + PciExp.LNKCTL2);
  return {
    targetSpeed: lnkctl2 & PciExp.LNKCTL2_TLS_MASK,
    enterCompliance: bit(lnkctl2, PciExp.LNKCTL2_ENTER_COMP),
    hwAutonomousSpeedDisable: bit(lnkctl2, PciExp.LNKCTL2_HASD),
    selectableDeemphasis: bit(lnkctl2, PciExp.LNKCTL2_SEL_DEEMPH),
    transmitMargin: field(lnkctl2, PciExp.LNKCTL2_TX_MARGIN_MASK, PciExp.LNKCTL2_TX_MARGIN_SHIFT),
    enterModifiedCompliance: bit(lnkctl2, PciExp.LNKCTL2_ENTER_MOD_COMP),
    complianceSos: bit(lnkctl2, PciExp.LNKCTL2_COMP_SOS),
    compliancePreset: field(lnkctl2, PciExp.LNKCTL2_COMP_PRESET_MASK, PciExp.LNKCTL2_COMP_PRESET_SHIFT),
    raw: lnkctl2,
  };
}

export function decodeLnkSta2(b: Uint8Array, o: number): PcieLnkSta2 {
  const lnksta2 = rd16(b, o + PciExp.LNKSTA2);
  return {
    deemphasis35dB: bit(lnksta2, PciExp.LNKSTA2_DEEMPH),
    equalizationComplete: bit(lnksta2, PciExp.LNKSTA2_EQ_COMPLETE),
    equalizationPhase1: bit(lnksta2, PciExp.LNKSTA2_EQ_PHASE1),
    equalizationPhase2: bit(lnksta2, PciExp.LNKSTA2_EQ_PHASE2),
    equalizationPhase3: bit(lnksta2, PciExp.LNKSTA2_EQ_PHASE3),
    linkEqualizationRequest: bit(lnksta2, PciExp.LNKSTA2_EQ_REQUEST),
    retimerDetected: bit(lnksta2, PciExp.LNKSTA2_RETIMER),
    twoRetimersDetected: bit(lnksta2, PciExp.LNKSTA2_2RETIMERS),
    crosslinkResolution: field(lnksta2, PciExp.LNKSTA2_CROSSLINK_MASK, PciExp.LNKSTA2_CROSSLINK_SHIFT),
    downstreamComponentPresence: field(lnksta2, PciExp.LNKSTA2_COMPONENT_MASK, PciExp.LNKSTA2_COMPONENT_SHIFT),
    drsMessageReceived: bit(lnksta2, PciExp.LNKSTA2_DRS_RCVD),
    raw: lnksta2,
  };
}
