import { bit } from "../internal/bits.js";
import type { CapabilityBase } from "./base.js";

/** Slot Identification (bridges). */
export interface DecodedSlotId extends CapabilityBase {
  readonly kind: "slot-id";
  readonly expansionSlots: number;
  readonly firstInChassis: boolean;
  readonly chassis: number;
}

export function decodeSlotId(base: CapabilityBase): DecodedSlotId {
  const word = base.word;
  return {
    ...base,
    kind: "slot-id",
    expansionSlots: word & 0x1f,
    firstInChassis: bit(word, 0x20),
    chassis: word >> 8,
  };
}
