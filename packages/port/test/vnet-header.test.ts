// The virtio-net header of a TAP with offload=1, both ways, on frames made here: what the kernel's header becomes as
// a checksum request, what is finished on the spot, and the header the kernel gets for each request.
import { describe, expect, it } from "vitest";
import { foldSum, inetChecksum, onesSum } from "../src/checksum.js";
import { putVnetHeader, takeVnetHeader, VNET_HDR, vnetTsoWord } from "../src/drivers/tap/vnet-header.js";
import { TxL3, TxL4, txChecksumFlags, txTsoWord } from "../src/offload.js";

/** A header (NEEDS_CSUM with csum_start/offset, or none) and an IPv4/UDP frame (behind `tag` 802.1Q bytes). */
function withHeader(start: number, offset: number, o: { tag?: boolean; gso?: number; csum?: boolean } = {}) {
  const l2 = o.tag ? 18 : 14;
  const f = new Uint8Array(VNET_HDR + l2 + 20 + 8 + 20);
  const h = new DataView(f.buffer);
  f[0] = o.csum === false ? 0 : 1;
  f[1] = o.gso ?? 0;
  h.setUint16(6, start, true);
  h.setUint16(8, offset, true);
  const e = VNET_HDR;
  if (o.tag) f.set([0x81, 0x00, 0, 5], e + 12);
  f.set([0x08, 0x00], e + l2 - 2);
  f.set([0x45, 0, 0, 48, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], e + l2);
  f.set([0, 9, 0, 9, 0, 28, 0, 0, ...Array.from({ length: 20 }, (_, i) => i + 1)], e + l2 + 20);
  // The checksum field holds the pseudo-header's sum, as the kernel leaves it.
  const pseudo = foldSum(onesSum(f, e + l2 + 12, 8) + 17 + 28);
  f[e + l2 + 26] = pseudo >> 8;
  f[e + l2 + 27] = pseudo & 0xff;
  return { f, len: f.length - VNET_HDR, l2 };
}

const udpValid = (f: Uint8Array, l2: number) => {
  const e = VNET_HDR + l2;
  return foldSum(onesSum(f, e + 20, 28, onesSum(f, e + 12, 8) + 17 + 28)) === 0xffff;
};

describe("virtio-net header from the kernel", () => {
  it("NEEDS_CSUM for UDP or TCP over IPv4 (with or without an 802.1Q tag) becomes a checksum request", () => {
    const plain = withHeader(34, 6);
    expect(takeVnetHeader(plain.f, 0, plain.len)).toBe(txChecksumFlags(TxL3.IPV4, TxL4.UDP, 14, 20));
    const tagged = withHeader(38, 6, { tag: true });
    expect(takeVnetHeader(tagged.f, 0, tagged.len)).toBe(txChecksumFlags(TxL3.IPV4, TxL4.UDP, 18, 20));
    const tcp = withHeader(34, 16);
    tcp.f[VNET_HDR + 14 + 9] = 6; // the IP header says TCP
    expect(takeVnetHeader(tcp.f, 0, tcp.len)).toBe(txChecksumFlags(TxL3.IPV4, TxL4.TCP, 14, 20));
    const none = withHeader(0, 0, { csum: false });
    expect(takeVnetHeader(none.f, 0, none.len)).toBe(0);
  });

  it("a checksum the request cannot say is finished here; segmentation and places past the frame are refused", () => {
    // csum_offset 6 but starting inside the IP header: no request shape, so the sum is finished in place.
    const odd = withHeader(14 + 12, 14);
    const before = odd.f.slice();
    expect(takeVnetHeader(odd.f, 0, odd.len)).toBe(0);
    const at = VNET_HDR + 26 + 14;
    const want = inetChecksum(before, VNET_HDR + 26, odd.len - 26) || 0xffff;
    expect([odd.f[at], odd.f[at + 1]]).toEqual([want >> 8, want & 0xff]);
    // A TCP checksum place on a packet whose IP header says UDP (as behind a tunnel): finished here too.
    const inner = withHeader(34, 16);
    expect(takeVnetHeader(inner.f, 0, inner.len)).toBe(0);
    const sum = inetChecksum(withHeader(34, 16).f, VNET_HDR + 34, inner.len - 34) || 0xffff;
    expect([inner.f[VNET_HDR + 50], inner.f[VNET_HDR + 51]]).toEqual([sum >> 8, sum & 0xff]);
    expect(takeVnetHeader(withHeader(34, 6, { gso: 1 }).f, 0, odd.len)).toBe(-1);
    expect(takeVnetHeader(withHeader(60, 6).f, 0, odd.len)).toBe(-1);
  });
});

describe("virtio-net header for the kernel", () => {
  it("a TCP or UDP request becomes NEEDS_CSUM at the L4 header; none, a zero header", () => {
    const { f, len } = withHeader(0, 0, { csum: false });
    putVnetHeader(f, 0, len, txChecksumFlags(TxL3.IPV4, TxL4.UDP, 14, 20));
    expect(Array.from(f.subarray(0, VNET_HDR))).toEqual([1, 0, 0, 0, 0, 0, 34, 0, 6, 0]);
    putVnetHeader(f, 0, len, txChecksumFlags(TxL3.IPV4, TxL4.TCP, 14, 20));
    expect(Array.from(f.subarray(0, VNET_HDR))).toEqual([1, 0, 0, 0, 0, 0, 34, 0, 16, 0]);
    f.fill(7, 0, VNET_HDR);
    putVnetHeader(f, 0, len, 0);
    expect(Array.from(f.subarray(0, VNET_HDR))).toEqual(new Array(VNET_HDR).fill(0));
  });

  it("computes what the kernel cannot finish: the IPv4 header's checksum (and leaves UDP's to it)", () => {
    const { f, len, l2 } = withHeader(0, 0, { csum: false });
    putVnetHeader(f, 0, len, txChecksumFlags(TxL3.IPV4_CSUM, TxL4.UDP, 14, 20));
    expect(inetChecksum(f, VNET_HDR + l2, 20)).toBe(0); // the header now checks
    expect(udpValid(f, l2)).toBe(false); // UDP's is still the kernel's to finish
    expect(f[0]).toBe(1);
    // The IPv4 header's checksum alone: computed, and nothing asked of the kernel.
    const only = withHeader(0, 0, { csum: false });
    putVnetHeader(only.f, 0, only.len, txChecksumFlags(TxL3.IPV4_CSUM, TxL4.NONE, 14, 20));
    expect(inetChecksum(only.f, VNET_HDR + 14, 20)).toBe(0);
    expect(Array.from(only.f.subarray(0, VNET_HDR))).toEqual(new Array(VNET_HDR).fill(0));
  });
});

describe("virtio-net header with segmentation (tso=1)", () => {
  /** The kernel's header of a TCP segment to cut: GSO_TCPV4, gso_size, NEEDS_CSUM at the TCP checksum. */
  function tcpGso() {
    const t = withHeader(34, 16);
    t.f[VNET_HDR + 14 + 9] = 6; // TCP
    t.f[VNET_HDR + 34 + 12] = 8 << 4; // data offset: 32 bytes
    t.f[1] = 1; // VIRTIO_NET_HDR_GSO_TCPV4
    new DataView(t.f.buffer).setUint16(4, 1448, true);
    return t;
  }

  it("a TCPv4 segment to cut becomes a TCP checksum request and a segmentation request (MSS, TCP header length)", () => {
    const t = tcpGso();
    expect(takeVnetHeader(t.f, 0, t.len, true)).toBe(txChecksumFlags(TxL3.IPV4, TxL4.TCP, 14, 20));
    expect(vnetTsoWord(t.f, 0)).toBe(txTsoWord(1448, 32));
    expect(takeVnetHeader(t.f, 0, t.len, false)).toBe(-1); // not offered: refused
    const udp = withHeader(34, 6, { gso: 1 }); // a segmentation request on a UDP packet
    expect(takeVnetHeader(udp.f, 0, udp.len, true)).toBe(-1);
    expect(vnetTsoWord(withHeader(34, 6).f, 0)).toBe(0);
  });

  it("a segmentation request becomes GSO_TCPV4/6 with hdr_len and gso_size", () => {
    const { f, len } = withHeader(0, 0, { csum: false });
    putVnetHeader(f, 0, len, txChecksumFlags(TxL3.IPV4, TxL4.TCP, 14, 20), txTsoWord(1000, 20));
    expect(Array.from(f.subarray(0, VNET_HDR))).toEqual([1, 1, 54, 0, 0xe8, 0x03, 34, 0, 16, 0]);
    const v6 = new Uint8Array(VNET_HDR + 200);
    putVnetHeader(v6, 0, 200, txChecksumFlags(TxL3.IPV6, TxL4.TCP, 14, 40), txTsoWord(1000, 20));
    expect(Array.from(v6.subarray(0, VNET_HDR))).toEqual([1, 4, 74, 0, 0xe8, 0x03, 54, 0, 16, 0]);
  });
});
