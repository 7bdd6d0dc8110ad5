import { extendedCapabilityTitle } from "./capability-names.js";
import { readBarRegisters } from "./internal/bars.js";
import { rd8, rd16, rd32 } from "./internal/bytes.js";
import { PciAcs } from "./registers/acs.js";
import { PciErr } from "./registers/aer.js";
import { PciAri } from "./registers/ari.js";
import { PciAts } from "./registers/ats.js";
import { PciExtCapId } from "./registers/capability-ids.js";
import { PciDsn } from "./registers/dsn.js";
import { PciLtr } from "./registers/ltr.js";
import { PciPasid } from "./registers/pasid.js";
import { PciExp } from "./registers/pcie.js";
import { PciPri } from "./registers/pri.js";
import { PciSriov } from "./registers/sriov.js";

// ---------------------------------------------------------------------------------------------------------------
// Extended capabilities (PCI Express config space from 0x100), decoded register by register.
// ---------------------------------------------------------------------------------------------------------------

/** What every decoded extended capability has. */
export interface ExtendedCapabilityBase {
  readonly id: number;
  /** Short identifier: the `PciExtCapId` key ("ERR", "DSN", ...) or `ext cap 0xNNNN`. */
  readonly name: string;
  /** What lspci calls it ("Advanced Error Reporting", ...); undefined for ids lspci does not know. */
  readonly title: string | undefined;
  readonly version: number;
  readonly offset: number;
  readonly next: number;
}

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

/** Device Serial Number: the 64-bit IEEE EUI-64 (high dword at +8, low at +4). */
export interface DecodedDsn extends ExtendedCapabilityBase {
  readonly kind: "dsn";
  readonly serialNumber: bigint;
}

/** Alternative Routing-ID Interpretation. */
export interface DecodedAri extends ExtendedCapabilityBase {
  readonly kind: "ari";
  readonly mfvcFunctionGroupsCapable: boolean;
  readonly acsFunctionGroupsCapable: boolean;
  readonly nextFunction: number;
  readonly mfvcFunctionGroupsEnabled: boolean;
  readonly acsFunctionGroupsEnabled: boolean;
  readonly functionGroup: number;
}

/** A VF BAR of SR-IOV: memory only; a 64-bit one includes the next register. */
export interface DecodedVfBar {
  readonly index: number;
  readonly kind: "memory32" | "memory64" | "memory1m";
  readonly prefetchable: boolean;
  readonly address: bigint;
  readonly raw: number;
}

/** Single Root I/O Virtualization. */
export interface DecodedSriov extends ExtendedCapabilityBase {
  readonly kind: "sriov";
  readonly vfMigrationCapable: boolean;
  readonly vf10BitTagRequesterSupported: boolean;
  readonly vfMigrationInterruptMessageNumber: number;
  readonly vfEnable: boolean;
  readonly vfMigrationEnable: boolean;
  readonly vfMigrationInterruptEnable: boolean;
  readonly vfMemorySpaceEnable: boolean;
  readonly ariCapableHierarchy: boolean;
  readonly vf10BitTagRequesterEnable: boolean;
  readonly vfMigrationStatus: boolean;
  readonly initialVfs: number;
  readonly totalVfs: number;
  readonly numVfs: number;
  readonly functionDependencyLink: number;
  readonly firstVfOffset: number;
  readonly vfStride: number;
  readonly vfDeviceId: number;
  /** Supported page sizes (bit n = 4 KiB << n) and the system page size selected the same way. */
  readonly supportedPageSizes: number;
  readonly systemPageSize: number;
  /** Implemented VF BARs (a register reading 0 or all ones is left out). */
  readonly vfBars: readonly DecodedVfBar[];
  readonly vfMigrationStateOffset: number;
  readonly vfMigrationStateBir: number;
}

/** Access Control Services (capability and control registers). */
export interface AcsBits {
  readonly sourceValidation: boolean;
  readonly translationBlocking: boolean;
  readonly requestRedirect: boolean;
  readonly completionRedirect: boolean;
  readonly upstreamForwarding: boolean;
  readonly egressControl: boolean;
  readonly directTranslatedP2p: boolean;
  readonly raw: number;
}

export interface DecodedAcs extends ExtendedCapabilityBase {
  readonly kind: "acs";
  readonly capabilities: AcsBits;
  readonly control: AcsBits;
  readonly egressControlVectorSize: number;
}

/** Address Translation Service. */
export interface DecodedAts extends ExtendedCapabilityBase {
  readonly kind: "ats";
  readonly invalidateQueueDepth: number;
  readonly enabled: boolean;
  readonly smallestTranslationUnit: number;
}

/** Page Request Interface. */
export interface DecodedPri extends ExtendedCapabilityBase {
  readonly kind: "pri";
  readonly enabled: boolean;
  readonly reset: boolean;
  readonly responseFailure: boolean;
  readonly unexpectedPageRequestGroupIndex: boolean;
  readonly stopped: boolean;
  readonly outstandingPageRequestCapacity: number;
  readonly outstandingPageRequestAllocation: number;
}

/** Process Address Space ID. */
export interface DecodedPasid extends ExtendedCapabilityBase {
  readonly kind: "pasid";
  readonly executePermissionSupported: boolean;
  readonly privilegedModeSupported: boolean;
  readonly maxPasidWidth: number;
  readonly enabled: boolean;
  readonly executePermissionEnabled: boolean;
  readonly privilegedModeEnabled: boolean;
}

/** Latency Tolerance Reporting: the two maximum latencies, in nanoseconds (value × 2^(5 × scale); the spec forbids
 * scales 6 and 7, decoded by the same rule). */
export interface DecodedLtr extends ExtendedCapabilityBase {
  readonly kind: "ltr";
  readonly maxSnoopLatencyNs: number;
  readonly maxNoSnoopLatencyNs: number;
}

/** Vendor-Specific Extended Capability: its header (vendor-defined id, revision, length). */
export interface DecodedVsec extends ExtendedCapabilityBase {
  readonly kind: "vsec";
  readonly vsecId: number;
  readonly vsecRevision: number;
  readonly vsecLength: number;
}

/** Designated Vendor-Specific Extended Capability: its two header registers. */
export interface DecodedDvsec extends ExtendedCapabilityBase {
  readonly kind: "dvsec";
  readonly dvsecVendorId: number;
  readonly dvsecRevision: number;
  readonly dvsecLength: number;
  readonly dvsecId: number;
}

/** An extended capability this package does not decode beyond its header. */
export interface DecodedOtherExtendedCap extends ExtendedCapabilityBase {
  readonly kind: "other";
}

export type DecodedExtendedCapability =
  | DecodedAer
  | DecodedDsn
  | DecodedAri
  | DecodedSriov
  | DecodedAcs
  | DecodedAts
  | DecodedPri
  | DecodedPasid
  | DecodedLtr
  | DecodedVsec
  | DecodedDvsec
  | DecodedOtherExtendedCap;

const EXT_CAP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(PciExtCapId).map(([k, v]) => [v, k]));

/** Name of an extended capability id ("ERR", "DSN", ...) or `ext cap 0xNNNN`. */
export function extendedCapabilityName(id: number): string {
  return EXT_CAP_NAMES[id] ?? `ext cap 0x${id.toString(16).padStart(4, "0")}`;
}

const bit = (v: number, mask: number): boolean => (v & mask) !== 0;

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

function acsBits(v: number): AcsBits {
  return {
    sourceValidation: bit(v, PciAcs.SV),
    translationBlocking: bit(v, PciAcs.TB),
    requestRedirect: bit(v, PciAcs.RR),
    completionRedirect: bit(v, PciAcs.CR),
    upstreamForwarding: bit(v, PciAcs.UF),
    egressControl: bit(v, PciAcs.EC),
    directTranslatedP2p: bit(v, PciAcs.DT),
    raw: v,
  };
}

function ltrNs(v: number): number {
  return (v & PciLtr.VALUE_MASK) * 2 ** (5 * ((v & PciLtr.SCALE_MASK) >> PciLtr.SCALE_SHIFT));
}

function decodeVfBars(b: Uint8Array, o: number): DecodedVfBar[] {
  // VF BARs are memory BARs: the I/O bit is not interpreted, so no "io" kind comes back.
  return readBarRegisters(b, o + PciSriov.BAR0, 6, false) as DecodedVfBar[];
}

/**
 * Decodes the extended capability at `o` whose 32-bit header is `header`. `deviceType` is the PCI Express
 * device/port type of the function (from its PCI Express capability), which decides whether AER has root registers.
 * Fields past the end of the bytes read as 0; a capability that runs past them is reported in `issues`.
 */
export function decodeExtendedCapability(
  b: Uint8Array,
  o: number,
  header: number,
  deviceType: number | undefined,
  issues: string[],
): DecodedExtendedCapability {
  const id = header & 0xffff;
  const base: ExtendedCapabilityBase = {
    id,
    name: extendedCapabilityName(id),
    title: extendedCapabilityTitle(id),
    version: (header >>> 16) & 0xf,
    offset: o,
    next: (header >>> 20) & 0xffc,
  };
  const need = (len: number): void => {
    if (o + len > b.length)
      issues.push(`${base.name} extended capability at 0x${o.toString(16)} runs past the end of config space`);
  };
  switch (id) {
    case PciExtCapId.ERR: {
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
    case PciExtCapId.DSN:
      need(PciDsn.SIZEOF);
      return {
        ...base,
        kind: "dsn",
        serialNumber: (BigInt(rd32(b, o + PciDsn.HIGH)) << 32n) | BigInt(rd32(b, o + PciDsn.LOW)),
      };
    case PciExtCapId.ARI: {
      need(PciAri.SIZEOF);
      const cap = rd16(b, o + PciAri.CAP);
      const ctl = rd16(b, o + PciAri.CTRL);
      return {
        ...base,
        kind: "ari",
        mfvcFunctionGroupsCapable: bit(cap, PciAri.CAP_MFVC),
        acsFunctionGroupsCapable: bit(cap, PciAri.CAP_ACS),
        nextFunction: (cap >> PciAri.CAP_NFN_SHIFT) & 0xff,
        mfvcFunctionGroupsEnabled: bit(ctl, PciAri.CTRL_MFVC),
        acsFunctionGroupsEnabled: bit(ctl, PciAri.CTRL_ACS),
        functionGroup: (ctl & PciAri.CTRL_FG_MASK) >> PciAri.CTRL_FG_SHIFT,
      };
    }
    case PciExtCapId.SRIOV: {
      need(PciSriov.SIZEOF);
      const cap = rd32(b, o + PciSriov.CAP);
      const ctl = rd16(b, o + PciSriov.CTRL);
      const mig = rd32(b, o + PciSriov.MIGRATION);
      return {
        ...base,
        kind: "sriov",
        vfMigrationCapable: bit(cap, PciSriov.CAP_VFM),
        vf10BitTagRequesterSupported: bit(cap, PciSriov.CAP_VF_10BIT_TAG_REQ),
        vfMigrationInterruptMessageNumber: cap >>> PciSriov.CAP_IMN_SHIFT,
        vfEnable: bit(ctl, PciSriov.CTRL_VFE),
        vfMigrationEnable: bit(ctl, PciSriov.CTRL_VFM),
        vfMigrationInterruptEnable: bit(ctl, PciSriov.CTRL_INTR),
        vfMemorySpaceEnable: bit(ctl, PciSriov.CTRL_MSE),
        ariCapableHierarchy: bit(ctl, PciSriov.CTRL_ARI),
        vf10BitTagRequesterEnable: bit(ctl, PciSriov.CTRL_VF_10BIT_TAG_REQ_EN),
        vfMigrationStatus: bit(rd16(b, o + PciSriov.STATUS), PciSriov.STATUS_VFM),
        initialVfs: rd16(b, o + PciSriov.INITIAL_VF),
        totalVfs: rd16(b, o + PciSriov.TOTAL_VF),
        numVfs: rd16(b, o + PciSriov.NUM_VF),
        functionDependencyLink: rd8(b, o + PciSriov.FUNC_LINK),
        firstVfOffset: rd16(b, o + PciSriov.VF_OFFSET),
        vfStride: rd16(b, o + PciSriov.VF_STRIDE),
        vfDeviceId: rd16(b, o + PciSriov.VF_DID),
        supportedPageSizes: rd32(b, o + PciSriov.SUP_PGSIZE),
        systemPageSize: rd32(b, o + PciSriov.SYS_PGSIZE),
        vfBars: decodeVfBars(b, o),
        vfMigrationStateOffset: (mig & PciSriov.MIGRATION_OFFSET_MASK) >>> 0,
        vfMigrationStateBir: mig & PciSriov.MIGRATION_BIR_MASK,
      };
    }
    case PciExtCapId.ACS: {
      need(8);
      const cap = rd16(b, o + PciAcs.CAP);
      return {
        ...base,
        kind: "acs",
        capabilities: acsBits(cap),
        control: acsBits(rd16(b, o + PciAcs.CTRL)),
        egressControlVectorSize: cap >> PciAcs.CAP_ECVS_SHIFT,
      };
    }
    case PciExtCapId.ATS: {
      need(8);
      const ctl = rd16(b, o + PciAts.CTRL);
      return {
        ...base,
        kind: "ats",
        invalidateQueueDepth: rd16(b, o + PciAts.CAP) & PciAts.CAP_IQD_MASK,
        enabled: bit(ctl, PciAts.CTRL_ENABLE),
        smallestTranslationUnit: ctl & PciAts.CTRL_STU_MASK,
      };
    }
    case PciExtCapId.PRI: {
      need(0x10);
      const ctl = rd16(b, o + PciPri.CTRL);
      const sta = rd16(b, o + PciPri.STATUS);
      return {
        ...base,
        kind: "pri",
        enabled: bit(ctl, PciPri.CTRL_ENABLE),
        reset: bit(ctl, PciPri.CTRL_RESET),
        responseFailure: bit(sta, PciPri.STATUS_RF),
        unexpectedPageRequestGroupIndex: bit(sta, PciPri.STATUS_UPRGI),
        stopped: bit(sta, PciPri.STATUS_STOPPED),
        outstandingPageRequestCapacity: rd32(b, o + PciPri.MAX_REQ),
        outstandingPageRequestAllocation: rd32(b, o + PciPri.ALLOC_REQ),
      };
    }
    case PciExtCapId.PASID: {
      need(8);
      const cap = rd16(b, o + PciPasid.CAP);
      const ctl = rd16(b, o + PciPasid.CTRL);
      return {
        ...base,
        kind: "pasid",
        executePermissionSupported: bit(cap, PciPasid.CAP_EXEC),
        privilegedModeSupported: bit(cap, PciPasid.CAP_PRIV),
        maxPasidWidth: (cap & PciPasid.CAP_WIDTH_MASK) >> PciPasid.CAP_WIDTH_SHIFT,
        enabled: bit(ctl, PciPasid.CTRL_ENABLE),
        executePermissionEnabled: bit(ctl, PciPasid.CTRL_EXEC),
        privilegedModeEnabled: bit(ctl, PciPasid.CTRL_PRIV),
      };
    }
    case PciExtCapId.LTR:
      need(8);
      return {
        ...base,
        kind: "ltr",
        maxSnoopLatencyNs: ltrNs(rd16(b, o + PciLtr.MAX_SNOOP)),
        maxNoSnoopLatencyNs: ltrNs(rd16(b, o + PciLtr.MAX_NOSNOOP)),
      };
    case PciExtCapId.VENDOR: {
      need(8);
      const h = rd32(b, o + 4);
      return { ...base, kind: "vsec", vsecId: h & 0xffff, vsecRevision: (h >>> 16) & 0xf, vsecLength: h >>> 20 };
    }
    case PciExtCapId.DVSEC: {
      need(10);
      const h = rd32(b, o + 4);
      return {
        ...base,
        kind: "dvsec",
        dvsecVendorId: h & 0xffff,
        dvsecRevision: (h >>> 16) & 0xf,
        dvsecLength: h >>> 20,
        dvsecId: rd16(b, o + 8),
      };
    }
    default:
      return { ...base, kind: "other" };
  }
}
