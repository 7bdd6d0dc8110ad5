import { PciBar } from "../registers/header.js";
import { rd32 } from "./bytes.js";

/** One decoded base address register (the shape DecodedBar and DecodedVfBar share). */
export interface BarRegister {
  readonly index: number;
  readonly kind: "io" | "memory32" | "memory64" | "memory1m";
  readonly prefetchable: boolean;
  readonly address: bigint;
  readonly raw: number;
}

/**
 * Reads `count` consecutive BAR registers starting at `base`: unimplemented ones (0 or all ones) are skipped, a 64-bit
 * memory BAR takes the next register as its upper half. With `io` false (SR-IOV VF BARs, which are memory only) the
 * I/O space bit is not interpreted.
 */
export function readBarRegisters(b: Uint8Array, base: number, count: number, io: boolean): BarRegister[] {
  const out: BarRegister[] = [];
  for (let i = 0; i < count; i++) {
    const raw = rd32(b, base + 4 * i);
    if (raw === 0 || raw === 0xffffffff) continue;
    if (io && raw & PciBar.SPACE_IO) {
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
      const hi = BigInt(rd32(b, base + 4 * (i + 1)));
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
