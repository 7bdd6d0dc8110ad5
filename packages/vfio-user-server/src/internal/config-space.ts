import { applyConfigWrite, PciCommand, type PciConfigImage, PciExp, PciHeader, PciMsi, PciMsix } from "@emu/pci-config";

function rd16(b: Uint8Array, o: number): number {
  return (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
}

function rd32(b: Uint8Array, o: number): number {
  return (rd16(b, o) | (rd16(b, o + 2) << 16)) >>> 0;
}

/**
 * The guest-visible config space of the device (region 7): the image's reset values, changed only through the
 * write masks (so BAR sizing, read-only and RW1C bits behave as on hardware). Device-owned status bits (MSI pending)
 * are set by the server directly.
 */
export class ConfigSpace {
  readonly image: PciConfigImage;
  readonly state: Uint8Array;

  constructor(image: PciConfigImage) {
    this.image = image;
    this.state = image.bytes.slice();
  }

  get size(): number {
    return this.state.length;
  }

  reset(): void {
    this.state.set(this.image.bytes);
  }

  /** Copies [offset, offset + length) into `out` at `at`. The caller has bounds-checked. */
  readInto(offset: number, length: number, out: Uint8Array, at: number): void {
    out.set(this.state.subarray(offset, offset + length), at);
  }

  /**
   * Applies a guest write. Returns true when it initiated a function-level reset (PCIe DEVCTL bit 15 written as one
   * on a function that advertises FLR); the caller resets the device.
   */
  write(offset: number, data: Uint8Array): boolean {
    applyConfigWrite(this.state, this.image, offset, data);
    const pcie = this.image.pcie;
    if (pcie?.flr) {
      const hi = pcie.devctl + 1; // bit 15 lives in the high byte
      if (hi >= offset && hi < offset + data.length && ((data[hi - offset] ?? 0) & (PciExp.DEVCTL_BCR_FLR >> 8)) !== 0)
        return true;
    }
    return false;
  }

  u16(offset: number): number {
    return rd16(this.state, offset);
  }

  u32(offset: number): number {
    return rd32(this.state, offset);
  }

  get command(): number {
    return rd16(this.state, PciHeader.COMMAND);
  }

  get intxDisabled(): boolean {
    return (this.command & PciCommand.INTX_DISABLE) !== 0;
  }

  get busMaster(): boolean {
    return (this.command & PciCommand.MASTER) !== 0;
  }

  get msiEnabled(): boolean {
    const msi = this.image.msi;
    return msi !== undefined && (rd16(this.state, msi.control) & PciMsi.FLAGS_ENABLE) !== 0;
  }

  /** MSI vectors the guest enabled (Multiple Message Enable). */
  get msiVectorsEnabled(): number {
    const msi = this.image.msi;
    if (msi === undefined) return 0;
    return Math.min(msi.vectors, 1 << ((rd16(this.state, msi.control) & PciMsi.FLAGS_QSIZE) >> 4));
  }

  msiMasked(vector: number): boolean {
    const m = this.image.msi?.mask;
    return m !== undefined && ((rd32(this.state, m) >>> vector) & 1) === 1;
  }

  setMsiPending(vector: number, on: boolean): void {
    const p = this.image.msi?.pending;
    if (p === undefined) return;
    const byte = p + (vector >> 3);
    const bit = 1 << (vector & 7);
    this.state[byte] = on ? (this.state[byte] ?? 0) | bit : (this.state[byte] ?? 0) & ~bit;
  }

  msiPending(vector: number): boolean {
    const p = this.image.msi?.pending;
    return p !== undefined && ((rd32(this.state, p) >>> vector) & 1) === 1;
  }

  get msixEnabled(): boolean {
    const msix = this.image.msix;
    return msix !== undefined && (rd16(this.state, msix.control) & PciMsix.FLAGS_ENABLE) !== 0;
  }

  get msixFunctionMasked(): boolean {
    const msix = this.image.msix;
    return msix !== undefined && (rd16(this.state, msix.control) & PciMsix.FLAGS_MASKALL) !== 0;
  }

  /** The programmed base address of BAR `index` (both halves of a 64-bit BAR), or undefined if not implemented. */
  barAddress(index: number): bigint | undefined {
    const bar = this.image.bars[index];
    if (bar === undefined) return undefined;
    const off = PciHeader.BAR0 + 4 * index;
    const lo = rd32(this.state, off);
    if (bar.kind === "io") return BigInt((lo & 0xfffffffc) >>> 0);
    const base = BigInt((lo & 0xfffffff0) >>> 0);
    return bar.kind === "memory64" ? (BigInt(rd32(this.state, off + 4)) << 32n) | base : base;
  }
}
