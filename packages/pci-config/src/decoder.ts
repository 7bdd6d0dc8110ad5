import { PciConfigError, type Result } from "./errors.js";
import { rd8, rd16, rd32 } from "./internal/bytes.js";
import {
  PCI_CONFIG_SPACE_SIZE,
  PCI_EXT_CAP_START,
  PCI_STD_HEADER_SIZE,
  PciBar,
  PciCapId,
  PciExp,
  PciExtCap,
  PciExtCapId,
  PciHeader,
  PciHeaderType,
  PciMsi,
  PciMsix,
  PciPm,
  PciRom,
  PciStatus,
} from "./registers.js";

export interface DecodedBar {
  readonly index: number;
  readonly kind: "io" | "memory32" | "memory64" | "memory1m";
  readonly prefetchable: boolean;
  /** The programmed base address (a 64-bit BAR combines both registers). */
  readonly address: bigint;
  /** The raw register (low dword for a 64-bit BAR). */
  readonly raw: number;
}

interface CapBase {
  readonly id: number;
  readonly name: string;
  readonly offset: number;
  /** Next pointer as read (low two bits ignored). */
  readonly next: number;
}

export interface DecodedPm extends CapBase {
  readonly kind: "pm";
  readonly version: number;
  readonly pmeClock: boolean;
  readonly dsi: boolean;
  readonly auxCurrent: number;
  readonly d1: boolean;
  readonly d2: boolean;
  /** PME# support mask: bit 0 D0 .. bit 4 D3cold. */
  readonly pmeSupport: number;
  /** 0..3 = D0..D3hot. */
  readonly powerState: number;
  readonly noSoftReset: boolean;
  readonly pmeEnable: boolean;
  readonly pmeStatus: boolean;
}

export interface DecodedMsi extends CapBase {
  readonly kind: "msi";
  readonly enabled: boolean;
  /** Vectors capable (Multiple Message Capable, decoded). */
  readonly vectorsCapable: number;
  /** Vectors enabled (Multiple Message Enable, decoded). */
  readonly vectorsEnabled: number;
  readonly address64: boolean;
  readonly perVectorMask: boolean;
  readonly address: bigint;
  readonly data: number;
  readonly maskBits: number | undefined;
  readonly pendingBits: number | undefined;
}

export interface DecodedMsix extends CapBase {
  readonly kind: "msix";
  readonly enabled: boolean;
  readonly functionMask: boolean;
  readonly tableSize: number;
  readonly tableBar: number;
  readonly tableOffset: number;
  readonly pbaBar: number;
  readonly pbaOffset: number;
}

export interface DecodedPcie extends CapBase {
  readonly kind: "pcie";
  readonly version: number;
  /** Device/port type code (FLAGS bits 4-7) and its name. */
  readonly deviceType: number;
  readonly deviceTypeName: string;
  readonly slotImplemented: boolean;
  readonly interruptMessageNumber: number;
  readonly devCap: {
    readonly maxPayloadSize: number;
    readonly extendedTag: boolean;
    readonly flr: boolean;
    readonly raw: number;
  };
  readonly devCtl: {
    readonly maxPayloadSize: number;
    readonly maxReadRequestSize: number;
    readonly relaxedOrdering: boolean;
    readonly noSnoop: boolean;
    readonly extendedTag: boolean;
    readonly raw: number;
  };
  readonly devSta: number;
  /** Present unless the function has no link (root-complex integrated endpoints and event collectors). */
  readonly link:
    | {
        readonly maxSpeed: number;
        readonly maxWidth: number;
        readonly aspmSupport: number;
        readonly portNumber: number;
        readonly speed: number;
        readonly width: number;
        readonly control: number;
      }
    | undefined;
}

export interface DecodedVendorCap extends CapBase {
  readonly kind: "vendor";
  readonly length: number;
  /** The bytes after id, next and length (clipped to config space). */
  readonly data: Uint8Array;
}

export interface DecodedOtherCap extends CapBase {
  readonly kind: "other";
}

export type DecodedCapability = DecodedPm | DecodedMsi | DecodedMsix | DecodedPcie | DecodedVendorCap | DecodedOtherCap;

export interface DecodedExtendedCapability {
  readonly id: number;
  readonly name: string;
  readonly version: number;
  readonly offset: number;
  readonly next: number;
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
  /** Implemented BARs only (a register reading 0 is left out); bridges have two, CardBus none. */
  readonly bars: readonly DecodedBar[];
  /** Type-0 only. */
  readonly subsystemVendorId: number | undefined;
  readonly subsystemId: number | undefined;
  readonly romAddress: { readonly address: number; readonly enabled: boolean } | undefined;
  readonly capabilitiesPointer: number;
  readonly interruptLine: number;
  /** 0 none, 1..4 INTA#..INTD#. */
  readonly interruptPin: number;
  readonly capabilities: readonly DecodedCapability[];
  /** Present only when the bytes cover extended config space (more than 256 bytes). */
  readonly extendedCapabilities: readonly DecodedExtendedCapability[];
  /** What did not make sense (pointer loops, pointers into the header, capabilities cut off). Never thrown. */
  readonly issues: readonly string[];
}

const CAP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(PciCapId).map(([k, v]) => [v, k]));
const EXT_CAP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(PciExtCapId).map(([k, v]) => [v, k]));
const PCIE_TYPES: Record<number, string> = {
  [PciExp.TYPE_ENDPOINT]: "Endpoint",
  [PciExp.TYPE_LEG_END]: "Legacy Endpoint",
  [PciExp.TYPE_ROOT_PORT]: "Root Port",
  [PciExp.TYPE_UPSTREAM]: "Upstream Port",
  [PciExp.TYPE_DOWNSTREAM]: "Downstream Port",
  [PciExp.TYPE_PCI_BRIDGE]: "PCI/PCI-X Bridge",
  [PciExp.TYPE_PCIE_BRIDGE]: "PCI/PCI-X to PCIe Bridge",
  [PciExp.TYPE_RC_END]: "Root Complex Integrated Endpoint",
  [PciExp.TYPE_RC_EC]: "Root Complex Event Collector",
};

/** Name of a standard capability id ("MSI", "EXP", ...) or `cap 0xNN`. */
export function capabilityName(id: number): string {
  return CAP_NAMES[id] ?? `cap 0x${id.toString(16).padStart(2, "0")}`;
}

/** Name of an extended capability id ("ERR", "DSN", ...) or `ext cap 0xNNNN`. */
export function extendedCapabilityName(id: number): string {
  return EXT_CAP_NAMES[id] ?? `ext cap 0x${id.toString(16).padStart(4, "0")}`;
}

function decodeBars(b: Uint8Array, count: number): DecodedBar[] {
  const out: DecodedBar[] = [];
  for (let i = 0; i < count; i++) {
    const raw = rd32(b, PciHeader.BAR0 + 4 * i);
    if (raw === 0) continue;
    if (raw & PciBar.SPACE_IO) {
      out.push({
        index: i,
        kind: "io",
        prefetchable: false,
        address: BigInt((raw & PciBar.IO_ADDRESS_MASK) >>> 0),
        raw,
      });
      continue;
    }
    const type = raw & PciBar.MEM_TYPE_MASK;
    const prefetchable = (raw & PciBar.MEM_PREFETCH) !== 0;
    const lo = BigInt((raw & PciBar.MEM_ADDRESS_MASK) >>> 0);
    if (type === PciBar.MEM_TYPE_64 && i + 1 < count) {
      const hi = BigInt(rd32(b, PciHeader.BAR0 + 4 * (i + 1)));
      out.push({ index: i, kind: "memory64", prefetchable, address: (hi << 32n) | lo, raw });
      i++;
    } else {
      out.push({
        index: i,
        kind: type === PciBar.MEM_TYPE_1M ? "memory1m" : "memory32",
        prefetchable,
        address: lo,
        raw,
      });
    }
  }
  return out;
}

function decodeCap(b: Uint8Array, o: number, id: number, next: number, issues: string[]): DecodedCapability {
  const base = { id, name: capabilityName(id), offset: o, next };
  const need = (len: number): void => {
    if (o + len > PCI_CONFIG_SPACE_SIZE || o + len > b.length)
      issues.push(`${base.name} capability at 0x${o.toString(16)} runs past the end of config space`);
  };
  switch (id) {
    case PciCapId.PM: {
      need(PciPm.SIZEOF);
      const pmc = rd16(b, o + PciPm.PMC);
      const csr = rd16(b, o + PciPm.PMCSR);
      return {
        ...base,
        kind: "pm",
        version: pmc & PciPm.PMC_VERSION_MASK,
        pmeClock: (pmc & PciPm.PMC_PME_CLOCK) !== 0,
        dsi: (pmc & PciPm.PMC_DSI) !== 0,
        auxCurrent: (pmc & PciPm.PMC_AUX_CURRENT_MASK) >> 6,
        d1: (pmc & PciPm.PMC_D1) !== 0,
        d2: (pmc & PciPm.PMC_D2) !== 0,
        pmeSupport: (pmc & PciPm.PMC_PME_MASK) >> PciPm.PMC_PME_SHIFT,
        powerState: csr & PciPm.CSR_STATE_MASK,
        noSoftReset: (csr & PciPm.CSR_NO_SOFT_RESET) !== 0,
        pmeEnable: (csr & PciPm.CSR_PME_ENABLE) !== 0,
        pmeStatus: (csr & PciPm.CSR_PME_STATUS) !== 0,
      };
    }
    case PciCapId.MSI: {
      const flags = rd16(b, o + PciMsi.FLAGS);
      const a64 = (flags & PciMsi.FLAGS_64BIT) !== 0;
      const pvm = (flags & PciMsi.FLAGS_MASKBIT) !== 0;
      need((a64 ? 14 : 10) + (pvm ? 10 : 0));
      const lo = BigInt(rd32(b, o + PciMsi.ADDRESS_LO));
      const hi = a64 ? BigInt(rd32(b, o + PciMsi.ADDRESS_HI)) : 0n;
      return {
        ...base,
        kind: "msi",
        enabled: (flags & PciMsi.FLAGS_ENABLE) !== 0,
        vectorsCapable: 1 << Math.min(5, (flags & PciMsi.FLAGS_QMASK) >> 1),
        vectorsEnabled: 1 << Math.min(5, (flags & PciMsi.FLAGS_QSIZE) >> 4),
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
      const flags = rd16(b, o + PciMsix.FLAGS);
      const table = rd32(b, o + PciMsix.TABLE);
      const pba = rd32(b, o + PciMsix.PBA);
      return {
        ...base,
        kind: "msix",
        enabled: (flags & PciMsix.FLAGS_ENABLE) !== 0,
        functionMask: (flags & PciMsix.FLAGS_MASKALL) !== 0,
        tableSize: (flags & PciMsix.FLAGS_QSIZE) + 1,
        tableBar: table & PciMsix.BIR_MASK,
        tableOffset: (table & PciMsix.OFFSET_MASK) >>> 0,
        pbaBar: pba & PciMsix.BIR_MASK,
        pbaOffset: (pba & PciMsix.OFFSET_MASK) >>> 0,
      };
    }
    case PciCapId.EXP: {
      const flags = rd16(b, o + PciExp.FLAGS);
      const version = flags & PciExp.FLAGS_VERSION_MASK;
      need(version >= 2 ? PciExp.SIZEOF_V2 : 0x14);
      const type = (flags & PciExp.FLAGS_TYPE_MASK) >> PciExp.FLAGS_TYPE_SHIFT;
      const devcap = rd32(b, o + PciExp.DEVCAP);
      const devctl = rd16(b, o + PciExp.DEVCTL);
      const hasLink = type !== PciExp.TYPE_RC_END && type !== PciExp.TYPE_RC_EC;
      const lnkcap = rd32(b, o + PciExp.LNKCAP);
      const lnksta = rd16(b, o + PciExp.LNKSTA);
      return {
        ...base,
        kind: "pcie",
        version,
        deviceType: type,
        deviceTypeName: PCIE_TYPES[type] ?? `type ${type}`,
        slotImplemented: (flags & PciExp.FLAGS_SLOT) !== 0,
        interruptMessageNumber: (flags & PciExp.FLAGS_IRQ_MASK) >> PciExp.FLAGS_IRQ_SHIFT,
        devCap: {
          maxPayloadSize: 128 << Math.min(5, devcap & PciExp.DEVCAP_PAYLOAD_MASK),
          extendedTag: (devcap & PciExp.DEVCAP_EXT_TAG) !== 0,
          flr: (devcap & PciExp.DEVCAP_FLR) !== 0,
          raw: devcap,
        },
        devCtl: {
          maxPayloadSize: 128 << Math.min(5, (devctl & PciExp.DEVCTL_PAYLOAD_MASK) >> PciExp.DEVCTL_PAYLOAD_SHIFT),
          maxReadRequestSize: 128 << Math.min(5, (devctl & PciExp.DEVCTL_READRQ_MASK) >> PciExp.DEVCTL_READRQ_SHIFT),
          relaxedOrdering: (devctl & PciExp.DEVCTL_RELAX_EN) !== 0,
          noSnoop: (devctl & PciExp.DEVCTL_NOSNOOP_EN) !== 0,
          extendedTag: (devctl & PciExp.DEVCTL_EXT_TAG) !== 0,
          raw: devctl,
        },
        devSta: rd16(b, o + PciExp.DEVSTA),
        link: hasLink
          ? {
              maxSpeed: lnkcap & PciExp.LNKCAP_SLS_MASK,
              maxWidth: (lnkcap & PciExp.LNKCAP_MLW_MASK) >> PciExp.LNKCAP_MLW_SHIFT,
              aspmSupport: (lnkcap & PciExp.LNKCAP_ASPMS_MASK) >> PciExp.LNKCAP_ASPMS_SHIFT,
              portNumber: lnkcap >>> PciExp.LNKCAP_PN_SHIFT,
              speed: lnksta & PciExp.LNKSTA_CLS_MASK,
              width: (lnksta & PciExp.LNKSTA_NLW_MASK) >> PciExp.LNKSTA_NLW_SHIFT,
              control: rd16(b, o + PciExp.LNKCTL),
            }
          : undefined,
      };
    }
    case PciCapId.VENDOR: {
      const length = rd8(b, o + 2);
      if (length < 3) issues.push(`vendor capability at 0x${o.toString(16)} has length ${length} < 3`);
      need(Math.max(3, length));
      const end = Math.min(o + Math.max(3, length), PCI_CONFIG_SPACE_SIZE, b.length);
      return { ...base, kind: "vendor", length, data: b.slice(Math.min(o + 3, end), end) };
    }
    default:
      return { ...base, kind: "other" };
  }
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

  const capabilities: DecodedCapability[] = [];
  if (status & PciStatus.CAP_LIST) {
    const seen = new Set<number>();
    let ptr = capabilitiesPointer & ~3;
    // At most (256 - 64) / 4 = 48 capabilities fit; a longer walk is a loop.
    while (ptr !== 0) {
      if (ptr < PCI_STD_HEADER_SIZE) {
        issues.push(`capability pointer 0x${ptr.toString(16)} points into the header`);
        break;
      }
      if (ptr >= b.length) {
        issues.push(`capability pointer 0x${ptr.toString(16)} is beyond the bytes given`);
        break;
      }
      if (seen.has(ptr) || seen.size >= 48) {
        issues.push(`capability list loops at 0x${ptr.toString(16)}`);
        break;
      }
      seen.add(ptr);
      const id = rd8(b, ptr);
      const next = rd8(b, ptr + 1) & ~3;
      capabilities.push(decodeCap(b, ptr, id, next, issues));
      ptr = next;
    }
  }

  const extendedCapabilities: DecodedExtendedCapability[] = [];
  if (b.length > PCI_CONFIG_SPACE_SIZE) {
    const seen = new Set<number>();
    let ptr = PCI_EXT_CAP_START;
    const max = (Math.min(b.length, 4096) - PCI_EXT_CAP_START) / 4;
    while (ptr !== 0) {
      if (ptr < PCI_EXT_CAP_START || ptr + 4 > b.length) {
        issues.push(`extended capability pointer 0x${ptr.toString(16)} out of range`);
        break;
      }
      if (seen.has(ptr) || seen.size >= max) {
        issues.push(`extended capability list loops at 0x${ptr.toString(16)}`);
        break;
      }
      seen.add(ptr);
      const h = rd32(b, ptr);
      // An all-zero header at 0x100 means "no extended capabilities"; all ones is what an absent function reads.
      if (h === 0 || h === 0xffffffff) {
        if (ptr !== PCI_EXT_CAP_START) issues.push(`empty extended capability header at 0x${ptr.toString(16)}`);
        break;
      }
      const id = h & PciExtCap.ID_MASK;
      const next = (h >>> PciExtCap.NEXT_SHIFT) & PciExtCap.NEXT_MASK;
      extendedCapabilities.push({
        id,
        name: extendedCapabilityName(id),
        version: (h >>> PciExtCap.VERSION_SHIFT) & PciExtCap.VERSION_MASK,
        offset: ptr,
        next,
      });
      ptr = next;
    }
  }

  return {
    ok: true,
    value: {
      vendorId: rd16(b, PciHeader.VENDOR_ID),
      deviceId: rd16(b, PciHeader.DEVICE_ID),
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
        ? { address: (rom & PciRom.ADDRESS_MASK) >>> 0, enabled: (rom & PciRom.ENABLE) !== 0 }
        : undefined,
      capabilitiesPointer,
      interruptLine: rd8(b, PciHeader.INTERRUPT_LINE),
      interruptPin: rd8(b, PciHeader.INTERRUPT_PIN),
      capabilities,
      extendedCapabilities,
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
