import { PciConfigError } from "./errors.js";
import { or16, rd16, wr8, wr16, wr32 } from "./internal/bytes.js";
import { PciCapId } from "./registers/capability-ids.js";
import {
  barOffset,
  PCI_CONFIG_SPACE_SIZE,
  PCI_EXT_CAP_START,
  PCI_STD_HEADER_SIZE,
  PCIE_CONFIG_SPACE_SIZE,
  PciBar,
  PciCommand,
  PciHeader,
  PciHeaderType,
  PciRom,
  PciStatus,
} from "./registers/header.js";
import { msiCapabilitySize, PciMsi } from "./registers/msi.js";
import { PciMsix } from "./registers/msix.js";
import { PciExp } from "./registers/pcie.js";
import { PciPm } from "./registers/pm.js";

// ---------------------------------------------------------------------------------------------------------------
// Description (what a device author writes)
// ---------------------------------------------------------------------------------------------------------------

export type BarKind = "memory32" | "memory64" | "io";

/** One Base Address Register. Sizes are powers of two; a 64-bit BAR also occupies the next index. */
export interface BarDescription {
  /** 0..5 (a 64-bit BAR: 0..4, and index + 1 must be free). */
  readonly index: number;
  readonly kind: BarKind;
  /** Memory: 16 bytes .. 2 GiB (32-bit) or 2^63 (64-bit); I/O: 4 .. 256 bytes. */
  readonly size: number | bigint;
  /** Memory BARs only. */
  readonly prefetchable?: boolean;
}

export interface PmDescription {
  readonly kind: "pm";
  readonly d1?: boolean;
  readonly d2?: boolean;
  /** PME# support mask: bit 0 D0, 1 D1, 2 D2, 3 D3hot, 4 D3cold. Default 0 (no PME#). */
  readonly pmeSupport?: number;
  /** The device keeps its state across D3hot -> D0 (PMCSR No_Soft_Reset). Default true. */
  readonly noSoftReset?: boolean;
  /** Aux current field (0..7). Default 0. */
  readonly auxCurrent?: number;
  readonly dsi?: boolean;
}

export interface MsiDescription {
  readonly kind: "msi";
  /** Vectors the function can request: 1, 2, 4, 8, 16 or 32. */
  readonly vectors: number;
  /** 64-bit message address. Default true. */
  readonly address64?: boolean;
  /** Per-vector masking (mask and pending bits). Default false. */
  readonly perVectorMask?: boolean;
}

export interface MsixDescription {
  readonly kind: "msix";
  /** Number of table entries, 1..2048. */
  readonly tableSize: number;
  /** BAR index (BIR) holding the table, and the table's 8-byte aligned offset in it. */
  readonly tableBar: number;
  readonly tableOffset: number;
  /** BAR index holding the Pending Bit Array, and its 8-byte aligned offset. */
  readonly pbaBar: number;
  readonly pbaOffset: number;
}

export type PcieDeviceType = "endpoint" | "legacy-endpoint" | "rc-integrated-endpoint";

export interface PcieLinkDescription {
  /** Max link speed, LNKCAP encoding: 1 = 2.5 GT/s, 2 = 5, 3 = 8, 4 = 16, 5 = 32, 6 = 64. */
  readonly maxSpeed: number;
  /** Max link width in lanes (1..32). */
  readonly maxWidth: number;
  /** Negotiated speed/width shown in Link Status; default the maxima. */
  readonly speed?: number;
  readonly width?: number;
  /** ASPM support (LNKCAP bits 10-11: 1 L0s, 2 L1, 3 both). Default 0. */
  readonly aspmSupport?: number;
}

export interface PcieDescription {
  readonly kind: "pcie";
  /** Default "endpoint". */
  readonly deviceType?: PcieDeviceType;
  /** Max_Payload_Size supported, bytes (128..4096). Default 256. */
  readonly maxPayloadSize?: number;
  /** 8-bit tags supported. Default true. */
  readonly extendedTag?: boolean;
  /** Function Level Reset supported (DEVCAP bit 28). Default true. */
  readonly flr?: boolean;
  /** Link fields; absent for a root-complex integrated endpoint. Default 2.5 GT/s x1 for other types. */
  readonly link?: PcieLinkDescription;
  /** Interrupt Message Number (MSI/MSI-X vector used for PCIe events). Default 0. */
  readonly interruptMessageNumber?: number;
}

/** A vendor-specific capability (id 0x09): `data` follows the id, next and length bytes. */
export interface VendorCapabilityDescription {
  readonly kind: "vendor";
  readonly data: Uint8Array;
  /** Writable bits of `data` (same length); default read-only. */
  readonly writeMask?: Uint8Array;
}

/** Any other standard capability: `data` follows the id and next bytes. */
export interface RawCapabilityDescription {
  readonly kind: "raw";
  readonly id: number;
  readonly data: Uint8Array;
  readonly writeMask?: Uint8Array;
}

export type CapabilityDescription =
  | PmDescription
  | MsiDescription
  | MsixDescription
  | PcieDescription
  | VendorCapabilityDescription
  | RawCapabilityDescription;

/** An extended capability (config space from 0x100): `data` follows the 32-bit header. */
export interface ExtendedCapabilityDescription {
  readonly id: number;
  readonly version: number;
  readonly data: Uint8Array;
  readonly writeMask?: Uint8Array;
  readonly w1cMask?: Uint8Array;
}

/** A type-0 (endpoint) function. */
export interface PciDeviceDescription {
  readonly vendorId: number;
  readonly deviceId: number;
  readonly subsystemVendorId?: number;
  readonly subsystemId?: number;
  readonly revision?: number;
  /** 24 bits: base class << 16 | sub-class << 8 | programming interface. */
  readonly classCode: number;
  readonly multiFunction?: boolean;
  /** 0 = none, 1..4 = INTA#..INTD#. Default 0. */
  readonly interruptPin?: number;
  readonly bars?: readonly BarDescription[];
  /** Expansion ROM (region 6): a power of two >= 2 KiB. */
  readonly rom?: { readonly size: number };
  /** Placed from 0x40 in this order, each 4-byte aligned. */
  readonly capabilities?: readonly CapabilityDescription[];
  /** Placed from 0x100 in this order; needs 4096-byte config space. */
  readonly extendedCapabilities?: readonly ExtendedCapabilityDescription[];
  /** Default 4096 when there is a PCI Express capability or an extended capability, else 256. */
  readonly configSpaceSize?: 256 | 4096;
}

// ---------------------------------------------------------------------------------------------------------------
// Image (what the builder produces)
// ---------------------------------------------------------------------------------------------------------------

export interface BarLayout {
  readonly index: number;
  readonly kind: BarKind;
  readonly size: bigint;
  readonly prefetchable: boolean;
}

export interface PlacedCapability {
  readonly id: number;
  readonly offset: number;
  readonly length: number;
}

export interface PmLayout {
  readonly offset: number;
  /** Absolute offset of PMCSR. */
  readonly pmcsr: number;
}

export interface MsiLayout {
  readonly offset: number;
  readonly vectors: number;
  readonly address64: boolean;
  readonly perVectorMask: boolean;
  /** Absolute offsets of Message Control, address, data, mask and pending registers. */
  readonly control: number;
  readonly addressLo: number;
  readonly addressHi: number | undefined;
  readonly data: number;
  readonly mask: number | undefined;
  readonly pending: number | undefined;
}

export interface MsixLayout {
  readonly offset: number;
  /** Absolute offset of Message Control. */
  readonly control: number;
  readonly tableSize: number;
  readonly tableBar: number;
  readonly tableOffset: number;
  readonly pbaBar: number;
  readonly pbaOffset: number;
  /** Bytes of the PBA: 8 per 64 vectors. */
  readonly pbaSize: number;
}

export interface PcieLayout {
  readonly offset: number;
  readonly deviceType: PcieDeviceType;
  readonly flr: boolean;
  /** Absolute offset of Device Control (where FLR is initiated). */
  readonly devctl: number;
}

/**
 * A function's config space as built: reset values plus which bits a guest may write. A write of `v` to byte `i`
 * gives `(old & ~writeMask[i]) | (v & writeMask[i])`, then clears the RW1C bits written as one (see
 * `applyConfigWrite`). BAR sizing needs nothing more: a BAR's write mask is its address bits.
 */
export interface PciConfigImage {
  readonly size: 256 | 4096;
  /** Reset values. */
  readonly bytes: Uint8Array;
  readonly writeMask: Uint8Array;
  readonly w1cMask: Uint8Array;
  /** Indexed by BAR number 0..5; the upper half of a 64-bit BAR is `undefined`. */
  readonly bars: readonly (BarLayout | undefined)[];
  readonly rom: { readonly size: number } | undefined;
  readonly capabilities: readonly PlacedCapability[];
  readonly extendedCapabilities: readonly PlacedCapability[];
  readonly pm: PmLayout | undefined;
  readonly msi: MsiLayout | undefined;
  readonly msix: MsixLayout | undefined;
  readonly pcie: PcieLayout | undefined;
}

// ---------------------------------------------------------------------------------------------------------------

function invalid(message: string): never {
  throw new PciConfigError("InvalidDescription", message);
}

function isPow2(n: bigint): boolean {
  return n > 0n && (n & (n - 1n)) === 0n;
}

function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) invalid(`${name} must be an integer in ${min}..${max}, got ${v}`);
}

function capSize(c: CapabilityDescription): number {
  switch (c.kind) {
    case "pm":
      return PciPm.SIZEOF;
    case "msi":
      return msiCapabilitySize(c.address64 ?? true, c.perVectorMask ?? false);
    case "msix":
      return PciMsix.SIZEOF;
    case "pcie":
      return PciExp.SIZEOF_V2;
    case "vendor":
      return 3 + c.data.length;
    case "raw":
      return 2 + c.data.length;
  }
}

const PCIE_TYPE_CODE: Record<PcieDeviceType, number> = {
  endpoint: PciExp.TYPE_ENDPOINT,
  "legacy-endpoint": PciExp.TYPE_LEG_END,
  "rc-integrated-endpoint": PciExp.TYPE_RC_END,
};

/**
 * Builds a type-0 config space from a description. Throws `PciConfigError` ("InvalidDescription") for a
 * description no hardware could have: a size that is not a power of two or out of range, overlapping BARs, an MSI-X
 * table outside its BAR, capabilities that do not fit.
 */
export function buildConfigSpace(desc: PciDeviceDescription): PciConfigImage {
  const caps = desc.capabilities ?? [];
  const extCaps = desc.extendedCapabilities ?? [];
  const hasPcie = caps.some((c) => c.kind === "pcie");
  const size = desc.configSpaceSize ?? (hasPcie || extCaps.length > 0 ? PCIE_CONFIG_SPACE_SIZE : PCI_CONFIG_SPACE_SIZE);
  if (size !== PCI_CONFIG_SPACE_SIZE && size !== PCIE_CONFIG_SPACE_SIZE) invalid(`configSpaceSize must be 256 or 4096`);
  if (extCaps.length > 0 && size !== PCIE_CONFIG_SPACE_SIZE)
    invalid("extended capabilities need 4096-byte config space");

  const bytes = new Uint8Array(size);
  const wmask = new Uint8Array(size);
  const w1c = new Uint8Array(size);

  // Header.
  checkInt("vendorId", desc.vendorId, 0, 0xffff);
  checkInt("deviceId", desc.deviceId, 0, 0xffff);
  checkInt("classCode", desc.classCode, 0, 0xffffff);
  const pin = desc.interruptPin ?? 0;
  checkInt("interruptPin", pin, 0, 4);
  const revision = desc.revision ?? 0;
  checkInt("revision", revision, 0, 0xff);
  const ssvid = desc.subsystemVendorId ?? 0;
  const ssid = desc.subsystemId ?? 0;
  checkInt("subsystemVendorId", ssvid, 0, 0xffff);
  checkInt("subsystemId", ssid, 0, 0xffff);

  wr16(bytes, PciHeader.VENDOR_ID, desc.vendorId);
  wr16(bytes, PciHeader.DEVICE_ID, desc.deviceId);
  wr8(bytes, PciHeader.REVISION_ID, revision);
  wr8(bytes, PciHeader.CLASS_PROG, desc.classCode & 0xff);
  wr8(bytes, PciHeader.CLASS_DEVICE, (desc.classCode >>> 8) & 0xff);
  wr8(bytes, PciHeader.CLASS_BASE, (desc.classCode >>> 16) & 0xff);
  wr8(bytes, PciHeader.HEADER_TYPE, PciHeaderType.NORMAL | (desc.multiFunction ? PciHeaderType.MULTI_FUNCTION : 0));
  wr16(bytes, PciHeader.SUBSYSTEM_VENDOR_ID, ssvid);
  wr16(bytes, PciHeader.SUBSYSTEM_ID, ssid);
  wr8(bytes, PciHeader.INTERRUPT_PIN, pin);

  const commandMask =
    PciCommand.IO |
    PciCommand.MEMORY |
    PciCommand.MASTER |
    PciCommand.PARITY |
    PciCommand.SERR |
    PciCommand.INTX_DISABLE;
  wr16(wmask, PciHeader.COMMAND, commandMask);
  wr16(w1c, PciHeader.STATUS, PciStatus.ERROR_BITS);
  wr8(wmask, PciHeader.CACHE_LINE_SIZE, 0xff);
  // PCI Express hardwires the latency timer to 0.
  if (!hasPcie) wr8(wmask, PciHeader.LATENCY_TIMER, 0xff);
  wr8(wmask, PciHeader.INTERRUPT_LINE, 0xff);

  // BARs: the write mask is the address bits, so "write all ones, read back" yields the size mask.
  const bars: (BarLayout | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined];
  const used = new Set<number>();
  for (const bar of desc.bars ?? []) {
    checkInt("bar index", bar.index, 0, 5);
    const sz = BigInt(bar.size);
    if (!isPow2(sz)) invalid(`BAR${bar.index}: size ${sz} is not a power of two`);
    const slots = bar.kind === "memory64" ? [bar.index, bar.index + 1] : [bar.index];
    for (const s of slots) {
      if (s > 5) invalid(`BAR${bar.index}: a 64-bit BAR needs index + 1 <= 5`);
      if (used.has(s)) invalid(`BAR${s} is described twice`);
      used.add(s);
    }
    const prefetchable = bar.prefetchable ?? false;
    const off = barOffset(bar.index);
    if (bar.kind === "io") {
      if (sz < 4n || sz > 256n) invalid(`BAR${bar.index}: I/O size must be 4..256 bytes`);
      if (prefetchable) invalid(`BAR${bar.index}: an I/O BAR cannot be prefetchable`);
      wr32(bytes, off, PciBar.SPACE_IO);
      wr32(wmask, off, ~(Number(sz) - 1) & PciBar.IO_ADDRESS_MASK);
    } else {
      if (sz < 16n) invalid(`BAR${bar.index}: memory size must be at least 16 bytes`);
      const limit = bar.kind === "memory32" ? 1n << 31n : 1n << 63n;
      if (sz > limit) invalid(`BAR${bar.index}: size ${sz} too large for a ${bar.kind} BAR`);
      const type = bar.kind === "memory64" ? PciBar.MEM_TYPE_64 : PciBar.MEM_TYPE_32;
      wr32(bytes, off, type | (prefetchable ? PciBar.MEM_PREFETCH : 0));
      const addrMask = ~(sz - 1n) & 0xffff_ffff_ffff_ffffn;
      wr32(wmask, off, Number(addrMask & 0xffff_ffffn) & PciBar.MEM_ADDRESS_MASK);
      if (bar.kind === "memory64") wr32(wmask, off + 4, Number((addrMask >> 32n) & 0xffff_ffffn));
    }
    bars[bar.index] = { index: bar.index, kind: bar.kind, size: sz, prefetchable };
  }

  let rom: { size: number } | undefined;
  if (desc.rom !== undefined) {
    const rs = desc.rom.size;
    if (!Number.isInteger(rs) || rs < PciRom.MIN_SIZE || rs > 1 << 30 || !isPow2(BigInt(rs)))
      invalid(`ROM size must be a power of two from 2 KiB to 1 GiB, got ${rs}`);
    wr32(wmask, PciHeader.ROM_ADDRESS, ((~(rs - 1) & PciRom.ADDRESS_MASK) | PciRom.ENABLE) >>> 0);
    rom = { size: rs };
  }

  // Standard capabilities.
  const placed: PlacedCapability[] = [];
  let pm: PmLayout | undefined;
  let msi: MsiLayout | undefined;
  let msix: MsixLayout | undefined;
  let pcie: PcieLayout | undefined;
  let at = PCI_STD_HEADER_SIZE;
  let prevNext = PciHeader.CAPABILITY_LIST;
  for (const cap of caps) {
    const len = capSize(cap);
    if (at + len > PCI_CONFIG_SPACE_SIZE) invalid(`capabilities do not fit below 0x100 (at ${cap.kind})`);
    const o = at;
    wr8(bytes, prevNext, o);
    prevNext = o + 1;
    switch (cap.kind) {
      case "pm": {
        if (pm) invalid("two PM capabilities");
        const pme = cap.pmeSupport ?? 0;
        checkInt("pmeSupport", pme, 0, 0x1f);
        const aux = cap.auxCurrent ?? 0;
        checkInt("auxCurrent", aux, 0, 7);
        wr8(bytes, o, PciCapId.PM);
        const pmc =
          3 |
          (cap.dsi ? PciPm.PMC_DSI : 0) |
          (aux << 6) |
          (cap.d1 ? PciPm.PMC_D1 : 0) |
          (cap.d2 ? PciPm.PMC_D2 : 0) |
          (pme << PciPm.PMC_PME_SHIFT);
        wr16(bytes, o + PciPm.PMC, pmc);
        wr16(bytes, o + PciPm.PMCSR, (cap.noSoftReset ?? true) ? PciPm.CSR_NO_SOFT_RESET : 0);
        wr16(wmask, o + PciPm.PMCSR, PciPm.CSR_STATE_MASK | (pme !== 0 ? PciPm.CSR_PME_ENABLE : 0));
        if (pme !== 0) wr16(w1c, o + PciPm.PMCSR, PciPm.CSR_PME_STATUS);
        pm = { offset: o, pmcsr: o + PciPm.PMCSR };
        break;
      }
      case "msi": {
        if (msi) invalid("two MSI capabilities");
        const v = cap.vectors;
        if (![1, 2, 4, 8, 16, 32].includes(v)) invalid(`MSI vectors must be 1, 2, 4, 8, 16 or 32, got ${v}`);
        const a64 = cap.address64 ?? true;
        const pvm = cap.perVectorMask ?? false;
        wr8(bytes, o, PciCapId.MSI);
        const log2 = Math.log2(v);
        wr16(bytes, o + PciMsi.FLAGS, (log2 << 1) | (a64 ? PciMsi.FLAGS_64BIT : 0) | (pvm ? PciMsi.FLAGS_MASKBIT : 0));
        wr16(wmask, o + PciMsi.FLAGS, PciMsi.FLAGS_ENABLE | PciMsi.FLAGS_QSIZE);
        wr32(wmask, o + PciMsi.ADDRESS_LO, 0xfffffffc);
        if (a64) wr32(wmask, o + PciMsi.ADDRESS_HI, 0xffffffff);
        const data = o + (a64 ? PciMsi.DATA_64 : PciMsi.DATA_32);
        wr16(wmask, data, 0xffff);
        let mask: number | undefined;
        let pending: number | undefined;
        if (pvm) {
          mask = o + (a64 ? PciMsi.MASK_64 : PciMsi.MASK_32);
          pending = o + (a64 ? PciMsi.PENDING_64 : PciMsi.PENDING_32);
          wr32(wmask, mask, v === 32 ? 0xffffffff : (1 << v) - 1);
        }
        msi = {
          offset: o,
          vectors: v,
          address64: a64,
          perVectorMask: pvm,
          control: o + PciMsi.FLAGS,
          addressLo: o + PciMsi.ADDRESS_LO,
          addressHi: a64 ? o + PciMsi.ADDRESS_HI : undefined,
          data,
          mask,
          pending,
        };
        break;
      }
      case "msix": {
        if (msix) invalid("two MSI-X capabilities");
        checkInt("MSI-X tableSize", cap.tableSize, 1, PciMsix.MAX_VECTORS);
        const pbaSize = Math.ceil(cap.tableSize / 64) * 8;
        checkMsixPlacement(bars, "table", cap.tableBar, cap.tableOffset, cap.tableSize * PciMsix.ENTRY_SIZE);
        checkMsixPlacement(bars, "PBA", cap.pbaBar, cap.pbaOffset, pbaSize);
        if (
          cap.tableBar === cap.pbaBar &&
          cap.tableOffset < cap.pbaOffset + pbaSize &&
          cap.pbaOffset < cap.tableOffset + cap.tableSize * PciMsix.ENTRY_SIZE
        )
          invalid("MSI-X table and PBA overlap");
        wr8(bytes, o, PciCapId.MSIX);
        wr16(bytes, o + PciMsix.FLAGS, cap.tableSize - 1);
        wr16(wmask, o + PciMsix.FLAGS, PciMsix.FLAGS_ENABLE | PciMsix.FLAGS_MASKALL);
        wr32(bytes, o + PciMsix.TABLE, (cap.tableOffset | cap.tableBar) >>> 0);
        wr32(bytes, o + PciMsix.PBA, (cap.pbaOffset | cap.pbaBar) >>> 0);
        msix = {
          offset: o,
          control: o + PciMsix.FLAGS,
          tableSize: cap.tableSize,
          tableBar: cap.tableBar,
          tableOffset: cap.tableOffset,
          pbaBar: cap.pbaBar,
          pbaOffset: cap.pbaOffset,
          pbaSize,
        };
        break;
      }
      case "pcie": {
        if (pcie) invalid("two PCI Express capabilities");
        const type = cap.deviceType ?? "endpoint";
        if (!(type in PCIE_TYPE_CODE)) invalid(`unknown PCI Express device type ${type}`);
        const mps = cap.maxPayloadSize ?? 256;
        if (![128, 256, 512, 1024, 2048, 4096].includes(mps)) invalid(`maxPayloadSize must be 128..4096, got ${mps}`);
        const imn = cap.interruptMessageNumber ?? 0;
        checkInt("interruptMessageNumber", imn, 0, 31);
        const extTag = cap.extendedTag ?? true;
        const flr = cap.flr ?? true;
        wr8(bytes, o, PciCapId.EXP);
        wr16(
          bytes,
          o + PciExp.FLAGS,
          2 | (PCIE_TYPE_CODE[type] << PciExp.FLAGS_TYPE_SHIFT) | (imn << PciExp.FLAGS_IRQ_SHIFT),
        );
        wr32(
          bytes,
          o + PciExp.DEVCAP,
          (Math.log2(mps / 128) |
            (extTag ? PciExp.DEVCAP_EXT_TAG : 0) |
            PciExp.DEVCAP_RBER |
            (flr ? PciExp.DEVCAP_FLR : 0)) >>>
            0,
        );
        // Reset values per the PCIe spec: relaxed ordering and no-snoop enabled, max read request 512 bytes.
        wr16(
          bytes,
          o + PciExp.DEVCTL,
          PciExp.DEVCTL_RELAX_EN | PciExp.DEVCTL_NOSNOOP_EN | (2 << PciExp.DEVCTL_READRQ_SHIFT),
        );
        wr16(
          wmask,
          o + PciExp.DEVCTL,
          PciExp.DEVCTL_CERE |
            PciExp.DEVCTL_NFERE |
            PciExp.DEVCTL_FERE |
            PciExp.DEVCTL_URRE |
            PciExp.DEVCTL_RELAX_EN |
            PciExp.DEVCTL_PAYLOAD_MASK |
            (extTag ? PciExp.DEVCTL_EXT_TAG : 0) |
            PciExp.DEVCTL_AUX_PME |
            PciExp.DEVCTL_NOSNOOP_EN |
            PciExp.DEVCTL_READRQ_MASK,
        );
        wr16(w1c, o + PciExp.DEVSTA, PciExp.DEVSTA_CED | PciExp.DEVSTA_NFED | PciExp.DEVSTA_FED | PciExp.DEVSTA_URD);
        const link = type === "rc-integrated-endpoint" ? cap.link : (cap.link ?? { maxSpeed: 1, maxWidth: 1 });
        if (link !== undefined) {
          checkInt("link.maxSpeed", link.maxSpeed, 1, 6);
          if (![1, 2, 4, 8, 12, 16, 32].includes(link.maxWidth))
            invalid(`link.maxWidth ${link.maxWidth} is not a PCIe width`);
          const speed = link.speed ?? link.maxSpeed;
          const width = link.width ?? link.maxWidth;
          checkInt("link.speed", speed, 1, link.maxSpeed);
          checkInt("link.width", width, 1, link.maxWidth);
          const aspm = link.aspmSupport ?? 0;
          checkInt("link.aspmSupport", aspm, 0, 3);
          wr32(
            bytes,
            o + PciExp.LNKCAP,
            (link.maxSpeed | (link.maxWidth << PciExp.LNKCAP_MLW_SHIFT) | (aspm << PciExp.LNKCAP_ASPMS_SHIFT)) >>> 0,
          );
          wr16(
            wmask,
            o + PciExp.LNKCTL,
            PciExp.LNKCTL_ASPMC_MASK | PciExp.LNKCTL_RCB | PciExp.LNKCTL_CCC | PciExp.LNKCTL_ES,
          );
          wr16(bytes, o + PciExp.LNKSTA, speed | (width << PciExp.LNKSTA_NLW_SHIFT));
          wr32(bytes, o + PciExp.LNKCAP2, ((1 << (link.maxSpeed + 1)) - 2) >>> 0);
          wr16(bytes, o + PciExp.LNKCTL2, link.maxSpeed);
          wr16(wmask, o + PciExp.LNKCTL2, PciExp.LNKCTL2_TLS_MASK);
        }
        pcie = { offset: o, deviceType: type, flr, devctl: o + PciExp.DEVCTL };
        break;
      }
      case "vendor": {
        if (len > 0xff) invalid("vendor capability longer than 255 bytes");
        wr8(bytes, o, PciCapId.VENDOR);
        wr8(bytes, o + 2, len);
        bytes.set(cap.data, o + 3);
        if (cap.writeMask) {
          if (cap.writeMask.length !== cap.data.length) invalid("vendor capability writeMask length differs from data");
          wmask.set(cap.writeMask, o + 3);
        }
        break;
      }
      case "raw": {
        checkInt("capability id", cap.id, 1, 0xff);
        wr8(bytes, o, cap.id);
        bytes.set(cap.data, o + 2);
        if (cap.writeMask) {
          if (cap.writeMask.length !== cap.data.length) invalid("raw capability writeMask length differs from data");
          wmask.set(cap.writeMask, o + 2);
        }
        break;
      }
      default:
        invalid(`unknown capability kind ${(cap as { kind: unknown }).kind}`);
    }
    placed.push({ id: bytes[o] as number, offset: o, length: len });
    at = (o + len + 3) & ~3;
  }
  if (placed.length > 0) or16(bytes, PciHeader.STATUS, PciStatus.CAP_LIST);

  // Extended capabilities.
  const placedExt: PlacedCapability[] = [];
  let eat = PCI_EXT_CAP_START;
  let prevHeader = -1;
  for (const ext of extCaps) {
    checkInt("extended capability id", ext.id, 1, 0xffff);
    checkInt("extended capability version", ext.version, 0, 0xf);
    const len = 4 + ext.data.length;
    if (eat + len > PCIE_CONFIG_SPACE_SIZE) invalid("extended capabilities do not fit below 0x1000");
    wr32(bytes, eat, (ext.id | (ext.version << 16)) >>> 0);
    bytes.set(ext.data, eat + 4);
    if (ext.writeMask) {
      if (ext.writeMask.length !== ext.data.length) invalid("extended capability writeMask length differs from data");
      wmask.set(ext.writeMask, eat + 4);
    }
    if (ext.w1cMask) {
      if (ext.w1cMask.length !== ext.data.length) invalid("extended capability w1cMask length differs from data");
      w1c.set(ext.w1cMask, eat + 4);
    }
    if (prevHeader >= 0) {
      // next pointer: bits 20..31 of the previous header.
      const prev = (bytes[prevHeader + 2] as number) | ((bytes[prevHeader + 3] as number) << 8);
      const withNext = (prev & 0x000f) | (eat << 4);
      wr16(bytes, prevHeader + 2, withNext);
    }
    placedExt.push({ id: ext.id, offset: eat, length: len });
    prevHeader = eat;
    eat = (eat + len + 3) & ~3;
  }

  // Sanity: masks must not make a read-only identity field writable.
  if (rd16(wmask, PciHeader.VENDOR_ID) !== 0) invalid("internal: vendor id writable");

  return {
    size,
    bytes,
    writeMask: wmask,
    w1cMask: w1c,
    bars,
    rom,
    capabilities: placed,
    extendedCapabilities: placedExt,
    pm,
    msi,
    msix,
    pcie,
  };
}

function checkMsixPlacement(
  bars: readonly (BarLayout | undefined)[],
  what: string,
  bir: number,
  offset: number,
  length: number,
): void {
  checkInt(`MSI-X ${what} BAR`, bir, 0, 5);
  const bar = bars[bir];
  if (bar === undefined || bar.kind === "io") invalid(`MSI-X ${what} BAR${bir} is not an implemented memory BAR`);
  if (!Number.isInteger(offset) || offset < 0 || offset % 8 !== 0 || offset > 0xfffffff8)
    invalid(`MSI-X ${what} offset must be 8-byte aligned`);
  if (BigInt(offset + length) > bar.size) invalid(`MSI-X ${what} does not fit in BAR${bir}`);
}

/**
 * Applies a guest write to a config-space state (initially a copy of `image.bytes`): only bits in the write mask
 * change, and RW1C bits written as one are cleared. Bytes outside the space are ignored.
 */
export function applyConfigWrite(
  state: Uint8Array,
  image: Pick<PciConfigImage, "writeMask" | "w1cMask">,
  offset: number,
  data: Uint8Array,
): void {
  const wm = image.writeMask;
  const wc = image.w1cMask;
  const end = Math.min(state.length, offset + data.length);
  for (let o = Math.max(0, offset); o < end; o++) {
    const v = data[o - offset] as number;
    const m = wm[o] as number;
    state[o] = ((state[o] as number) & ~m & ~(v & (wc[o] as number))) | (v & m);
  }
}
