import { rd32 } from "../internal/bytes.js";
import type { CapabilityBase, RequireLength } from "./base.js";

/** Serial ATA HBA capability. */
export interface DecodedSata extends CapabilityBase {
  readonly kind: "sata";
  readonly major: number;
  readonly minor: number;
  /** BAR location (4..9 = BAR0..5, 15 = in config space) and the offset field, in dwords. */
  readonly barLocation: number;
  readonly barOffset: number;
}

export function decodeSata(b: Uint8Array, o: number, base: CapabilityBase, need: RequireLength): DecodedSata {
  const word = base.word;
  need(8);
  const bars = rd32(b, o + 4);
  return {
    ...base,
    kind: "sata",
    major: (word >> 4) & 0xf,
    minor: word & 0xf,
    barLocation: bars & 0xf,
    barOffset: (bars >>> 4) & 0xfffff,
  };
}
