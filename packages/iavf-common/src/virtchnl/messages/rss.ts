/**
 * RSS through virtchnl: CONFIG_RSS_KEY (23) and CONFIG_RSS_LUT (24) { vsi_id u16 @0, key_len/lut_entries u16 @2,
 * bytes @4 }; GET_RSS_HENA_CAPS (25, empty request, u64 reply); SET_RSS_HENA (26, u64);
 * GET_MAX_RSS_QREGION (50, empty request; reply { vport_id u16 @0, qregion_width u16 @2, pad[4] }).
 */
import { checkInt, checkU64, LE, U16, viewOf } from "../../internal/bytes.js";
import { checkByteListLength, checkFixedLength, checkMinLength, legacyByteListLength } from "../../internal/lengths.js";
import { VirtchnlOp } from "../opcodes.js";

/** Packet classifier types: bit n of a HENA bitmap enables hashing of pctype n (`enum iavf_filter_pctype`). */
export const RssPctype = {
  NONF_UNICAST_IPV4_UDP: 29,
  NONF_MULTICAST_IPV4_UDP: 30,
  NONF_IPV4_UDP: 31,
  NONF_IPV4_TCP_SYN_NO_ACK: 32,
  NONF_IPV4_TCP: 33,
  NONF_IPV4_SCTP: 34,
  NONF_IPV4_OTHER: 35,
  FRAG_IPV4: 36,
  NONF_UNICAST_IPV6_UDP: 39,
  NONF_MULTICAST_IPV6_UDP: 40,
  NONF_IPV6_UDP: 41,
  NONF_IPV6_TCP_SYN_NO_ACK: 42,
  NONF_IPV6_TCP: 43,
  NONF_IPV6_SCTP: 44,
  NONF_IPV6_OTHER: 45,
  FRAG_IPV6: 46,
  L2_PAYLOAD: 63,
} as const;

/**
 * Linux iavf's default hash set (`IAVF_DEFAULT_RSS_HENA`): IPv4 and IPv6 UDP/TCP/SCTP/other/fragments and L2 payload
 * — a plausible answer to GET_RSS_HENA_CAPS.
 */
export const DEFAULT_RSS_HENA: bigint = [
  RssPctype.NONF_IPV4_UDP,
  RssPctype.NONF_IPV4_SCTP,
  RssPctype.NONF_IPV4_TCP,
  RssPctype.NONF_IPV4_OTHER,
  RssPctype.FRAG_IPV4,
  RssPctype.NONF_IPV6_UDP,
  RssPctype.NONF_IPV6_TCP,
  RssPctype.NONF_IPV6_SCTP,
  RssPctype.NONF_IPV6_OTHER,
  RssPctype.FRAG_IPV6,
  RssPctype.L2_PAYLOAD,
].reduce((acc, bit) => acc | (1n << BigInt(bit)), 0n);

interface RssBytesFields {
  readonly vsiId: number;
  /** `key_len` / `lut_entries` is this array's length (0 is allowed). */
  readonly bytes: Uint8Array;
}
export interface ConfigRssKey extends RssBytesFields {
  readonly kind: "ConfigRssKey";
}
export interface ConfigRssLut extends RssBytesFields {
  readonly kind: "ConfigRssLut";
}
export interface GetRssHenaCapsRequest {
  readonly kind: "GetRssHenaCapsRequest";
}
export interface GetRssHenaCapsReply {
  readonly kind: "GetRssHenaCapsReply";
  /** Bitmap of the packet classifier types the PF can hash. */
  readonly hena: bigint;
}
export interface SetRssHena {
  readonly kind: "SetRssHena";
  readonly hena: bigint;
}
export interface GetMaxRssQregionRequest {
  readonly kind: "GetMaxRssQregionRequest";
}
export interface GetMaxRssQregionReply {
  readonly kind: "GetMaxRssQregionReply";
  readonly vportId: number;
  readonly qregionWidth: number;
}

export function decodeRssBytes<K extends "ConfigRssKey" | "ConfigRssLut">(
  kind: K,
  opcode: number,
  bytes: Uint8Array,
): RssBytesFields & { readonly kind: K } {
  checkMinLength(opcode, bytes.length, 4);
  const v = viewOf(bytes);
  const n = v.getUint16(2, LE);
  checkByteListLength(opcode, bytes.length, n);
  return { kind, vsiId: v.getUint16(0, LE), bytes: bytes.slice(4, 4 + n) };
}

/** Encodes at the legacy length (5 + n, or 6 for an empty array). */
export function encodeRssBytes(m: ConfigRssKey | ConfigRssLut, opcode: number): Uint8Array {
  const n = checkInt(m.bytes.length, U16, "length", opcode);
  const out = new Uint8Array(legacyByteListLength(n));
  const v = viewOf(out);
  v.setUint16(0, checkInt(m.vsiId, U16, "vsiId", opcode), LE);
  v.setUint16(2, n, LE);
  out.set(m.bytes, 4);
  return out;
}

function decodeHena(opcode: number, bytes: Uint8Array): bigint {
  checkFixedLength(opcode, bytes.length, 8);
  return viewOf(bytes).getBigUint64(0, LE);
}

export const decodeGetRssHenaCapsReply = (b: Uint8Array): GetRssHenaCapsReply => ({
  kind: "GetRssHenaCapsReply",
  hena: decodeHena(VirtchnlOp.GET_RSS_HENA_CAPS, b),
});
export const decodeSetRssHena = (b: Uint8Array): SetRssHena => ({
  kind: "SetRssHena",
  hena: decodeHena(VirtchnlOp.SET_RSS_HENA, b),
});

export function encodeHena(m: GetRssHenaCapsReply | SetRssHena, opcode: number): Uint8Array {
  const out = new Uint8Array(8);
  viewOf(out).setBigUint64(0, checkU64(m.hena, "hena", opcode), LE);
  return out;
}

const QREGION = VirtchnlOp.GET_MAX_RSS_QREGION;

export function decodeGetMaxRssQregionReply(bytes: Uint8Array): GetMaxRssQregionReply {
  checkFixedLength(QREGION, bytes.length, 8);
  const v = viewOf(bytes);
  return { kind: "GetMaxRssQregionReply", vportId: v.getUint16(0, LE), qregionWidth: v.getUint16(2, LE) };
}

export function encodeGetMaxRssQregionReply(m: GetMaxRssQregionReply): Uint8Array {
  const out = new Uint8Array(8);
  const v = viewOf(out);
  v.setUint16(0, checkInt(m.vportId, U16, "vportId", QREGION), LE);
  v.setUint16(2, checkInt(m.qregionWidth, U16, "qregionWidth", QREGION), LE);
  return out;
}
