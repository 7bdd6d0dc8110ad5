import { capabilityTitle } from "./capability-names.js";
import { rd8, rd16, rd32 } from "./internal/bytes.js";
import { PciCapId } from "./registers/capability-ids.js";
import { PCI_CONFIG_SPACE_SIZE } from "./registers/header.js";
import { PciMsi } from "./registers/msi.js";
import { PciMsix } from "./registers/msix.js";
import { PciExp } from "./registers/pcie.js";
import { PciPm } from "./registers/pm.js";

// ---------------------------------------------------------------------------------------------------------------
// Standard capabilities (the list from the header's capabilities pointer), decoded register by register.
// ---------------------------------------------------------------------------------------------------------------

/** What every decoded standard capability has. */
export interface CapabilityBase {
  readonly id: number;
  /** Short identifier: the `PciCapId` key ("PM", "MSI", "EXP", ...) or `cap 0xNN`. */
  readonly name: string;
  /** What lspci calls it ("Power Management", "Express", ...); undefined for ids lspci does not know. */
  readonly title: string | undefined;
  readonly offset: number;
  /** Next pointer as read (low two bits ignored). */
  readonly next: number;
  /** The 16 bits after the id and next bytes (the capability-specific "flags" word lspci passes around). */
  readonly word: number;
}

export interface DecodedPm extends CapabilityBase {
  readonly kind: "pm";
  readonly version: number;
  readonly pmeClock: boolean;
  readonly dsi: boolean;
  /** Aux current field (0..7; 0 = self powered, 1..7 = 55..375 mA). */
  readonly auxCurrent: number;
  readonly d1: boolean;
  readonly d2: boolean;
  /** PME# support mask: bit 0 D0 .. bit 4 D3cold. */
  readonly pmeSupport: number;
  /** 0..3 = D0..D3hot. */
  readonly powerState: number;
  readonly noSoftReset: boolean;
  readonly pmeEnable: boolean;
  /** PMCSR Data_Select (which Data register value is shown) and Data_Scale (its unit). */
  readonly dataSelect: number;
  readonly dataScale: number;
  readonly pmeStatus: boolean;
  /** PMCSR_BSE, the PCI-to-PCI bridge support extensions byte, raw (0 for functions that are not bridges). */
  readonly bridgeSupport: number;
  /** PMCSR_BSE.B2_B3#: a bridge put in D3hot stops its secondary clock (B2) rather than its power (B3). */
  readonly b2b3: boolean;
  /** PMCSR_BSE.BPCC_En: bus power/clock control is enabled. */
  readonly busPowerClockControl: boolean;
  /** The Data register (meaning chosen by `dataSelect`). */
  readonly data: number;
}

export interface DecodedMsi extends CapabilityBase {
  readonly kind: "msi";
  readonly enabled: boolean;
  /** Vectors capable: 1 << Multiple Message Capable (the reserved encodings 6, 7 give 64, 128, as lspci prints). */
  readonly vectorsCapable: number;
  /** Vectors enabled: 1 << Multiple Message Enable (same rule). */
  readonly vectorsEnabled: number;
  readonly address64: boolean;
  readonly perVectorMask: boolean;
  readonly address: bigint;
  readonly data: number;
  readonly maskBits: number | undefined;
  readonly pendingBits: number | undefined;
}

export interface DecodedMsix extends CapabilityBase {
  readonly kind: "msix";
  readonly enabled: boolean;
  readonly functionMask: boolean;
  readonly tableSize: number;
  readonly tableBar: number;
  readonly tableOffset: number;
  readonly pbaBar: number;
  readonly pbaOffset: number;
}

/**
 * Device Capabilities. Latencies are upper bounds in nanoseconds (Infinity = "no limit"); the reserved payload
 * encodings 6, 7 decode as 128 << n, as lspci prints them.
 */
export interface PcieDevCap {
  readonly maxPayloadSize: number;
  /** Phantom Functions Supported: how many function-number bits may be used as extra tag bits (0..3). */
  readonly phantomFunctionBits: number;
  readonly extendedTag: boolean;
  /** Endpoint L0s / L1 acceptable latency. */
  readonly l0sAcceptableLatencyNs: number;
  readonly l1AcceptableLatencyNs: number;
  /** Attention button / attention indicator / power indicator present (PCIe 1.0 meaning; reserved since 1.1). */
  readonly attentionButton: boolean;
  readonly attentionIndicator: boolean;
  readonly powerIndicator: boolean;
  readonly roleBasedErrorReporting: boolean;
  /** Captured Slot Power Limit, in watts (Infinity for the "greater than 600 W" encoding). */
  readonly slotPowerLimitWatts: number;
  readonly flr: boolean;
  readonly raw: number;
}

export interface PcieDevCtl {
  readonly correctableErrorReporting: boolean;
  readonly nonFatalErrorReporting: boolean;
  readonly fatalErrorReporting: boolean;
  readonly unsupportedRequestReporting: boolean;
  readonly relaxedOrdering: boolean;
  readonly maxPayloadSize: number;
  readonly extendedTag: boolean;
  readonly phantomFunctions: boolean;
  readonly auxPowerPm: boolean;
  readonly noSnoop: boolean;
  readonly maxReadRequestSize: number;
  /** Bit 15: "Initiate Function Level Reset" for endpoints (reads 0), "Bridge Configuration Retry Enable" for
   * PCI Express to PCI/PCI-X bridges. Both names read the same bit. */
  readonly initiateFlr: boolean;
  readonly bridgeConfigRetry: boolean;
  readonly raw: number;
}

export interface PcieDevSta {
  readonly correctableError: boolean;
  readonly nonFatalError: boolean;
  readonly fatalError: boolean;
  readonly unsupportedRequest: boolean;
  readonly auxPowerDetected: boolean;
  readonly transactionsPending: boolean;
  readonly raw: number;
}

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

export interface PcieSltCap {
  readonly attentionButton: boolean;
  readonly powerController: boolean;
  readonly mrlSensor: boolean;
  readonly attentionIndicator: boolean;
  readonly powerIndicator: boolean;
  readonly hotPlugSurprise: boolean;
  readonly hotPlugCapable: boolean;
  /** Slot power limit in watts (Infinity for the "greater than 600 W" encoding). */
  readonly powerLimitWatts: number;
  readonly electromechanicalInterlock: boolean;
  readonly noCommandCompleted: boolean;
  readonly physicalSlotNumber: number;
  readonly raw: number;
}

export interface PcieSltCtl {
  readonly attentionButtonPressedEnable: boolean;
  readonly powerFaultDetectedEnable: boolean;
  readonly mrlSensorChangedEnable: boolean;
  readonly presenceDetectChangedEnable: boolean;
  readonly commandCompletedInterruptEnable: boolean;
  readonly hotPlugInterruptEnable: boolean;
  /** Indicator controls: 0 reserved, 1 on, 2 blink, 3 off. */
  readonly attentionIndicator: number;
  readonly powerIndicator: number;
  /** Power Controller Control (set = power off). */
  readonly powerControllerOff: boolean;
  readonly electromechanicalInterlock: boolean;
  readonly dataLinkLayerStateChangedEnable: boolean;
  readonly raw: number;
}

export interface PcieSltSta {
  readonly attentionButtonPressed: boolean;
  readonly powerFaultDetected: boolean;
  readonly mrlSensorChanged: boolean;
  readonly presenceDetectChanged: boolean;
  readonly commandCompleted: boolean;
  /** MRL sensor state (set = open). */
  readonly mrlSensorOpen: boolean;
  readonly presenceDetected: boolean;
  readonly electromechanicalInterlockEngaged: boolean;
  readonly dataLinkLayerStateChanged: boolean;
  readonly raw: number;
}

export interface PcieRoot {
  readonly crsSoftwareVisibilityCapable: boolean;
  readonly systemErrorOnCorrectable: boolean;
  readonly systemErrorOnNonFatal: boolean;
  readonly systemErrorOnFatal: boolean;
  readonly pmeInterruptEnable: boolean;
  readonly crsSoftwareVisibilityEnable: boolean;
  readonly pmeRequesterId: number;
  readonly pmeStatus: boolean;
  readonly pmePending: boolean;
}

export interface PcieDevCap2 {
  /** Completion Timeout Ranges Supported: bit 0 range A .. bit 3 range D (0 = not supported). */
  readonly completionTimeoutRanges: number;
  readonly completionTimeoutDisable: boolean;
  readonly ariForwarding: boolean;
  readonly atomicOpRouting: boolean;
  readonly atomicOp32Completer: boolean;
  readonly atomicOp64Completer: boolean;
  readonly cas128Completer: boolean;
  readonly noRoEnabledPrPrPassing: boolean;
  readonly ltr: boolean;
  /** TPH Completer Supported: 0 none, 1 TPH, 3 TPH and extended TPH (2 reserved). */
  readonly tphCompleter: number;
  /** LN System CLS: 0 none, 1 64-byte, 2 128-byte cache lines. */
  readonly lnSystemCls: number;
  readonly tag10BitCompleter: boolean;
  readonly tag10BitRequester: boolean;
  /** OBFF Supported: 0 none, 1 message, 2 WAKE#, 3 both. */
  readonly obff: number;
  readonly extendedFmtField: boolean;
  readonly endEndTlpPrefix: boolean;
  /** Max End-End TLP Prefixes (the field's 0 means 4). */
  readonly maxEndEndTlpPrefixes: number;
  /** Emergency Power Reduction Supported: 0 none, 1 device specific, 2 form factor or device specific. */
  readonly emergencyPowerReduction: number;
  readonly emergencyPowerReductionInitRequired: boolean;
  readonly frs: boolean;
  readonly raw: number;
}

export interface PcieDevCtl2 {
  /** Completion Timeout Value encoding (0 = default 50us..50ms). */
  readonly completionTimeoutValue: number;
  readonly completionTimeoutDisable: boolean;
  readonly ariForwarding: boolean;
  readonly atomicOpRequester: boolean;
  readonly atomicOpEgressBlocking: boolean;
  readonly idoRequest: boolean;
  readonly idoCompletion: boolean;
  readonly ltr: boolean;
  readonly emergencyPowerReductionRequest: boolean;
  readonly tag10BitRequester: boolean;
  /** OBFF Enable: 0 disabled, 1 message variation A, 2 variation B, 3 WAKE#. */
  readonly obff: number;
  readonly endEndTlpPrefixBlocking: boolean;
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

/**
 * The PCI Express capability, register by register. Registers a function of this type does not have are undefined:
 * link registers for root-complex integrated endpoints and event collectors, slot registers unless a root or
 * downstream port has a slot, root registers except on root ports and event collectors, the "2" registers before
 * capability version 2.
 */
export interface DecodedPcie extends CapabilityBase {
  readonly kind: "pcie";
  readonly version: number;
  /** Device/port type code (FLAGS bits 4-7) and its name. */
  readonly deviceType: number;
  readonly deviceTypeName: string;
  readonly slotImplemented: boolean;
  readonly interruptMessageNumber: number;
  readonly devCap: PcieDevCap;
  readonly devCtl: PcieDevCtl;
  readonly devSta: PcieDevSta;
  readonly lnkCap: PcieLnkCap | undefined;
  readonly lnkCtl: PcieLnkCtl | undefined;
  readonly lnkSta: PcieLnkSta | undefined;
  readonly sltCap: PcieSltCap | undefined;
  readonly sltCtl: PcieSltCtl | undefined;
  readonly sltSta: PcieSltSta | undefined;
  readonly root: PcieRoot | undefined;
  readonly devCap2: PcieDevCap2 | undefined;
  readonly devCtl2: PcieDevCtl2 | undefined;
  readonly lnkCap2: PcieLnkCap2 | undefined;
  readonly lnkCtl2: PcieLnkCtl2 | undefined;
  readonly lnkSta2: PcieLnkSta2 | undefined;
}

/** A virtio PCI capability (vendor-specific capability of a Red Hat virtio device, 1af4:1000..107f). */
export interface VirtioPciCap {
  /** cfg_type: 1 common, 2 notify, 3 ISR, 4 device, 5 PCI config access. */
  readonly cfgType: number;
  readonly bar: number;
  readonly offset: number;
  readonly length: number;
  /** notify_off_multiplier (notify capabilities of 20 bytes or more). */
  readonly notifyOffMultiplier: number | undefined;
}

export interface DecodedVendorCap extends CapabilityBase {
  readonly kind: "vendor";
  readonly length: number;
  /** The bytes after id, next and length (clipped to config space). */
  readonly data: Uint8Array;
  /** Set when the function is a virtio device and the capability is long enough to be a virtio_pci_cap. */
  readonly virtio: VirtioPciCap | undefined;
}

/** Slot Identification (bridges). */
export interface DecodedSlotId extends CapabilityBase {
  readonly kind: "slot-id";
  readonly expansionSlots: number;
  readonly firstInChassis: boolean;
  readonly chassis: number;
}

/** Debug port (EHCI). */
export interface DecodedDebugPort extends CapabilityBase {
  readonly kind: "debug-port";
  /** The BAR (1..6 as the EHCI spec numbers them) and the offset of the debug port's registers in it. */
  readonly bar: number;
  readonly barOffset: number;
}

/** Bridge subsystem vendor and device IDs. */
export interface DecodedSsvid extends CapabilityBase {
  readonly kind: "ssvid";
  readonly subsystemVendorId: number;
  readonly subsystemId: number;
}

/** PCI Advanced Features (FLR for conventional PCI). */
export interface DecodedAf extends CapabilityBase {
  readonly kind: "af";
  readonly transactionsPendingCapable: boolean;
  readonly flrCapable: boolean;
  readonly initiateFlr: boolean;
  readonly transactionsPending: boolean;
}

/** Serial ATA HBA capability. */
export interface DecodedSata extends CapabilityBase {
  readonly kind: "sata";
  readonly major: number;
  readonly minor: number;
  /** BAR location (4..9 = BAR0..5, 15 = in config space) and the offset field, in dwords. */
  readonly barLocation: number;
  readonly barOffset: number;
}

/** A capability this package does not decode beyond its header (AGP, VPD, PCI-X, HyperTransport, EA, ...). */
export interface DecodedOtherCap extends CapabilityBase {
  readonly kind: "other";
}

export type DecodedCapability =
  | DecodedPm
  | DecodedMsi
  | DecodedMsix
  | DecodedPcie
  | DecodedVendorCap
  | DecodedSlotId
  | DecodedDebugPort
  | DecodedSsvid
  | DecodedAf
  | DecodedSata
  | DecodedOtherCap;

const CAP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(PciCapId).map(([k, v]) => [v, k]));

/** Name of a standard capability id ("MSI", "EXP", ...) or `cap 0xNN`. */
export function capabilityName(id: number): string {
  return CAP_NAMES[id] ?? `cap 0x${id.toString(16).padStart(2, "0")}`;
}

const PCIE_TYPES: Record<number, string> = {
  [PciExp.TYPE_ENDPOINT]: "Endpoint",
  [PciExp.TYPE_LEG_END]: "Legacy Endpoint",
  [PciExp.TYPE_ROOT_PORT]: "Root Port",
  [PciExp.TYPE_UPSTREAM]: "Upstream Port",
  [PciExp.TYPE_DOWNSTREAM]: "Downstream Port",
  [PciExp.TYPE_PCI_BRIDGE]: "PCI-Express to PCI/PCI-X Bridge",
  [PciExp.TYPE_PCIE_BRIDGE]: "PCI/PCI-X to PCI-Express Bridge",
  [PciExp.TYPE_RC_END]: "Root Complex Integrated Endpoint",
  [PciExp.TYPE_RC_EC]: "Root Complex Event Collector",
};

/** Upper bounds of the L0s latency encodings (acceptable and exit latencies), ns. */
const L0S_NS = [64, 128, 256, 512, 1000, 2000, 4000, Number.POSITIVE_INFINITY];
/** Upper bounds of the L1 latency encodings, ns. */
const L1_NS = [1000, 2000, 4000, 8000, 16000, 32000, 64000, Number.POSITIVE_INFINITY];
const POWER_SCALES = [1, 0.1, 0.01, 0.001];

/**
 * A PCIe power limit (Slot Power Limit Value and Scale, in DEVCAP and SLTCAP) in watts: value × scale, with the
 * extended encodings of scale 1.0x (0xF0..0xFE = 250..600 W, 0xFF = greater than 600 W, returned as Infinity).
 */
export function pciePowerLimitWatts(value: number, scale: number): number {
  if (scale === 0 && value === 0xff) return Number.POSITIVE_INFINITY;
  const v = scale === 0 && value >= 0xf0 ? 250 + 25 * (value - 0xf0) : value;
  return v * (POWER_SCALES[scale & 3] as number);
}

const bit = (v: number, mask: number): boolean => (v & mask) !== 0;
const field = (v: number, mask: number, shift: number): number => ((v & mask) >>> shift) >>> 0;

function decodePcie(b: Uint8Array, o: number, base: CapabilityBase): DecodedPcie {
  const flags = base.word;
  const version = flags & PciExp.FLAGS_VERSION_MASK;
  const type = field(flags, PciExp.FLAGS_TYPE_MASK, PciExp.FLAGS_TYPE_SHIFT);
  const hasLink = type !== PciExp.TYPE_RC_END && type !== PciExp.TYPE_RC_EC;
  const slotPossible =
    type === PciExp.TYPE_ROOT_PORT || type === PciExp.TYPE_DOWNSTREAM || type === PciExp.TYPE_PCIE_BRIDGE;
  const hasSlot = slotPossible && bit(flags, PciExp.FLAGS_SLOT);
  const hasRoot = type === PciExp.TYPE_ROOT_PORT || type === PciExp.TYPE_RC_EC;
  const v2 = version >= 2;

  const devcap = rd32(b, o + PciExp.DEVCAP);
  const devctl = rd16(b, o + PciExp.DEVCTL);
  const devsta = rd16(b, o + PciExp.DEVSTA);
  const lnkcap = rd32(b, o + PciExp.LNKCAP);
  const lnkctl = rd16(b, o + PciExp.LNKCTL);
  const lnksta = rd16(b, o + PciExp.LNKSTA);
  const sltcap = rd32(b, o + PciExp.SLTCAP);
  const sltctl = rd16(b, o + PciExp.SLTCTL);
  const sltsta = rd16(b, o + PciExp.SLTSTA);
  const rtctl = rd16(b, o + PciExp.RTCTL);
  const rtcap = rd16(b, o + PciExp.RTCAP);
  const rtsta = rd32(b, o + PciExp.RTSTA);
  const devcap2 = rd32(b, o + PciExp.DEVCAP2);
  const devctl2 = rd16(b, o + PciExp.DEVCTL2);
  const lnkcap2 = rd32(b, o + PciExp.LNKCAP2);
  const lnkctl2 = rd16(b, o + PciExp.LNKCTL2);
  const lnksta2 = rd16(b, o + PciExp.LNKSTA2);

  return {
    ...base,
    kind: "pcie",
    version,
    deviceType: type,
    deviceTypeName: PCIE_TYPES[type] ?? `Unknown type ${type}`,
    slotImplemented: bit(flags, PciExp.FLAGS_SLOT),
    interruptMessageNumber: field(flags, PciExp.FLAGS_IRQ_MASK, PciExp.FLAGS_IRQ_SHIFT),
    devCap: {
      maxPayloadSize: 128 << (devcap & PciExp.DEVCAP_PAYLOAD_MASK),
      phantomFunctionBits: field(devcap, PciExp.DEVCAP_PHANTOM_MASK, PciExp.DEVCAP_PHANTOM_SHIFT),
      extendedTag: bit(devcap, PciExp.DEVCAP_EXT_TAG),
      l0sAcceptableLatencyNs: L0S_NS[field(devcap, PciExp.DEVCAP_L0S_MASK, PciExp.DEVCAP_L0S_SHIFT)] as number,
      l1AcceptableLatencyNs: L1_NS[field(devcap, PciExp.DEVCAP_L1_MASK, PciExp.DEVCAP_L1_SHIFT)] as number,
      attentionButton: bit(devcap, PciExp.DEVCAP_ATN_BUT),
      attentionIndicator: bit(devcap, PciExp.DEVCAP_ATN_IND),
      powerIndicator: bit(devcap, PciExp.DEVCAP_PWR_IND),
      roleBasedErrorReporting: bit(devcap, PciExp.DEVCAP_RBER),
      slotPowerLimitWatts: pciePowerLimitWatts(
        field(devcap, PciExp.DEVCAP_PWR_VAL_MASK, PciExp.DEVCAP_PWR_VAL_SHIFT),
        field(devcap, PciExp.DEVCAP_PWR_SCL_MASK, PciExp.DEVCAP_PWR_SCL_SHIFT),
      ),
      flr: bit(devcap, PciExp.DEVCAP_FLR),
      raw: devcap,
    },
    devCtl: {
      correctableErrorReporting: bit(devctl, PciExp.DEVCTL_CERE),
      nonFatalErrorReporting: bit(devctl, PciExp.DEVCTL_NFERE),
      fatalErrorReporting: bit(devctl, PciExp.DEVCTL_FERE),
      unsupportedRequestReporting: bit(devctl, PciExp.DEVCTL_URRE),
      relaxedOrdering: bit(devctl, PciExp.DEVCTL_RELAX_EN),
      maxPayloadSize: 128 << field(devctl, PciExp.DEVCTL_PAYLOAD_MASK, PciExp.DEVCTL_PAYLOAD_SHIFT),
      extendedTag: bit(devctl, PciExp.DEVCTL_EXT_TAG),
      phantomFunctions: bit(devctl, PciExp.DEVCTL_PHANTOM),
      auxPowerPm: bit(devctl, PciExp.DEVCTL_AUX_PME),
      noSnoop: bit(devctl, PciExp.DEVCTL_NOSNOOP_EN),
      maxReadRequestSize: 128 << field(devctl, PciExp.DEVCTL_READRQ_MASK, PciExp.DEVCTL_READRQ_SHIFT),
      initiateFlr: bit(devctl, PciExp.DEVCTL_BCR_FLR),
      bridgeConfigRetry: bit(devctl, PciExp.DEVCTL_BCR_FLR),
      raw: devctl,
    },
    devSta: {
      correctableError: bit(devsta, PciExp.DEVSTA_CED),
      nonFatalError: bit(devsta, PciExp.DEVSTA_NFED),
      fatalError: bit(devsta, PciExp.DEVSTA_FED),
      unsupportedRequest: bit(devsta, PciExp.DEVSTA_URD),
      auxPowerDetected: bit(devsta, PciExp.DEVSTA_AUXPD),
      transactionsPending: bit(devsta, PciExp.DEVSTA_TRPND),
      raw: devsta,
    },
    lnkCap: hasLink
      ? {
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
        }
      : undefined,
    lnkCtl: hasLink
      ? {
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
        }
      : undefined,
    lnkSta: hasLink
      ? {
          speed: lnksta & PciExp.LNKSTA_CLS_MASK,
          width: field(lnksta, PciExp.LNKSTA_NLW_MASK, PciExp.LNKSTA_NLW_SHIFT),
          trainingError: bit(lnksta, PciExp.LNKSTA_TRERR),
          linkTraining: bit(lnksta, PciExp.LNKSTA_LT),
          slotClock: bit(lnksta, PciExp.LNKSTA_SLC),
          dataLinkLayerActive: bit(lnksta, PciExp.LNKSTA_DLLLA),
          bandwidthManagement: bit(lnksta, PciExp.LNKSTA_LBMS),
          autonomousBandwidth: bit(lnksta, PciExp.LNKSTA_LABS),
          raw: lnksta,
        }
      : undefined,
    sltCap: hasSlot
      ? {
          attentionButton: bit(sltcap, PciExp.SLTCAP_ABP),
          powerController: bit(sltcap, PciExp.SLTCAP_PCP),
          mrlSensor: bit(sltcap, PciExp.SLTCAP_MRLSP),
          attentionIndicator: bit(sltcap, PciExp.SLTCAP_AIP),
          powerIndicator: bit(sltcap, PciExp.SLTCAP_PIP),
          hotPlugSurprise: bit(sltcap, PciExp.SLTCAP_HPS),
          hotPlugCapable: bit(sltcap, PciExp.SLTCAP_HPC),
          powerLimitWatts: pciePowerLimitWatts(
            field(sltcap, PciExp.SLTCAP_SPLV_MASK, PciExp.SLTCAP_SPLV_SHIFT),
            field(sltcap, PciExp.SLTCAP_SPLS_MASK, PciExp.SLTCAP_SPLS_SHIFT),
          ),
          electromechanicalInterlock: bit(sltcap, PciExp.SLTCAP_EIP),
          noCommandCompleted: bit(sltcap, PciExp.SLTCAP_NCCS),
          physicalSlotNumber: sltcap >>> PciExp.SLTCAP_PSN_SHIFT,
          raw: sltcap,
        }
      : undefined,
    sltCtl: hasSlot
      ? {
          attentionButtonPressedEnable: bit(sltctl, PciExp.SLTCTL_ABPE),
          powerFaultDetectedEnable: bit(sltctl, PciExp.SLTCTL_PFDE),
          mrlSensorChangedEnable: bit(sltctl, PciExp.SLTCTL_MRLSCE),
          presenceDetectChangedEnable: bit(sltctl, PciExp.SLTCTL_PDCE),
          commandCompletedInterruptEnable: bit(sltctl, PciExp.SLTCTL_CCIE),
          hotPlugInterruptEnable: bit(sltctl, PciExp.SLTCTL_HPIE),
          attentionIndicator: field(sltctl, PciExp.SLTCTL_AIC_MASK, PciExp.SLTCTL_AIC_SHIFT),
          powerIndicator: field(sltctl, PciExp.SLTCTL_PIC_MASK, PciExp.SLTCTL_PIC_SHIFT),
          powerControllerOff: bit(sltctl, PciExp.SLTCTL_PCC),
          electromechanicalInterlock: bit(sltctl, PciExp.SLTCTL_EIC),
          dataLinkLayerStateChangedEnable: bit(sltctl, PciExp.SLTCTL_DLLSCE),
          raw: sltctl,
        }
      : undefined,
    sltSta: hasSlot
      ? {
          attentionButtonPressed: bit(sltsta, PciExp.SLTSTA_ABP),
          powerFaultDetected: bit(sltsta, PciExp.SLTSTA_PFD),
          mrlSensorChanged: bit(sltsta, PciExp.SLTSTA_MRLSC),
          presenceDetectChanged: bit(sltsta, PciExp.SLTSTA_PDC),
          commandCompleted: bit(sltsta, PciExp.SLTSTA_CC),
          mrlSensorOpen: bit(sltsta, PciExp.SLTSTA_MRLSS),
          presenceDetected: bit(sltsta, PciExp.SLTSTA_PDS),
          electromechanicalInterlockEngaged: bit(sltsta, PciExp.SLTSTA_EIS),
          dataLinkLayerStateChanged: bit(sltsta, PciExp.SLTSTA_DLLSC),
          raw: sltsta,
        }
      : undefined,
    root: hasRoot
      ? {
          crsSoftwareVisibilityCapable: bit(rtcap, PciExp.RTCAP_CRSSV),
          systemErrorOnCorrectable: bit(rtctl, PciExp.RTCTL_SECEE),
          systemErrorOnNonFatal: bit(rtctl, PciExp.RTCTL_SENFEE),
          systemErrorOnFatal: bit(rtctl, PciExp.RTCTL_SEFEE),
          pmeInterruptEnable: bit(rtctl, PciExp.RTCTL_PMEIE),
          crsSoftwareVisibilityEnable: bit(rtctl, PciExp.RTCTL_CRSSVE),
          pmeRequesterId: rtsta & PciExp.RTSTA_PME_RID_MASK,
          pmeStatus: bit(rtsta, PciExp.RTSTA_PME_STATUS),
          pmePending: bit(rtsta, PciExp.RTSTA_PME_PENDING),
        }
      : undefined,
    devCap2: v2
      ? {
          completionTimeoutRanges: devcap2 & PciExp.DEVCAP2_CTO_RANGES_MASK,
          completionTimeoutDisable: bit(devcap2, PciExp.DEVCAP2_CTO_DIS),
          ariForwarding: bit(devcap2, PciExp.DEVCAP2_ARI),
          atomicOpRouting: bit(devcap2, PciExp.DEVCAP2_ATOMIC_ROUTE),
          atomicOp32Completer: bit(devcap2, PciExp.DEVCAP2_ATOMIC_COMP32),
          atomicOp64Completer: bit(devcap2, PciExp.DEVCAP2_ATOMIC_COMP64),
          cas128Completer: bit(devcap2, PciExp.DEVCAP2_ATOMIC_COMP128),
          noRoEnabledPrPrPassing: bit(devcap2, PciExp.DEVCAP2_NROPRPRP),
          ltr: bit(devcap2, PciExp.DEVCAP2_LTR),
          tphCompleter: field(devcap2, PciExp.DEVCAP2_TPH_COMP_MASK, PciExp.DEVCAP2_TPH_COMP_SHIFT),
          lnSystemCls: field(devcap2, PciExp.DEVCAP2_LN_CLS_MASK, PciExp.DEVCAP2_LN_CLS_SHIFT),
          tag10BitCompleter: bit(devcap2, PciExp.DEVCAP2_10BIT_TAG_COMP),
          tag10BitRequester: bit(devcap2, PciExp.DEVCAP2_10BIT_TAG_REQ),
          obff: field(devcap2, PciExp.DEVCAP2_OBFF_MASK, PciExp.DEVCAP2_OBFF_SHIFT),
          extendedFmtField: bit(devcap2, PciExp.DEVCAP2_EXT_FMT),
          endEndTlpPrefix: bit(devcap2, PciExp.DEVCAP2_EE_PREFIX),
          maxEndEndTlpPrefixes:
            field(devcap2, PciExp.DEVCAP2_EE_PREFIX_MAX_MASK, PciExp.DEVCAP2_EE_PREFIX_MAX_SHIFT) || 4,
          emergencyPowerReduction: field(devcap2, PciExp.DEVCAP2_EPR_MASK, PciExp.DEVCAP2_EPR_SHIFT),
          emergencyPowerReductionInitRequired: bit(devcap2, PciExp.DEVCAP2_EPR_INIT),
          frs: bit(devcap2, PciExp.DEVCAP2_FRS),
          raw: devcap2,
        }
      : undefined,
    devCtl2: v2
      ? {
          completionTimeoutValue: devctl2 & PciExp.DEVCTL2_COMP_TIMEOUT_MASK,
          completionTimeoutDisable: bit(devctl2, PciExp.DEVCTL2_COMP_TMOUT_DIS),
          ariForwarding: bit(devctl2, PciExp.DEVCTL2_ARI),
          atomicOpRequester: bit(devctl2, PciExp.DEVCTL2_ATOMIC_REQ),
          atomicOpEgressBlocking: bit(devctl2, PciExp.DEVCTL2_ATOMIC_EGRESS_BLOCK),
          idoRequest: bit(devctl2, PciExp.DEVCTL2_IDO_REQ_EN),
          idoCompletion: bit(devctl2, PciExp.DEVCTL2_IDO_CMP_EN),
          ltr: bit(devctl2, PciExp.DEVCTL2_LTR_EN),
          emergencyPowerReductionRequest: bit(devctl2, PciExp.DEVCTL2_EPR_REQ),
          tag10BitRequester: bit(devctl2, PciExp.DEVCTL2_10BIT_TAG_REQ_EN),
          obff: field(devctl2, PciExp.DEVCTL2_OBFF_MASK, PciExp.DEVCTL2_OBFF_SHIFT),
          endEndTlpPrefixBlocking: bit(devctl2, PciExp.DEVCTL2_EE_PREFIX_BLOCK),
          raw: devctl2,
        }
      : undefined,
    lnkCap2:
      v2 && hasLink
        ? {
            supportedSpeeds: field(lnkcap2, PciExp.LNKCAP2_SLS_MASK, PciExp.LNKCAP2_SLS_SHIFT),
            crosslink: bit(lnkcap2, PciExp.LNKCAP2_CROSSLINK),
            retimerPresenceDetect: bit(lnkcap2, PciExp.LNKCAP2_RETIMER),
            twoRetimersPresenceDetect: bit(lnkcap2, PciExp.LNKCAP2_2RETIMERS),
            drs: bit(lnkcap2, PciExp.LNKCAP2_DRS),
            raw: lnkcap2,
          }
        : undefined,
    lnkCtl2:
      v2 && hasLink
        ? {
            targetSpeed: lnkctl2 & PciExp.LNKCTL2_TLS_MASK,
            enterCompliance: bit(lnkctl2, PciExp.LNKCTL2_ENTER_COMP),
            hwAutonomousSpeedDisable: bit(lnkctl2, PciExp.LNKCTL2_HASD),
            selectableDeemphasis: bit(lnkctl2, PciExp.LNKCTL2_SEL_DEEMPH),
            transmitMargin: field(lnkctl2, PciExp.LNKCTL2_TX_MARGIN_MASK, PciExp.LNKCTL2_TX_MARGIN_SHIFT),
            enterModifiedCompliance: bit(lnkctl2, PciExp.LNKCTL2_ENTER_MOD_COMP),
            complianceSos: bit(lnkctl2, PciExp.LNKCTL2_COMP_SOS),
            compliancePreset: field(lnkctl2, PciExp.LNKCTL2_COMP_PRESET_MASK, PciExp.LNKCTL2_COMP_PRESET_SHIFT),
            raw: lnkctl2,
          }
        : undefined,
    lnkSta2:
      v2 && hasLink
        ? {
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
          }
        : undefined,
  };
}

/** The size of a PCI Express capability with these registers (what must lie inside config space). */
function pcieSize(word: number): number {
  const version = word & PciExp.FLAGS_VERSION_MASK;
  const type = field(word, PciExp.FLAGS_TYPE_MASK, PciExp.FLAGS_TYPE_SHIFT);
  if (version >= 2) return PciExp.SIZEOF_V2;
  if (type === PciExp.TYPE_ROOT_PORT || type === PciExp.TYPE_RC_EC) return PciExp.RTSTA + 4;
  return bit(word, PciExp.FLAGS_SLOT) ? PciExp.SLTSTA + 2 : PciExp.LNKSTA + 2;
}

/** The function's identity, for capabilities whose layout depends on it (virtio vendor capabilities). */
export interface CapabilityContext {
  readonly vendorId: number;
  readonly deviceId: number;
}

/**
 * Decodes the standard capability at `o` (its id and next pointer already read). Fields past the end of the bytes
 * read as 0; a capability that runs past config space is reported in `issues`.
 */
export function decodeCapability(
  b: Uint8Array,
  o: number,
  id: number,
  next: number,
  ctx: CapabilityContext,
  issues: string[],
): DecodedCapability {
  const word = rd16(b, o + 2);
  const base: CapabilityBase = { id, name: capabilityName(id), title: capabilityTitle(id), offset: o, next, word };
  const need = (len: number): void => {
    if (o + len > PCI_CONFIG_SPACE_SIZE || o + len > b.length)
      issues.push(`${base.name} capability at 0x${o.toString(16)} runs past the end of config space`);
  };
  switch (id) {
    case PciCapId.PM: {
      need(PciPm.SIZEOF);
      const pmc = word;
      const csr = rd16(b, o + PciPm.PMCSR);
      const bse = rd8(b, o + PciPm.PMCSR_BSE);
      return {
        ...base,
        kind: "pm",
        version: pmc & PciPm.PMC_VERSION_MASK,
        pmeClock: bit(pmc, PciPm.PMC_PME_CLOCK),
        dsi: bit(pmc, PciPm.PMC_DSI),
        auxCurrent: (pmc & PciPm.PMC_AUX_CURRENT_MASK) >> 6,
        d1: bit(pmc, PciPm.PMC_D1),
        d2: bit(pmc, PciPm.PMC_D2),
        pmeSupport: (pmc & PciPm.PMC_PME_MASK) >> PciPm.PMC_PME_SHIFT,
        powerState: csr & PciPm.CSR_STATE_MASK,
        noSoftReset: bit(csr, PciPm.CSR_NO_SOFT_RESET),
        pmeEnable: bit(csr, PciPm.CSR_PME_ENABLE),
        dataSelect: field(csr, PciPm.CSR_DATA_SEL_MASK, PciPm.CSR_DATA_SEL_SHIFT),
        dataScale: field(csr, PciPm.CSR_DATA_SCALE_MASK, PciPm.CSR_DATA_SCALE_SHIFT),
        pmeStatus: bit(csr, PciPm.CSR_PME_STATUS),
        bridgeSupport: bse,
        b2b3: bit(bse, PciPm.BSE_B2_B3),
        busPowerClockControl: bit(bse, PciPm.BSE_BPCC_EN),
        data: rd8(b, o + PciPm.DATA),
      };
    }
    case PciCapId.MSI: {
      const flags = word;
      const a64 = bit(flags, PciMsi.FLAGS_64BIT);
      const pvm = bit(flags, PciMsi.FLAGS_MASKBIT);
      need((a64 ? 14 : 10) + (pvm ? 10 : 0));
      const lo = BigInt(rd32(b, o + PciMsi.ADDRESS_LO));
      const hi = a64 ? BigInt(rd32(b, o + PciMsi.ADDRESS_HI)) : 0n;
      return {
        ...base,
        kind: "msi",
        enabled: bit(flags, PciMsi.FLAGS_ENABLE),
        vectorsCapable: 1 << ((flags & PciMsi.FLAGS_QMASK) >> 1),
        vectorsEnabled: 1 << ((flags & PciMsi.FLAGS_QSIZE) >> 4),
        address64: a64,
        perVectorMask: pvm,
        address: (hi << 32n) | lo,
        data: rd16(b, o + (a64 ? PciMsi.DATA_64 : PciMsi.DATA_32)),
        maskBits: pvm ? rd32(b, o + (a64 ? PciMsi.MASK_64 : PciMsi.MASK_32)) : undefined,
        pendingBits: pvm ? rd32(b, o + (a64 ? PciMsi.PENDING_64 : PciMsi.PENDING_32)) : undefined,
      };
    }
    case PciCapId.MSIX: {
      need(PciMsix.SIZEOF);
      const table = rd32(b, o + PciMsix.TABLE);
      const pba = rd32(b, o + PciMsix.PBA);
      return {
        ...base,
        kind: "msix",
        enabled: bit(word, PciMsix.FLAGS_ENABLE),
        functionMask: bit(word, PciMsix.FLAGS_MASKALL),
        tableSize: (word & PciMsix.FLAGS_QSIZE) + 1,
        tableBar: table & PciMsix.BIR_MASK,
        tableOffset: (table & PciMsix.OFFSET_MASK) >>> 0,
        pbaBar: pba & PciMsix.BIR_MASK,
        pbaOffset: (pba & PciMsix.OFFSET_MASK) >>> 0,
      };
    }
    case PciCapId.EXP:
      need(pcieSize(word));
      return decodePcie(b, o, base);
    case PciCapId.VENDOR: {
      const length = rd8(b, o + 2);
      if (length < 3) issues.push(`vendor capability at 0x${o.toString(16)} has length ${length} < 3`);
      need(Math.max(3, length));
      const end = Math.min(o + Math.max(3, length), PCI_CONFIG_SPACE_SIZE, b.length);
      const isVirtio = ctx.vendorId === 0x1af4 && ctx.deviceId >= 0x1000 && ctx.deviceId <= 0x107f;
      const cfgType = rd8(b, o + 3);
      return {
        ...base,
        kind: "vendor",
        length,
        data: b.slice(Math.min(o + 3, end), end),
        virtio:
          isVirtio && length >= 16 && o + length <= b.length
            ? {
                cfgType,
                bar: rd8(b, o + 4),
                offset: rd32(b, o + 8),
                length: rd32(b, o + 12),
                notifyOffMultiplier: cfgType === 2 && length >= 20 ? rd32(b, o + 16) : undefined,
              }
            : undefined,
      };
    }
    case PciCapId.SLOTID:
      return {
        ...base,
        kind: "slot-id",
        expansionSlots: word & 0x1f,
        firstInChassis: bit(word, 0x20),
        chassis: word >> 8,
      };
    case PciCapId.DBG:
      return { ...base, kind: "debug-port", bar: word >> 13, barOffset: word & 0x1fff };
    case PciCapId.SSVID:
      need(8);
      return { ...base, kind: "ssvid", subsystemVendorId: rd16(b, o + 4), subsystemId: rd16(b, o + 6) };
    case PciCapId.AF: {
      need(6);
      const cap = rd8(b, o + 3);
      return {
        ...base,
        kind: "af",
        transactionsPendingCapable: bit(cap, 0x01),
        flrCapable: bit(cap, 0x02),
        initiateFlr: bit(rd8(b, o + 4), 0x01),
        transactionsPending: bit(rd8(b, o + 5), 0x01),
      };
    }
    case PciCapId.SATA: {
      need(8);
      const bars = rd32(b, o + 4);
      return {
        ...base,
        kind: "sata",
        major: (word >> 4) & 0xf,
        minor: word & 0xf,
        barLocation: bars & 0xf,
        barOffset: (bars >>> 4) & 0xfffff,
      };
    }
    default:
      return { ...base, kind: "other" };
  }
}
