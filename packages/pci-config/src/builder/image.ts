import type { BarKind, PcieDeviceType } from "./description.js";

// ---------------------------------------------------------------------------------------------------------------
// Image (what the builder produces): the config space with its write masks, and where each piece was placed.
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
