import { wr32 } from "../internal/bytes.js";
import { barOffset, PciBar, PciHeader, PciRom } from "../registers/header.js";
import type { ConfigBuffers } from "./buffers.js";
import { checkInt, invalid, isPow2 } from "./checks.js";
import type { BarDescription } from "./description.js";
import type { BarLayout } from "./image.js";

/**
 * Writes the BARs: the write mask is the address bits, so "write all ones, read back" yields the size mask.
 * Returns their layouts indexed by BAR number (the upper half of a 64-bit BAR stays undefined).
 */
export function writeBars(buf: ConfigBuffers, descs: readonly BarDescription[]): (BarLayout | undefined)[] {
  const { bytes, wmask } = buf;
  const bars: (BarLayout | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined];
  const used = new Set<number>();
  for (const bar of descs) {
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
      if (sz < 16n)
        invalid(
          `BAR${bar.index}: a memory BAR is at least 16 bytes, got ${sz}; declare kind "io" for a smaller register block (4..256 bytes)`,
        );
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
  return bars;
}

/** Writes the expansion ROM base address register's mask, for a ROM of `desc.size` bytes. */
export function writeRom(
  buf: ConfigBuffers,
  desc: { readonly size: number } | undefined,
): { size: number } | undefined {
  if (desc === undefined) return undefined;
  const rs = desc.size;
  if (!Number.isInteger(rs) || rs < PciRom.MIN_SIZE || rs > 1 << 30 || !isPow2(BigInt(rs)))
    invalid(`ROM size must be a power of two from 2 KiB to 1 GiB, got ${rs}`);
  wr32(buf.wmask, PciHeader.ROM_ADDRESS, ((~(rs - 1) & PciRom.ADDRESS_MASK) | PciRom.ENABLE) >>> 0);
  return { size: rs };
}
