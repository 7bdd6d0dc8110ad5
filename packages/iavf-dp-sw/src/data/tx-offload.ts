// The transmit offloads of an Intel VF, done in software on a packet leaving the guest: the checksums a DATA
// descriptor asks for (CMD.IIPT: the IPv4 header's; CMD.L4T: TCP's, UDP's or SCTP's CRC32c, at the header lengths
// OFFSET gives) and TCP segmentation (a context descriptor with CMD.TSO, TSO_LEN and MSS before the packet). The
// Linux iavf driver offers the stack these offloads whatever the PF grants (IP/IPv6 checksums, SCTP CRC, TSO, TSO6,
// TSO_ECN: `iavf_process_config`), so a device that ignored them would send its TCP with partial checksums and drop
// its 64 KiB segments. Checksums are computed whole over the frame as it leaves (pseudo-header from the packet's
// addresses and the L4 length, whatever the driver seeded the field with); a segment is a copy of the headers with the
// IPv4 total length and identification (+1 per segment) or the IPv6 payload length, the TCP sequence number (+MSS per
// segment) and flags (FIN and PSH only on the last, CWR only on the first) rewritten, then its checksums.
import { TxCmd, txOffsetIpLen, txOffsetL4Len, txOffsetMacLen } from "@emu/iavf-common";
import { inetChecksum, onesSum, putIpv4HeaderChecksum, putSctpChecksum } from "@emu/port/data";

/** The offload fields of a DATA descriptor's QW1 low word (CMD starts at bit 4): IIPT and L4T. */
export const OFFLOAD_BITS = (TxCmd.IIPT_MASK | TxCmd.L4T_MASK) << 4;
/** The smallest MSS taken (Linux's TCP never goes below 88 bytes; a smaller one only makes a flood of segments). */
const MIN_MSS = 64;

const TCP = 6;
const UDP = 17;
const IPV4_MIN = 20;
const IPV6_FIXED = 40;
const TCP_MIN = 20;
/** Bytes of each L4 header up to the end of its checksum field. */
const TCP_CSUM_END = 18;
const UDP_CSUM_END = 8;
const SCTP_CSUM_END = 12;
const FIN = 0x01;
const PSH = 0x08;
const CWR = 0x80;

/**
 * One packet's offload request, read from its descriptors and checked against its frame; then applied to the frame
 * (or to each segment) in a pool buffer. Offsets are in the frame as it leaves: a tag the device inserts after the MAC
 * addresses moves the IP header 4 bytes on.
 */
export class TxOffload {
  /** The IP header's offset and length (extension headers or options included). */
  ip = 0;
  ipLen = 0;
  /** The L4 header's offset and (for TSO) length. */
  l4 = 0;
  l4Len = 0;
  /** TxCmd.IIPT_* and TxCmd.L4T_* values (0: none). */
  iipt = 0;
  l4t = 0;
  /** TSO: bytes of headers copied into each segment, the segments' payload and their count. */
  header = 0;
  mss = 0;
  segments = 1;

  /**
   * Reads a request: `cmd` is the packet's first DATA descriptor's QW1 low word, `offset` its OFFSET field, `tag` the
   * bytes the device inserts after the MAC addresses (0 or 4), `length` the packet's bytes in guest memory; `tsoLen`
   * and `mss` come from a TSO context descriptor before it (`tsoLen` -1: none). False when the request does not fit the
   * packet (headers past its end, TSO of anything but TCP over IP, a TSO_LEN that is not what follows the headers, an
   * MSS under {@link MIN_MSS} or a segment longer than `maxFrame`): the packet is dropped and counted. (The caller
   * checks an unsegmented packet's length as it checks any other.)
   */
  read(
    cmd: number,
    offset: number,
    tag: number,
    length: number,
    tsoLen: number,
    mss: number,
    maxFrame: number,
  ): boolean {
    const iipt = (cmd >>> 4) & TxCmd.IIPT_MASK;
    const l4t = (cmd >>> 4) & TxCmd.L4T_MASK;
    this.iipt = iipt;
    this.l4t = l4t;
    this.ip = txOffsetMacLen(offset) + tag;
    this.ipLen = txOffsetIpLen(offset);
    this.l4 = this.ip + this.ipLen;
    this.l4Len = txOffsetL4Len(offset);
    this.segments = 1;
    const frame = length + tag;
    if (iipt !== 0) {
      if (this.ip < 14 + tag || this.ipLen < (iipt === TxCmd.IIPT_IPV6 ? IPV6_FIXED : IPV4_MIN)) return false;
      if (this.l4 > frame) return false;
    }
    if (l4t !== 0) {
      // Every L4 checksum needs to know where the L4 header is, and TCP's and UDP's a pseudo-header: an IP header.
      if (iipt === 0) return false;
      if (this.l4 + csumEnd(l4t) > frame) return false;
    }
    if (tsoLen < 0) return true;
    if (l4t !== TxCmd.L4T_TCP || this.l4Len < TCP_MIN || mss < MIN_MSS) return false;
    this.header = this.l4 + this.l4Len;
    this.mss = mss;
    if (this.header - tag + tsoLen !== length || tsoLen === 0 || this.header + mss > maxFrame) return false;
    this.segments = Math.ceil(tsoLen / mss);
    return true;
  }

  /** The payload bytes of segment `i` (TSO), from the packet's TSO_LEN. */
  payloadOf(i: number, tsoLen: number): number {
    return Math.min(this.mss, tsoLen - i * this.mss);
  }

  /**
   * Makes b[at, at + len) segment `i` of the packet's segments: its headers (copied from the packet) rewritten for
   * its payload and place, then its checksums.
   */
  segment(b: Uint8Array, at: number, len: number, i: number): void {
    const ip = at + this.ip;
    const l4 = at + this.l4;
    if (this.iipt === TxCmd.IIPT_IPV6) put16(b, ip + 4, len - this.ip - IPV6_FIXED);
    else {
      put16(b, ip + 2, len - this.ip);
      put16(b, ip + 4, (get16(b, ip + 4) + i) & 0xffff);
    }
    const seq = ((b[l4 + 4]! << 24) | (b[l4 + 5]! << 16) | (b[l4 + 6]! << 8) | b[l4 + 7]!) >>> 0;
    put32(b, l4 + 4, (seq + i * this.mss) >>> 0);
    let flags = b[l4 + 13]!;
    if (i + 1 < this.segments) flags &= ~(FIN | PSH);
    if (i > 0) flags &= ~CWR;
    b[l4 + 13] = flags;
    // The IPv4 header changed: its checksum is made again whatever IIPT said.
    this.checksum(b, at, len, this.iipt !== TxCmd.IIPT_IPV6);
  }

  /** Fills in the checksums asked for in the frame b[at, at + len) (`ipv4` also the IPv4 header's). */
  checksum(b: Uint8Array, at: number, len: number, ipv4 = this.iipt === TxCmd.IIPT_IPV4_CSUM): void {
    const ip = at + this.ip;
    if (ipv4) putIpv4HeaderChecksum(b, ip, this.ipLen);
    const l4t = this.l4t;
    if (l4t === 0) return;
    const l4 = at + this.l4;
    const l4Bytes = this.l4Bytes(b, ip, len, l4t);
    if (l4t === TxCmd.L4T_SCTP) {
      putSctpChecksum(b, l4, l4Bytes);
      return;
    }
    const tcp = l4t === TxCmd.L4T_TCP;
    const field = l4 + (tcp ? 16 : 6);
    // The pseudo-header: the addresses, the protocol and the L4 length (RFC 793, 768; RFC 8200 §8.1 for IPv6).
    const v6 = this.iipt === TxCmd.IIPT_IPV6;
    const sum =
      onesSum(b, v6 ? ip + 8 : ip + 12, v6 ? 32 : 8) + (tcp ? TCP : UDP) + (l4Bytes >>> 16) + (l4Bytes & 0xffff);
    put16(b, field, 0);
    const c = inetChecksum(b, l4, l4Bytes, sum);
    put16(b, field, !tcp && c === 0 ? 0xffff : c); // UDP sends a computed 0 as all ones (0: no checksum)
  }

  /**
   * The L4 bytes the checksum covers: to the end of the IP datagram as its header says (IPv4 total length, IPv6
   * payload length), not to the end of the frame — a short frame padded to Ethernet's minimum carries trailer bytes
   * that are not the segment's. A length that does not fit the frame (or ends before the checksum field) means the
   * frame's end.
   */
  private l4Bytes(b: Uint8Array, ip: number, len: number, l4t: number): number {
    const ipBytes = this.iipt === TxCmd.IIPT_IPV6 ? IPV6_FIXED + get16(b, ip + 4) : get16(b, ip + 2);
    const n = this.ip + ipBytes - this.l4;
    return n >= csumEnd(l4t) && this.l4 + n <= len ? n : len - this.l4;
  }
}

/** Bytes of an L4 header up to the end of its checksum field. */
function csumEnd(l4t: number): number {
  return l4t === TxCmd.L4T_TCP ? TCP_CSUM_END : l4t === TxCmd.L4T_UDP ? UDP_CSUM_END : SCTP_CSUM_END;
}

function get16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}
