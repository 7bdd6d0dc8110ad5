// ---------------------------------------------------------------------------------------------------------------
// Description (what a device author writes): the input of `buildConfigSpace`.
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
