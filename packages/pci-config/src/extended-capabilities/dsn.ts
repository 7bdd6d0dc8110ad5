import type { RequireLength } from "../capabilities/base.js";
import { rd32 } from "../internal/bytes.js";
import { PciDsn } from "../registers/dsn.js";
import type { ExtendedCapabilityBase } from "./base.js";

/** Device Serial Number: the 64-bit IEEE EUI-64 (high dword at +8, low at +4). */
export interface DecodedDsn extends ExtendedCapabilityBase {
  readonly kind: "dsn";
  readonly serialNumber: bigint;
}

export function decodeDsn(b: Uint8Array, o: number, base: ExtendedCapabilityBase, need: RequireLength): DecodedDsn {
  need(PciDsn.SIZEOF);
  return {
    ...base,
    kind: "dsn",
    serialNumber: (BigInt(rd32(b, o + PciDsn.HIGH)) << 32n) | BigInt(rd32(b, o + PciDsn.LOW)),
  };
}
