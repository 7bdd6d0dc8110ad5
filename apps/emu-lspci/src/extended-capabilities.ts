import type { AcsBits, AerCorrectableErrors, AerUncorrectableErrors, DecodedExtendedCapability } from "@emu/pci-config";
import type { CapContext } from "./pcie-capability.js";
import { hex, pm } from "./text.js";

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

type ExtCap<K extends DecodedExtendedCapability["kind"]> = Extract<DecodedExtendedCapability, { kind: K }>;

/** The lines of one extended capability, with their tabs, as lspci prints them. */
export function extendedCapabilityLines(cap: DecodedExtendedCapability, ctx: CapContext): string[] {
  const vv = ctx.verbose >= 2;
  const at = `\tCapabilities: [${hex(cap.offset, 3)}${vv ? ` v${cap.version}` : ""}] `;
  switch (cap.kind) {
    case "aer":
      return aerLines(cap, vv, at);
    case "dsn": {
      const bytes = Array.from({ length: 8 }, (_, i) => hex((cap.serialNumber >> BigInt(56 - 8 * i)) & 0xffn, 2));
      return [`${at}Device Serial Number ${bytes.join("-")}`];
    }
    case "ari":
      return ariLines(cap, vv, at);
    case "sriov":
      return sriovLines(cap, vv, at);
    case "acs":
      return acsLines(cap, vv, at);
    case "ats":
      return atsLines(cap, vv, at);
    case "pri":
      return priLines(cap, vv, at);
    case "pasid":
      return pasidLines(cap, vv, at);
    case "ltr":
      return ltrLines(cap, vv, at);
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

function aerLines(cap: ExtCap<"aer">, vv: boolean, at: string): string[] {
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

function ariLines(cap: ExtCap<"ari">, vv: boolean, at: string): string[] {
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

function sriovLines(cap: ExtCap<"sriov">, vv: boolean, at: string): string[] {
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

function acsLines(cap: ExtCap<"acs">, vv: boolean, at: string): string[] {
  const lines = [`${at}Access Control Services`];
  if (vv)
    lines.push(
      `\t\tACSCap:\t${flagList(cap.capabilities, ACS_NAMES)}`,
      `\t\tACSCtl:\t${flagList(cap.control, ACS_NAMES)}`,
    );
  return lines;
}

function atsLines(cap: ExtCap<"ats">, vv: boolean, at: string): string[] {
  const lines = [`${at}Address Translation Service (ATS)`];
  if (vv)
    lines.push(
      `\t\tATSCap:\tInvalidate Queue Depth: ${hex(cap.invalidateQueueDepth, 2)}`,
      `\t\tATSCtl:\tEnable${pm(cap.enabled)}, Smallest Translation Unit: ${hex(cap.smallestTranslationUnit, 2)}`,
    );
  return lines;
}

function priLines(cap: ExtCap<"pri">, vv: boolean, at: string): string[] {
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

function pasidLines(cap: ExtCap<"pasid">, vv: boolean, at: string): string[] {
  const lines = [`${at}Process Address Space ID (PASID)`];
  if (vv)
    lines.push(
      `\t\tPASIDCap: Exec${pm(cap.executePermissionSupported)} Priv${pm(cap.privilegedModeSupported)}, ` +
        `Max PASID Width: ${hex(cap.maxPasidWidth, 2)}`,
      `\t\tPASIDCtl: Enable${pm(cap.enabled)} Exec${pm(cap.executePermissionEnabled)} Priv${pm(cap.privilegedModeEnabled)}`,
    );
  return lines;
}

function ltrLines(cap: ExtCap<"ltr">, vv: boolean, at: string): string[] {
  const lines = [`${at}Latency Tolerance Reporting`];
  if (vv)
    lines.push(
      `\t\tMax snoop latency: ${cap.maxSnoopLatencyNs}ns`,
      `\t\tMax no snoop latency: ${cap.maxNoSnoopLatencyNs}ns`,
    );
  return lines;
}
