// The virtio-net header the kernel puts before each frame of a TAP interface opened with IFF_VNET_HDR (struct
// virtio_net_hdr, 10 bytes: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset; little-endian here), and
// its meaning for a port: with checksum offload (TUN_F_CSUM, no segmentation offered) the kernel sends a packet with
// NEEDS_CSUM, its L4 checksum field holding the pseudo-header's sum and to be finished from csum_start to the end;
// and it takes ours the same way. Translated to and from the buffer's checksum request (../../offload.ts).
import { inetChecksum } from "../../checksum.js";
import {
  finishIpv4Header,
  finishL4,
  TxL3,
  TxL4,
  txChecksumFlags,
  txL2Len,
  txL3,
  txL3Len,
  txL4,
  txL4ChecksumAt,
  txTsoL4Len,
  txTsoMss,
  txTsoWord,
} from "../../offload.js";

/** Bytes of the header (struct virtio_net_hdr, without the mergeable-buffers count). */
export const VNET_HDR = 10;
const NEEDS_CSUM = 1;
const GSO_NONE = 0;
const GSO_TCPV4 = 1;
const GSO_TCPV6 = 4;
const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;

const get16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);

/**
 * Reads the header at b[h] before a frame of `len` bytes (at h + VNET_HDR) the kernel sent: the frame's checksum
 * request (MBUF_FLAGS; 0: none), or -1 when the frame cannot be taken (a segmentation request, which the interface does
 * not offer, or a checksum place past the frame). A checksum the request cannot say (not TCP or UDP right after an
 * IPv4 or IPv6 header, behind Ethernet and at most one 802.1Q tag: e.g. an inner checksum behind a tunnel, or past
 * IPv6 extension headers) is finished here, as the kernel's own `skb_checksum_help` would.
 */
export function takeVnetHeader(b: Uint8Array, h: number, len: number, tso = false): number {
  const gso = b[h + 1]!;
  const segmented = gso === GSO_TCPV4 || gso === GSO_TCPV6;
  if (gso !== GSO_NONE && !(tso && segmented)) return -1;
  if ((b[h]! & NEEDS_CSUM) === 0) return gso === GSO_NONE ? 0 : -1;
  const start = get16(b, h + 6);
  const offset = get16(b, h + 8);
  if (start + offset + 2 > len) return -1;
  const f = h + VNET_HDR;
  let l2 = 14;
  let type = len >= 14 ? (b[f + 12]! << 8) | b[f + 13]! : 0;
  if (type === ETH_VLAN && len >= 18) {
    l2 = 18;
    type = (b[f + 16]! << 8) | b[f + 17]!;
  }
  const l3 = type === ETH_IPV4 ? TxL3.IPV4 : type === ETH_IPV6 ? TxL3.IPV6 : TxL3.NONE;
  const l4 = offset === 16 ? TxL4.TCP : offset === 6 ? TxL4.UDP : TxL4.NONE;
  const l3Len = start - l2;
  // The L4 header must follow the IP header itself: its length and protocol as the header says.
  const ip = f + l2;
  const proto = l4 === TxL4.TCP ? 6 : 17;
  const direct =
    l4 !== TxL4.NONE &&
    start <= len &&
    (l3 === TxL3.IPV4
      ? l3Len >= 20 && (b[ip]! & 0xf) * 4 === l3Len && b[ip + 9] === proto
      : l3 === TxL3.IPV6 && l3Len === 40 && b[ip + 6] === proto);
  if (direct) return l4 === TxL4.TCP || !segmented ? txChecksumFlags(l3, l4, l2, l3Len) : -1;
  if (segmented) return -1; // a TSO packet whose TCP header is not where its own headers say: not cut blind
  const c = inetChecksum(b, f + start, len - start) || 0xffff;
  b[f + start + offset] = c >>> 8;
  b[f + start + offset + 1] = c & 0xff;
  return 0;
}

/**
 * The segmentation request (MBUF_TSO) of a TSO packet the kernel sent (its header at b[h], taken by `takeVnetHeader`
 * with a TCP request): gso_size as the MSS, the TCP header's length from its data offset. 0 for any other packet.
 */
export function vnetTsoWord(b: Uint8Array, h: number): number {
  const gso = b[h + 1];
  if (gso !== GSO_TCPV4 && gso !== GSO_TCPV6) return 0;
  const start = get16(b, h + 6);
  return txTsoWord(get16(b, h + 4), (b[h + VNET_HDR + start + 12]! >>> 4) * 4);
}

/**
 * Writes the header at b[h] before a frame of `len` bytes (at h + VNET_HDR) for the kernel: a TCP or UDP checksum
 * request becomes NEEDS_CSUM (the kernel finishes it); what the kernel cannot finish that way — the IPv4 header's
 * checksum, SCTP's CRC32c — is computed here first. A request whose headers do not fit the frame is not followed.
 */
export function putVnetHeader(b: Uint8Array, h: number, len: number, flags: number, tso = 0): void {
  b.fill(0, h, h + VNET_HDR);
  const l4 = txL4(flags);
  const f = h + VNET_HDR;
  const start = txL2Len(flags) + txL3Len(flags);
  finishIpv4Header(b, f, len, flags);
  if (l4 === TxL4.NONE || start + txL4ChecksumAt(l4) + (l4 === TxL4.SCTP ? 4 : 2) > len) return;
  if (l4 === TxL4.SCTP) {
    finishL4(b, f, len, flags);
    return;
  }
  b[h] = NEEDS_CSUM;
  b[h + 6] = start & 0xff;
  b[h + 7] = start >>> 8;
  b[h + 8] = txL4ChecksumAt(l4);
  // A segmentation request: the kernel cuts the packet (gso_size, hdr_len) and makes each segment's checksums.
  const mss = txTsoMss(tso);
  if (mss !== 0 && l4 === TxL4.TCP) {
    const header = start + txTsoL4Len(tso);
    b[h + 1] = txL3(flags) === TxL3.IPV6 ? GSO_TCPV6 : GSO_TCPV4;
    b[h + 2] = header & 0xff;
    b[h + 3] = header >>> 8;
    b[h + 4] = mss & 0xff;
    b[h + 5] = mss >>> 8;
  }
}
