// What a received frame is, as the NIC's parser tells it: its packet type for the RX write-back (the legacy ptype
// table), its packet classifier type for RSS (the HENA bit that enables hashing it), where its hash input lies
// (addresses, then ports), its VLAN tag, and whether it is unicast, multicast or broadcast. Every read is bounded by
// the frame's length; a frame too short for a header is what the header before it says it is.
import { RssPctype, RxPtype } from "@emu/iavf-common";

/** One classified frame; reused (`classify` fills it). */
export interface Classified {
  ptype: number;
  /** The HENA bit of the frame's classifier type, or -1: not hashed. */
  pctype: number;
  /** A second HENA bit that also enables hashing (TCP SYN without ACK, unicast/multicast UDP), or -1. */
  pctypeAlt: number;
  /** Hash input: addresses at [addrAt, addrAt + addrLen), then ports at [portsAt, portsAt + portsLen). */
  addrAt: number;
  addrLen: number;
  portsAt: number;
  portsLen: number;
  /** The outer VLAN id (undefined: untagged) and where its 4-byte tag starts. */
  vlan: number | undefined;
  tagAt: number;
  /** 0 unicast, 1 multicast, 2 broadcast (UMBCAST). */
  cast: number;
}

export function newClassified(): Classified {
  return {
    ptype: RxPtype.L2_PAY2,
    pctype: -1,
    pctypeAlt: -1,
    addrAt: 0,
    addrLen: 0,
    portsAt: 0,
    portsLen: 0,
    vlan: undefined,
    tagAt: 0,
    cast: 0,
  };
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_ARP = 0x0806;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const IP_TCP = 6;
const IP_UDP = 17;
const IP_SCTP = 132;
const IP_ICMP = 1;
const IP_ICMPV6 = 58;

/** unicast 0, multicast 1, broadcast 2 of a destination MAC at 0. */
export function castOf(b: Uint8Array, at: number): number {
  if ((b[at]! & 1) === 0) return 0;
  for (let i = 0; i < 6; i++) if (b[at + i] !== 0xff) return 1;
  return 2;
}

/** Classifies the frame bytes[at, at + len). */
export function classify(b: Uint8Array, at: number, len: number, out: Classified): Classified {
  out.ptype = RxPtype.L2_PAY2;
  out.pctype = RssPctype.L2_PAYLOAD;
  out.pctypeAlt = -1;
  out.addrLen = 0;
  out.portsLen = 0;
  out.vlan = undefined;
  out.cast = len >= 6 ? castOf(b, at) : 0;
  const end = at + len;
  let p = at + 12;
  if (p + 2 > end) return out;
  let type = (b[p]! << 8) | b[p + 1]!;
  for (let tags = 0; (type === ETH_VLAN || type === ETH_QINQ) && tags < 2 && p + 6 <= end; tags++) {
    if (tags === 0) {
      out.vlan = ((b[p + 2]! << 8) | b[p + 3]!) & 0xfff;
      out.tagAt = p;
    }
    p += 4;
    type = (b[p]! << 8) | b[p + 1]!;
  }
  p += 2;
  if (type === ETH_ARP) out.ptype = RxPtype.ARP;
  else if (type === ETH_IPV4) ipv4(b, p, end, out);
  else if (type === ETH_IPV6) ipv6(b, p, end, out);
  return out;
}

function ipv4(b: Uint8Array, p: number, end: number, out: Classified): void {
  if (p + 20 > end || b[p]! >>> 4 !== 4) return;
  const ihl = (b[p]! & 0xf) * 4;
  out.ptype = RxPtype.IPV4_PAY;
  out.pctype = RssPctype.NONF_IPV4_OTHER;
  out.addrAt = p + 12;
  out.addrLen = 8;
  const fragment = (((b[p + 6]! << 8) | b[p + 7]!) & 0x3fff) !== 0; // MF or an offset
  if (fragment) {
    out.ptype = RxPtype.IPV4_FRAG;
    out.pctype = RssPctype.FRAG_IPV4;
    return;
  }
  l4(b, b[p + 9]!, p + ihl, end, out, 4);
}

function ipv6(b: Uint8Array, p: number, end: number, out: Classified): void {
  if (p + 40 > end || b[p]! >>> 4 !== 6) return;
  out.ptype = RxPtype.IPV6_PAY;
  out.pctype = RssPctype.NONF_IPV6_OTHER;
  out.addrAt = p + 8;
  out.addrLen = 32;
  let next = b[p + 6]!;
  let q = p + 40;
  // Hop-by-hop, routing and destination options are skipped; a fragment header makes it a fragment.
  for (let i = 0; i < 4 && (next === 0 || next === 43 || next === 60 || next === 44); i++) {
    if (q + 8 > end) return;
    if (next === 44) {
      out.ptype = RxPtype.IPV6_FRAG;
      out.pctype = RssPctype.FRAG_IPV6;
      return;
    }
    next = b[q]!;
    q += (b[q + 1]! + 1) * 8;
  }
  l4(b, next, q, end, out, 6);
}

function l4(b: Uint8Array, proto: number, q: number, end: number, out: Classified, ip: 4 | 6): void {
  const v4 = ip === 4;
  if (proto === IP_ICMP || proto === IP_ICMPV6) {
    out.ptype = v4 ? RxPtype.IPV4_ICMP : RxPtype.IPV6_ICMP;
    return;
  }
  if (proto !== IP_TCP && proto !== IP_UDP && proto !== IP_SCTP) return;
  if (q + 4 > end) return;
  out.portsAt = q;
  out.portsLen = 4;
  if (proto === IP_TCP) {
    out.ptype = v4 ? RxPtype.IPV4_TCP : RxPtype.IPV6_TCP;
    out.pctype = v4 ? RssPctype.NONF_IPV4_TCP : RssPctype.NONF_IPV6_TCP;
    const flags = q + 13 < end ? b[q + 13]! : 0;
    if ((flags & 0x12) === 0x02)
      out.pctypeAlt = v4 ? RssPctype.NONF_IPV4_TCP_SYN_NO_ACK : RssPctype.NONF_IPV6_TCP_SYN_NO_ACK;
  } else if (proto === IP_UDP) {
    out.ptype = v4 ? RxPtype.IPV4_UDP : RxPtype.IPV6_UDP;
    out.pctype = v4 ? RssPctype.NONF_IPV4_UDP : RssPctype.NONF_IPV6_UDP;
    const multi = out.cast !== 0;
    if (v4) out.pctypeAlt = multi ? RssPctype.NONF_MULTICAST_IPV4_UDP : RssPctype.NONF_UNICAST_IPV4_UDP;
    else out.pctypeAlt = multi ? RssPctype.NONF_MULTICAST_IPV6_UDP : RssPctype.NONF_UNICAST_IPV6_UDP;
  } else {
    out.ptype = v4 ? RxPtype.IPV4_SCTP : RxPtype.IPV6_SCTP;
    out.pctype = v4 ? RssPctype.NONF_IPV4_SCTP : RssPctype.NONF_IPV6_SCTP;
  }
}
