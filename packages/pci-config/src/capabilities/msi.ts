import { bit } from "../internal/bits.js";
import { rd16, rd32 } from "../internal/bytes.js";
import { PciMsi } from "../registers/msi.js";
import type { CapabilityBase, RequireLength } from "./base.js";

// MSI capability: Message Control, the message address and data, and the optional mask and pending bits.

export interface DecodedMsi extends CapabilityBase {
  readonly kind: "msi";
  readonly enabled: boolean;
  /** Vectors capable: 1 << Multiple Message Capable (the reserved encodings 6, 7 give 64, 128, as lspci prints). */
  readonly vectorsCapable: number;
  /** Vectors enabled: 1 << Multiple Message Enable (same rule). */
  readonly vectorsEnabled: number;
  readonly address64: boolean;
  readonly perVectorMask: boolean;
  readonly address: bigint;
  readonly data: number;
  readonly maskBits: number | undefined;
  readonly pendingBits: number | undefined;
}

export function decodeMsi(b: Uint8Array, o: number, base: CapabilityBase, need: RequireLength): DecodedMsi {
  const flags = base.word;
  const a64 = bit(flags, PciMsi.FLAGS_64BIT);
  const pvm = bit(flags, PciMsi.FLAGS_MASKBIT);
  need((a64 ? 14 : 10) + (pvm ? 10 : 0));
  const lo = BigInt(rd32(b, o + PciMsi.ADDRESS_LO));
  const hi = a64 ? BigInt(rd32(b, o + PciMsi.ADDRESS_HI)) : 0n;
  return {
    ...base,
    kind: "msi",
    enabled: bit(flags, PciMsi.FLAGS_ENABLE),
    vectorsCapable: 1 << ((flags & PciMsi.FLAGS_QMASK) >> 1),
    vectorsEnabled: 1 << ((flags & PciMsi.FLAGS_QSIZE) >> 4),
    address64: a64,
    perVectorMask: pvm,
    address: (hi << 32n) | lo,
    data: rd16(b, o + (a64 ? PciMsi.DATA_64 : PciMsi.DATA_32)),
    maskBits: pvm ? rd32(b, o + (a64 ? PciMsi.MASK_64 : PciMsi.MASK_32)) : undefined,
    pendingBits: pvm ? rd32(b, o + (a64 ? PciMsi.PENDING_64 : PciMsi.PENDING_32)) : undefined,
  };
}
