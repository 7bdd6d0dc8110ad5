import { bit } from "../internal/bits.js";
import { rd32 } from "../internal/bytes.js";
import { PciMsix } from "../registers/msix.js";
import type { CapabilityBase, RequireLength } from "./base.js";

// MSI-X capability: Message Control and where the table and the Pending Bit Array live.

export interface DecodedMsix extends CapabilityBase {
  readonly kind: "msix";
  readonly enabled: boolean;
  readonly functionMask: boolean;
  readonly tableSize: number;
  readonly tableBar: number;
  readonly tableOffset: number;
  readonly pbaBar: number;
  readonly pbaOffset: number;
}

export function decodeMsix(b: Uint8Array, o: number, base: CapabilityBase, need: RequireLength): DecodedMsix {
  const word = base.word;
  need(PciMsix.SIZEOF);
  const table = rd32(b, o + PciMsix.TABLE);
  const pba = rd32(b, o + PciMsix.PBA);
  return {
    ...base,
    kind: "msix",
    enabled: bit(word, PciMsix.FLAGS_ENABLE),
    functionMask: bit(word, PciMsix.FLAGS_MASKALL),
    tableSize: (word & PciMsix.FLAGS_QSIZE) + 1,
    tableBar: table & PciMsix.BIR_MASK,
    tableOffset: (table & PciMsix.OFFSET_MASK) >>> 0,
    pbaBar: pba & PciMsix.BIR_MASK,
    pbaOffset: (pba & PciMsix.OFFSET_MASK) >>> 0,
  };
}
