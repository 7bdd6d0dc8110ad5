import { bit, field } from "../../internal/bits.js";
import { rd16, rd32 } from "../../internal/bytes.js";
import { PciExp } from "../../registers/pcie.js";
import { L0S_NS, L1_NS, pciePowerLimitWatts } from "./encodings.js";

// The device register group of the PCI Express capability: DEVCAP, DEVCTL, DEVSTA and their "2" registers.

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

export function decodeDevCap(b: Uint8Array, o: number): PcieDevCap {
  const devcap = rd32(b, o + PciExp.DEVCAP);
  return {
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
  };
}

export function decodeDevCtl(b: Uint8Array, o: number): PcieDevCtl {
  const devctl = rd16(b, o + PciExp.DEVCTL);
  return {
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
  };
}

export function decodeDevSta(b: Uint8Array, o: number): PcieDevSta {
  const devsta = rd16(b, o + PciExp.DEVSTA);
  return {
    correctableError: bit(devsta, PciExp.DEVSTA_CED),
    nonFatalError: bit(devsta, PciExp.DEVSTA_NFED),
    fatalError: bit(devsta, PciExp.DEVSTA_FED),
    unsupportedRequest: bit(devsta, PciExp.DEVSTA_URD),
    auxPowerDetected: bit(devsta, PciExp.DEVSTA_AUXPD),
    transactionsPending: bit(devsta, PciExp.DEVSTA_TRPND),
    raw: devsta,
  };
}

export function decodeDevCap2(b: Uint8Array, o: number): PcieDevCap2 {
  const devcap2 = rd32(b, o + PciExp.DEVCAP2);
  return {
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
    maxEndEndTlpPrefixes: field(devcap2, PciExp.DEVCAP2_EE_PREFIX_MAX_MASK, PciExp.DEVCAP2_EE_PREFIX_MAX_SHIFT) || 4,
    emergencyPowerReduction: field(devcap2, PciExp.DEVCAP2_EPR_MASK, PciExp.DEVCAP2_EPR_SHIFT),
    emergencyPowerReductionInitRequired: bit(devcap2, PciExp.DEVCAP2_EPR_INIT),
    frs: bit(devcap2, PciExp.DEVCAP2_FRS),
    raw: devcap2,
  };
}

export function decodeDevCtl2(b: Uint8Array, o: number): PcieDevCtl2 {
  const devctl2 = rd16(b, o + PciExp.DEVCTL2);
  return {
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
  };
}
