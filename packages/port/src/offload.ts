// A packet's transmit checksum request, as DPDK's `RTE_MBUF_F_TX_*_CKSUM` flags with `l2_len` and `l3_len`: the
// packet leaves its L4 checksum (and, for IPv4, maybe its header checksum) to the port that sends it. Kept in the
// buffer's MBUF_FLAGS word (0 after `alloc`: no request). The convention is Linux's CHECKSUM_PARTIAL and DPDK's
// for Intel NICs: the L4 checksum field holds the pseudo-header's sum, so a port that finishes the checksum sums from
// the L4 header to the end and stores the complement; one that recomputes it whole (a NIC, net_iavfbe) gets the same.
// A port that cannot hand the request on finishes it in software before the packet leaves (`finishChecksums`, as the
// kernel's `skb_checksum_help`): net_iavfbe towards its guest, net_pcap into its file, net_tap without offload.
// A TCP packet longer than the wire takes may also ask to be cut into segments (TSO, DPDK's `RTE_MBUF_F_TX_TCP_SEG`
// with `tso_segsz` and `l4_len`): the MSS and the TCP header's length in the MBUF_TSO word, beside a TCP checksum
// request; as in Linux's TSO, the IP lengths and checksums are the sender's to make again per segment.

import { inetChecksum, putIpv4HeaderChecksum, putSctpChecksum } from "./checksum.js";

/** The L4 checksum asked for (bits 1:0 of the flags). */
export const TxL4 = { NONE: 0, TCP: 1, UDP: 2, SCTP: 3 } as const;
/** The L3 header (bits 3:2): IPv4 (its header checksum already right), IPv4 asking for its header checksum, IPv6. */
export const TxL3 = { NONE: 0, IPV4: 1, IPV4_CSUM: 2, IPV6: 3 } as const;

const L2_SHIFT = 4;
const L3_SHIFT = 12;
/** Bits 11:4: the L2 header's bytes (Ethernet and its VLAN tags); bits 20:12: the L3 header's (options included). */
const L2_MASK = 0xff;
const L3_MASK = 0x1ff;

/** The MBUF_FLAGS word of a checksum request: `l4` and `l3` of TxL4/TxL3, the L2 and L3 headers' lengths. */
export function txChecksumFlags(l3: number, l4: number, l2Len: number, l3Len: number): number {
  return ((l4 & 3) | ((l3 & 3) << 2) | ((l2Len & L2_MASK) << L2_SHIFT) | ((l3Len & L3_MASK) << L3_SHIFT)) >>> 0;
}

/** The request's L4 checksum (TxL4; NONE: no request). */
export const txL4 = (flags: number): number => flags & 3;
/** The request's L3 header (TxL3). */
export const txL3 = (flags: number): number => (flags >>> 2) & 3;
/** Where the L3 header starts: the L2 header's length. */
export const txL2Len = (flags: number): number => (flags >>> L2_SHIFT) & L2_MASK;
/** The L3 header's length; the L4 header starts at txL2Len + txL3Len. */
export const txL3Len = (flags: number): number => (flags >>> L3_SHIFT) & L3_MASK;
/** Where the L4 checksum field lies in its header (TCP 16, UDP 6, SCTP 8). */
export const txL4ChecksumAt = (l4: number): number => (l4 === TxL4.TCP ? 16 : l4 === TxL4.UDP ? 6 : 8);

/** The MBUF_TSO word of a segmentation request: segments of `mss` payload bytes, a TCP header of `l4Len` bytes. */
export function txTsoWord(mss: number, l4Len: number): number {
  return ((mss & 0xffff) | ((l4Len & 0xff) << 16)) >>> 0;
}

/** The request's MSS (0: no segmentation). */
export const txTsoMss = (word: number): number => word & 0xffff;
/** The TCP header's length in a segmentation request. */
export const txTsoL4Len = (word: number): number => (word >>> 16) & 0xff;

/** Computes the IPv4 header checksum a request asks for (TxL3.IPV4_CSUM) in the frame b[at, at + len). */
export function finishIpv4Header(b: Uint8Array, at: number, len: number, flags: number): void {
  const l3Len = txL3Len(flags);
  if (txL3(flags) !== TxL3.IPV4_CSUM || l3Len < 20 || txL2Len(flags) + l3Len > len) return;
  putIpv4HeaderChecksum(b, at + txL2Len(flags), l3Len);
}

/**
 * Computes the L4 checksum a request asks for in the frame b[at, at + len): TCP's and UDP's from the seed in their
 * field (the sum from the L4 header to the frame's end, complemented; UDP's 0 sent as 0xffff), SCTP's CRC32c. A
 * request whose headers do not fit the frame is not followed.
 */
export function finishL4(b: Uint8Array, at: number, len: number, flags: number): void {
  const l4 = txL4(flags);
  const start = txL2Len(flags) + txL3Len(flags);
  if (l4 === TxL4.NONE || start + txL4ChecksumAt(l4) + (l4 === TxL4.SCTP ? 4 : 2) > len) return;
  const h = at + start;
  if (l4 === TxL4.SCTP) {
    putSctpChecksum(b, h, len - start);
    return;
  }
  const field = h + txL4ChecksumAt(l4);
  const c = inetChecksum(b, h, len - start) || (l4 === TxL4.UDP ? 0xffff : 0);
  b[field] = c >>> 8;
  b[field + 1] = c & 0xff;
}

/** Finishes a checksum request in software (the IPv4 header's, then the L4 one), as the kernel's skb_checksum_help. */
export function finishChecksums(b: Uint8Array, at: number, len: number, flags: number): void {
  finishIpv4Header(b, at, len, flags);
  finishL4(b, at, len, flags);
}
