/**
 * A packet's checksum request (MBUF_FLAGS, `@emu/port`'s offload.ts) as the TX data descriptor asks the device for
 * it, the way Linux's `iavf_tx_enable_csum` and DPDK's iavf fill it in: CMD.IIPT (IPv4 without or with its header
 * checksum, IPv6), CMD.L4T (TCP, UDP, SCTP) and OFFSET (MACLEN, IPLEN, L4LEN: TCP's from its data offset).
 */
import { TxCmd, txOffsetField } from "@emu/iavf-common";
import { foldSum, TxL3, TxL4, txL2Len, txL3, txL3Len, txL4, txTsoL4Len } from "@emu/port/data";

/** The MSS a TSO request may ask for (DPDK's iavf: IAVF_MIN_TSO_MSS 256, IAVF_MAX_TSO_MSS 9668; Linux goes to 64). */
export const TSO_MSS_MIN = 64;
export const TSO_MSS_MAX = 9668;

const IIPT = [0, TxCmd.IIPT_IPV4, TxCmd.IIPT_IPV4_CSUM, TxCmd.IIPT_IPV6];
const L4T = [0, TxCmd.L4T_TCP, TxCmd.L4T_UDP, TxCmd.L4T_SCTP];

/** The CMD bits a request asks for (0: none; then OFFSET is not needed). */
export function offloadCmd(flags: number): number {
  return IIPT[txL3(flags)]! | L4T[txL4(flags)]!;
}

/** The OFFSET field of a request, for the frame starting at bytes[at] (`length` bytes). */
export function offloadOffset(flags: number, bytes: Uint8Array, at: number, length: number): number {
  const l2 = txL2Len(flags);
  const l3 = txL3Len(flags);
  const l4 = txL4(flags);
  const tcp = at + l2 + l3 + 12; // the TCP data offset's byte
  const l4Len =
    l4 === TxL4.TCP
      ? l2 + l3 + 12 < length
        ? (bytes[tcp]! >>> 4) * 4
        : 0
      : l4 === TxL4.UDP
        ? 8
        : l4 === TxL4.SCTP
          ? 12
          : 0;
  return txOffsetField(l2, txL3(flags) === TxL3.NONE ? 0 : l3, l4Len);
}

/**
 * The headers a TSO packet's segments each start with (L2 + L3 + the TCP header of the MBUF_TSO word), or 0 when the
 * request is not one the device can cut: TCP over IPv4 or IPv6, with a TCP header of 20 bytes or more.
 */
export function tsoHeader(flags: number, tso: number): number {
  const l4Len = txTsoL4Len(tso);
  if (txL4(flags) !== TxL4.TCP || txL3(flags) === TxL3.NONE || l4Len < 20) return 0;
  return txL2Len(flags) + txL3Len(flags) + l4Len;
}

/** The CMD bits of a TSO packet: IPv4 always with its header checksum (each segment's header changes), as Linux asks. */
export function tsoCmd(cmd: number): number {
  return (cmd & TxCmd.IIPT_MASK) === TxCmd.IIPT_IPV4 ? (cmd & ~TxCmd.IIPT_MASK) | TxCmd.IIPT_IPV4_CSUM : cmd;
}

/**
 * Readies a TSO packet's headers in place as Linux's `iavf_tso` does before handing it to a VF: the IPv4 total length
 * and header checksum (or the IPv6 payload length) zeroed, and the whole packet's L4 length taken out of the TCP
 * checksum's pseudo-header seed — the device adds each segment's own.
 */
export function prepareTso(bytes: Uint8Array, at: number, length: number, flags: number): void {
  const ip = at + txL2Len(flags);
  const l4 = ip + txL3Len(flags);
  if (txL3(flags) === TxL3.IPV6) {
    bytes[ip + 4] = 0;
    bytes[ip + 5] = 0;
  } else {
    bytes.fill(0, ip + 2, ip + 4);
    bytes.fill(0, ip + 10, ip + 12);
  }
  const paylen = at + length - l4;
  const seed = (bytes[l4 + 16]! << 8) | bytes[l4 + 17]!;
  // seed − paylen in one's complement: + ~paylen, its two 16-bit halves.
  const s = foldSum(seed + (~(paylen >>> 16) & 0xffff) + (~paylen & 0xffff));
  bytes[l4 + 16] = s >>> 8;
  bytes[l4 + 17] = s & 0xff;
}
