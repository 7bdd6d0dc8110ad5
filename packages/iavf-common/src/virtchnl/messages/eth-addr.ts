/**
 * ADD_ETH_ADDR (10) and DEL_ETH_ADDR (11): `virtchnl_ether_addr_list` { vsi_id u16 @0, num_elements u16 @2, list[] @4 }
 * of 8-byte `virtchnl_ether_addr` { addr[6] @0, type u8 @6, pad u8 @7 }.
 */
import { checkInt, LE, U8, U16, viewOf } from "../../internal/bytes.js";
import { checkListLength, checkMinLength, checkNonZero, legacyListLength } from "../../internal/lengths.js";
import { formatMac, writeMac } from "../../mac.js";

/** `type` values of an address (only the low 2 bits are defined). */
export const EthAddrType = { LEGACY: 0, PRIMARY: 1, EXTRA: 2 } as const;

export interface EtherAddr {
  readonly mac: string;
  /** {@link EthAddrType}; the raw byte as sent. */
  readonly type: number;
}

interface EthAddrListFields {
  readonly vsiId: number;
  /** `num_elements` is this list's length (at least 1). */
  readonly addresses: readonly EtherAddr[];
}
export interface AddEthAddr extends EthAddrListFields {
  readonly kind: "AddEthAddr";
}
export interface DelEthAddr extends EthAddrListFields {
  readonly kind: "DelEthAddr";
}

const HEADER = 4;
const ELEM = 8;

export function decodeEthAddrList<K extends "AddEthAddr" | "DelEthAddr">(
  kind: K,
  opcode: number,
  bytes: Uint8Array,
): EthAddrListFields & { readonly kind: K } {
  checkMinLength(opcode, bytes.length, HEADER);
  const v = viewOf(bytes);
  const n = v.getUint16(2, LE);
  checkNonZero(opcode, n, "num_elements");
  checkListLength(opcode, bytes.length, HEADER, ELEM, n);
  const addresses: EtherAddr[] = [];
  for (let i = 0; i < n; i++) {
    const at = HEADER + i * ELEM;
    addresses.push({ mac: formatMac(bytes, at), type: v.getUint8(at + 6) });
  }
  return { kind, vsiId: v.getUint16(0, LE), addresses };
}

/** Encodes at the legacy length 12 + 8·n. */
export function encodeEthAddrList(m: AddEthAddr | DelEthAddr, opcode: number): Uint8Array {
  const n = checkInt(m.addresses.length, U16, "num_elements", opcode, 1);
  const out = new Uint8Array(legacyListLength(HEADER, ELEM, n));
  const v = viewOf(out);
  v.setUint16(0, checkInt(m.vsiId, U16, "vsiId", opcode), LE);
  v.setUint16(2, n, LE);
  m.addresses.forEach((a, i) => {
    writeMac(out, HEADER + i * ELEM, a.mac, opcode);
    v.setUint8(HEADER + i * ELEM + 6, checkInt(a.type, U8, "type", opcode));
  });
  return out;
}
