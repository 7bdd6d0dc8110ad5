import type { RequireLength } from "../capabilities/base.js";
import { bit } from "../internal/bits.js";
import { rd16, rd32 } from "../internal/bytes.js";
import { PciErr } from "../registers/aer.js";
import { PciExp } from "../registers/pcie.js";
import type { ExtendedCapabilityBase } from "./base.js";

// Advanced Error Reporting: error status, mask and severity registers, the header log and the root registers.

/** The uncorrectable error bits of AER's status, mask and severity registers. */
export interface AerUncorrectableErrors {
  readonly dataLinkProtocol: boolean;
  readonly surpriseDown: boolean;
  readonly poisonedTlp: boolean;
  readonly flowControlProtocol: boolean;
  readonly completionTimeout: boolean;
  readonly completerAbort: boolean;
  readonly unexpectedCompletion: boolean;
  readonly receiverOverflow: boolean;
  readonly malformedTlp: boolean;
  readonly ecrc: boolean;
  readonly unsupportedRequest: boolean;
  readonly acsViolation: boolean;
  /** The whole register, including bits not named here. */
  readonly raw: number;
}

/** The correctable error bits of AER's status and mask registers. */
export interface AerCorrectableErrors {
  readonly receiverError: boolean;
  readonly badTlp: boolean;
  readonly badDllp: boolean;
  readonly replayNumRollover: boolean;
  readonly replayTimerTimeout: boolean;
  readonly advisoryNonFatal: boolean;
  readonly raw: number;
}

/** Advanced Error Reporting. */
export interface DecodedAer extends ExtendedCapabilityBase {
  readonly kind: "aer";
  readonly uncorrectableStatus: AerUncorrectableErrors;
  readonly uncorrectableMask: AerUncorrectableErrors;
  /** Set bits are fatal, clear ones non-fatal. */
  readonly uncorrectableSeverity: AerUncorrectableErrors;
  readonly correctableStatus: AerCorrectableErrors;
  readonly correctableMask: AerCorrectableErrors;
  /** Advanced Error Capabilities and Control. */
  readonly control: {
    readonly firstErrorPointer: number;
    readonly ecrcGenerationCapable: boolean;
    readonly ecrcGenerationEnabled: boolean;
    readonly ecrcCheckCapable: boolean;
    readonly ecrcCheckEnabled: boolean;
    readonly multipleHeaderRecordingCapable: boolean;
    readonly multipleHeaderRecordingEnabled: boolean;
    readonly tlpPrefixLogPresent: boolean;
    readonly completionTimeoutHeaderLogCapable: boolean;
    readonly raw: number;
  };
  /** The four header log dwords. */
  readonly headerLog: readonly [number, number, number, number];
  /** Root Error Command/Status and Error Source Identification (root ports and event collectors only). */
  readonly root:
    | {
        readonly correctableReportingEnable: boolean;
        readonly nonFatalReportingEnable: boolean;
        readonly fatalReportingEnable: boolean;
        readonly correctableReceived: boolean;
        readonly multipleCorrectableReceived: boolean;
        readonly uncorrectableReceived: boolean;
        readonly multipleUncorrectableReceived: boolean;
        readonly firstUncorrectableFatal: boolean;
        readonly nonFatalReceived: boolean;
        readonly fatalReceived: boolean;
        readonly interruptMessageNumber: number;
        readonly correctableSourceId: number;
        readonly uncorrectableSourceId: number;
      }
    | undefined;
}

function uncorrectable(v: number): AerUncorrectableErrors {
  return {
    dataLinkProtocol: bit(v, PciErr.UNC_DLP),
    surpriseDown: bit(v, PciErr.UNC_SDES),
    poisonedTlp: bit(v, PciErr.UNC_POISON_TLP),
    flowControlProtocol: bit(v, PciErr.UNC_FCP),
    completionTimeout: bit(v, PciErr.UNC_COMP_TIME),
    completerAbort: bit(v, PciErr.UNC_COMP_ABORT),
    unexpectedCompletion: bit(v, PciErr.UNC_UNX_COMP),
    receiverOverflow: bit(v, PciErr.UNC_RX_OVER),
    malformedTlp: bit(v, PciErr.UNC_MALF_TLP),
    ecrc: bit(v, PciErr.UNC_ECRC),
    unsupportedRequest: bit(v, PciErr.UNC_UNSUP),
    acsViolation: bit(v, PciErr.UNC_ACS_VIOL),
    raw: v,
  };
}

function correctable(v: number): AerCorrectableErrors {
  return {
    receiverError: bit(v, PciErr.COR_RCVR),
    badTlp: bit(v, PciErr.COR_BAD_TLP),
    badDllp: bit(v, PciErr.COR_BAD_DLLP),
    replayNumRollover: bit(v, PciErr.COR_REP_ROLL),
    replayTimerTimeout: bit(v, PciErr.COR_REP_TIMER),
    advisoryNonFatal: bit(v, PciErr.COR_ADV_NFAT),
    raw: v,
  };
}

export function decodeAer(
  b: Uint8Array,
  o: number,
  base: ExtendedCapabilityBase,
  deviceType: number | undefined,
  need: RequireLength,
): DecodedAer {
  const isRoot = deviceType === PciExp.TYPE_ROOT_PORT || deviceType === PciExp.TYPE_RC_EC;
  need(isRoot ? PciErr.SIZEOF : PciErr.SIZEOF_ENDPOINT);
  const ctl = rd32(b, o + PciErr.CAP);
  const rcmd = rd32(b, o + PciErr.ROOT_COMMAND);
  const rsta = rd32(b, o + PciErr.ROOT_STATUS);
  return {
    ...base,
    kind: "aer",
    uncorrectableStatus: uncorrectable(rd32(b, o + PciErr.UNCOR_STATUS)),
    uncorrectableMask: uncorrectable(rd32(b, o + PciErr.UNCOR_MASK)),
    uncorrectableSeverity: uncorrectable(rd32(b, o + PciErr.UNCOR_SEVER)),
    correctableStatus: correctable(rd32(b, o + PciErr.COR_STATUS)),
    correctableMask: correctable(rd32(b, o + PciErr.COR_MASK)),
    control: {
      firstErrorPointer: ctl & PciErr.CAP_FEP_MASK,
      ecrcGenerationCapable: bit(ctl, PciErr.CAP_ECRC_GENC),
      ecrcGenerationEnabled: bit(ctl, PciErr.CAP_ECRC_GENE),
      ecrcCheckCapable: bit(ctl, PciErr.CAP_ECRC_CHKC),
      ecrcCheckEnabled: bit(ctl, PciErr.CAP_ECRC_CHKE),
      multipleHeaderRecordingCapable: bit(ctl, PciErr.CAP_MULT_HDRC),
      multipleHeaderRecordingEnabled: bit(ctl, PciErr.CAP_MULT_HDRE),
      tlpPrefixLogPresent: bit(ctl, PciErr.CAP_TLP_PFX),
      completionTimeoutHeaderLogCapable: bit(ctl, PciErr.CAP_HDR_LOG),
      raw: ctl,
    },
    headerLog: [
      rd32(b, o + PciErr.HEADER_LOG),
      rd32(b, o + PciErr.HEADER_LOG + 4),
      rd32(b, o + PciErr.HEADER_LOG + 8),
      rd32(b, o + PciErr.HEADER_LOG + 12),
    ],
    root: isRoot
      ? {
          correctableReportingEnable: bit(rcmd, PciErr.ROOT_CMD_COR_EN),
          nonFatalReportingEnable: bit(rcmd, PciErr.ROOT_CMD_NONFATAL_EN),
          fatalReportingEnable: bit(rcmd, PciErr.ROOT_CMD_FATAL_EN),
          correctableReceived: bit(rsta, PciErr.ROOT_COR_RCV),
          multipleCorrectableReceived: bit(rsta, PciErr.ROOT_MULTI_COR_RCV),
          uncorrectableReceived: bit(rsta, PciErr.ROOT_UNCOR_RCV),
          multipleUncorrectableReceived: bit(rsta, PciErr.ROOT_MULTI_UNCOR_RCV),
          firstUncorrectableFatal: bit(rsta, PciErr.ROOT_FIRST_FATAL),
          nonFatalReceived: bit(rsta, PciErr.ROOT_NONFATAL_RCV),
          fatalReceived: bit(rsta, PciErr.ROOT_FATAL_RCV),
          interruptMessageNumber: (rsta >>> PciErr.ROOT_MSG_NUM_SHIFT) & 0x1f,
          correctableSourceId: rd16(b, o + PciErr.ROOT_COR_SRC),
          uncorrectableSourceId: rd16(b, o + PciErr.ROOT_SRC),
        }
      : undefined,
  };
}
