import { bit } from "../internal/bits.js";
import { rd8 } from "../internal/bytes.js";
import type { CapabilityBase, RequireLength } from "./base.js";

/** PCI Advanced Features (FLR for conventional PCI). */
export interface DecodedAf extends CapabilityBase {
  readonly kind: "af";
  readonly transactionsPendingCapable: boolean;
  readonly flrCapable: boolean;
  readonly initiateFlr: boolean;
  readonly transactionsPending: boolean;
}

export function decodeAf(b: Uint8Array, o: number, base: CapabilityBase, need: RequireLength): DecodedAf {
  need(6);
  const cap = rd8(b, o + 3);
  return {
    ...base,
    kind: "af",
    transactionsPendingCapable: bit(cap, 0x01),
    flrCapable: bit(cap, 0x02),
    initiateFlr: bit(rd8(b, o + 4), 0x01),
    transactionsPending: bit(rd8(b, o + 5), 0x01),
  };
}
