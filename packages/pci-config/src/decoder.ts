import type { CapabilityContext } from "./capabilities/base.js";
import { type DecodedCapability, decodeCapability } from "./capabilities/decode.js";
import type { DecodedPcie } from "./capabilities/pcie/capability.js";
import { PciConfigError, type Result } from "./errors.js";
import { type DecodedExtendedCapability, decodeExtendedCapability } from "./extended-capabilities/decode.js";
import { readBarRegisters } from "./internal/bars.js";
import { rd8, rd16, rd32 } from "./internal/bytes.js";
import { PciCapId } from "./registers/capability-ids.js";
import {
  PCI_CONFIG_SPACE_SIZE,
  PCI_EXT_CAP_START,
  PCI_STD_HEADER_SIZE,
  PciBar,
  PciHeader,
  PciHeaderType,
  PciRom,
  PciStatus,
} from "./registers/header.js";

export interface DecodedBar {
  readonly index: number;
  readonly kind: "io" | "memory32" | "memory64" | "memory1m";
  readonly prefetchable: boolean;
  /** The programmed base address (a 64-bit BAR combines both registers). */
  readonly address: bigint;
  /** The raw register (low dword for a 64-bit BAR). */
  readonly raw: number;
}

/** Where a capability walk stopped early, as lspci reports it (`[off] <chain looped>`, `<chain broken>`). */
export interface CapabilityChainBreak {
  /** "looped": the list came back to `offset`; "broken": the capability at `offset` has id 0xff (what an absent
   * function reads); "unreadable": `offset` lies beyond the bytes given. */
  readonly reason: "looped" | "broken" | "unreadable";
  readonly offset: number;
  /** The entry of `issues` that says so. */
  readonly issue: string;
}

export interface DecodedConfigSpace {
  readonly vendorId: number;
  readonly deviceId: number;
  readonly command: number;
  readonly status: number;
  readonly revision: number;
  /** 24-bit class code and its parts. */
  readonly classCode: number;
  readonly baseClass: number;
  readonly subClass: number;
  readonly progIf: number;
  readonly cacheLineSize: number;
  readonly latencyTimer: number;
  /** Header layout (0 endpoint, 1 PCI bridge, 2 CardBus). */
  readonly headerType: number;
  readonly multiFunction: boolean;
  readonly bist: number;
  /** Implemented BARs only (a register reading 0 or all ones is left out); bridges have two, CardBus none. */
  readonly bars: readonly DecodedBar[];
  /** Type-0 only. */
  readonly subsystemVendorId: number | undefined;
  readonly subsystemId: number | undefined;
  /** Type-0 only: the expansion ROM register (`raw`), its address bits and its enable bit. */
  readonly romAddress: { readonly address: number; readonly enabled: boolean; readonly raw: number } | undefined;
  readonly capabilitiesPointer: number;
  readonly interruptLine: number;
  /** 0 none, 1..4 INTA#..INTD#. */
  readonly interruptPin: number;
  /** Type-0 only: Min_Gnt and Max_Lat, in units of 250 ns (0 = no requirement). */
  readonly minGrant: number | undefined;
  readonly maxLatency: number | undefined;
  readonly capabilities: readonly DecodedCapability[];
  /** Set when the standard capability list stopped before a zero next pointer. */
  readonly capabilityChainBreak: CapabilityChainBreak | undefined;
  /** Present only when the bytes cover extended config space (more than 256 bytes). */
  readonly extendedCapabilities: readonly DecodedExtendedCapability[];
  /** Set when the extended capability list stopped at a loop. */
  readonly extendedCapabilityChainBreak: CapabilityChainBreak | undefined;
  /** What did not make sense (pointer loops, pointers into the header, capabilities cut off). Never thrown. */
  readonly issues: readonly string[];
}

function decodeBars(b: Uint8Array, count: number): DecodedBar[] {
  return readBarRegisters(b, PciHeader.BAR0, count, true);
}

/** Records where a capability walk stopped early, in `issues` and as the walk's result. */
function chainBreak(
  issues: string[],
  reason: CapabilityChainBreak["reason"],
  offset: number,
  issue: string,
): CapabilityChainBreak {
  issues.push(issue);
  return { reason, offset, issue };
}

/** Walks the standard capability list from `capabilitiesPointer`, decoding each capability on the way. */
function walkCapabilityList(
  b: Uint8Array,
  capabilitiesPointer: number,
  ctx: CapabilityContext,
  issues: string[],
): { capabilities: DecodedCapability[]; capabilityChainBreak: CapabilityChainBreak | undefined } {
  const capabilities: DecodedCapability[] = [];
  const seen = new Set<number>();
  let ptr = capabilitiesPointer & ~3;
  // At most (256 - 64) / 4 = 48 capabilities fit; a longer walk is a loop.
  while (ptr !== 0) {
    if (ptr < PCI_STD_HEADER_SIZE) {
      issues.push(`capability pointer 0x${ptr.toString(16)} points into the header`);
      break;
    }
    if (ptr >= b.length) {
      const stop = chainBreak(
        issues,
        "unreadable",
        ptr,
        `capability pointer 0x${ptr.toString(16)} is beyond the bytes given`,
      );
      return { capabilities, capabilityChainBreak: stop };
    }
    if (seen.has(ptr) || seen.size >= 48) {
      const stop = chainBreak(issues, "looped", ptr, `capability list loops at 0x${ptr.toString(16)}`);
      return { capabilities, capabilityChainBreak: stop };
    }
    seen.add(ptr);
    const id = rd8(b, ptr);
    if (id === 0xff) {
      const stop = chainBreak(issues, "broken", ptr, `capability at 0x${ptr.toString(16)} has id 0xff`);
      return { capabilities, capabilityChainBreak: stop };
    }
    const next = rd8(b, ptr + 1) & ~3;
    capabilities.push(decodeCapability(b, ptr, id, next, ctx, issues));
    ptr = next;
  }
  return { capabilities, capabilityChainBreak: undefined };
}

/**
 * Walks the extended capability list from 0x100 (bytes longer than 256 only). `deviceType` is the function's PCI
 * Express device/port type, which some extended capabilities' layout depends on.
 */
function walkExtendedCapabilityList(
  b: Uint8Array,
  deviceType: number | undefined,
  issues: string[],
): {
  extendedCapabilities: DecodedExtendedCapability[];
  extendedCapabilityChainBreak: CapabilityChainBreak | undefined;
} {
  const extendedCapabilities: DecodedExtendedCapability[] = [];
  const seen = new Set<number>();
  let ptr = PCI_EXT_CAP_START;
  const max = (Math.min(b.length, 4096) - PCI_EXT_CAP_START) / 4;
  while (ptr !== 0) {
    if (ptr < PCI_EXT_CAP_START || ptr + 4 > b.length) {
      issues.push(`extended capability pointer 0x${ptr.toString(16)} out of range`);
      break;
    }
    if (seen.has(ptr) || seen.size >= max) {
      const stop = chainBreak(issues, "looped", ptr, `extended capability list loops at 0x${ptr.toString(16)}`);
      return { extendedCapabilities, extendedCapabilityChainBreak: stop };
    }
    seen.add(ptr);
    const h = rd32(b, ptr);
    // An all-zero header at 0x100 means "no extended capabilities"; all ones is what an absent function reads.
    if (h === 0 || h === 0xffffffff) {
      if (ptr !== PCI_EXT_CAP_START) issues.push(`empty extended capability header at 0x${ptr.toString(16)}`);
      break;
    }
    const cap = decodeExtendedCapability(b, ptr, h, deviceType, issues);
    extendedCapabilities.push(cap);
    ptr = cap.next;
  }
  return { extendedCapabilities, extendedCapabilityChainBreak: undefined };
}

/**
 * Decodes config space bytes (256 for conventional, 4096 with extended space; at least the 64-byte header).
 * Never throws: bytes shorter than the header give `{ ok: false }` with a `PciConfigError` ("Truncated"); odd
 * contents (capability loops, pointers into the header, capabilities cut off) are reported in `issues`.
 */
export function decodeConfigSpace(bytes: Uint8Array): Result<DecodedConfigSpace, PciConfigError> {
  if (bytes.length < PCI_STD_HEADER_SIZE)
    return {
      ok: false,
      error: new PciConfigError("Truncated", `config space needs at least 64 bytes, got ${bytes.length}`),
    };
  const b = bytes;
  const issues: string[] = [];
  const headerRaw = rd8(b, PciHeader.HEADER_TYPE);
  const headerType = headerRaw & PciHeaderType.LAYOUT_MASK;
  const status = rd16(b, PciHeader.STATUS);
  const classCode =
    rd8(b, PciHeader.CLASS_PROG) | (rd8(b, PciHeader.CLASS_DEVICE) << 8) | (rd8(b, PciHeader.CLASS_BASE) << 16);
  const type0 = headerType === PciHeaderType.NORMAL;
  const capPtrOffset = headerType === PciHeaderType.CARDBUS ? 0x14 : PciHeader.CAPABILITY_LIST;
  const capabilitiesPointer = rd8(b, capPtrOffset);
  const rom = rd32(b, PciHeader.ROM_ADDRESS);

  const vendorId = rd16(b, PciHeader.VENDOR_ID);
  const deviceId = rd16(b, PciHeader.DEVICE_ID);
  const { capabilities, capabilityChainBreak } =
    status & PciStatus.CAP_LIST
      ? walkCapabilityList(b, capabilitiesPointer, { vendorId, deviceId }, issues)
      : { capabilities: [], capabilityChainBreak: undefined };
  const pcie = capabilities.find((c): c is DecodedPcie => c.id === PciCapId.EXP);
  const { extendedCapabilities, extendedCapabilityChainBreak } =
    b.length > PCI_CONFIG_SPACE_SIZE
      ? walkExtendedCapabilityList(b, pcie?.deviceType, issues)
      : { extendedCapabilities: [], extendedCapabilityChainBreak: undefined };

  return {
    ok: true,
    value: {
      vendorId,
      deviceId,
      command: rd16(b, PciHeader.COMMAND),
      status,
      revision: rd8(b, PciHeader.REVISION_ID),
      classCode,
      baseClass: classCode >> 16,
      subClass: (classCode >> 8) & 0xff,
      progIf: classCode & 0xff,
      cacheLineSize: rd8(b, PciHeader.CACHE_LINE_SIZE),
      latencyTimer: rd8(b, PciHeader.LATENCY_TIMER),
      headerType,
      multiFunction: (headerRaw & PciHeaderType.MULTI_FUNCTION) !== 0,
      bist: rd8(b, PciHeader.BIST),
      bars: decodeBars(b, type0 ? 6 : headerType === PciHeaderType.BRIDGE ? 2 : 0),
      subsystemVendorId: type0 ? rd16(b, PciHeader.SUBSYSTEM_VENDOR_ID) : undefined,
      subsystemId: type0 ? rd16(b, PciHeader.SUBSYSTEM_ID) : undefined,
      romAddress: type0
        ? { address: (rom & PciRom.ADDRESS_MASK) >>> 0, enabled: (rom & PciRom.ENABLE) !== 0, raw: rom }
        : undefined,
      capabilitiesPointer,
      interruptLine: rd8(b, PciHeader.INTERRUPT_LINE),
      interruptPin: rd8(b, PciHeader.INTERRUPT_PIN),
      minGrant: type0 ? rd8(b, PciHeader.MIN_GNT) : undefined,
      maxLatency: type0 ? rd8(b, PciHeader.MAX_LAT) : undefined,
      capabilities,
      capabilityChainBreak,
      extendedCapabilities,
      extendedCapabilityChainBreak,
      issues,
    },
  };
}

/**
 * The size a BAR decodes, from the value read back after writing all ones to it (and, for a 64-bit BAR, to its
 * upper half): `lo` is the low register read back, `hi` the upper one. Returns 0n for an unimplemented BAR.
 */
export function barSizeFromMask(lo: number, hi?: number): bigint {
  if (lo === 0 && (hi ?? 0) === 0) return 0n;
  if (lo & PciBar.SPACE_IO) {
    const m = (lo & PciBar.IO_ADDRESS_MASK & 0xffff) >>> 0;
    return m === 0 ? 0n : BigInt((~m + 1) & 0xffff);
  }
  const mask =
    ((BigInt(hi ?? 0xffffffff) << 32n) | BigInt((lo & PciBar.MEM_ADDRESS_MASK) >>> 0)) & 0xffff_ffff_ffff_ffffn;
  return (~mask + 1n) & 0xffff_ffff_ffff_ffffn;
}
