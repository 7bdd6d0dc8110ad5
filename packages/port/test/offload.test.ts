// Checksum requests finished in software (what a port that cannot hand them on does): frames made here with the
// pseudo-header's sum in the field, as the kernel leaves CHECKSUM_PARTIAL, checked with an explicit pseudo-header.
import { describe, expect, it } from "vitest";
import { crc32c, foldSum, onesSum } from "../src/checksum.js";
import { finishChecksums, TxL3, TxL4, txChecksumFlags } from "../src/offload.js";

/** Ethernet + IPv4 (header checksum 0) + `l4` bytes of protocol `proto`, the L4 field seeded at `field` when given. */
function frame(proto: number, l4: number[], field?: number): Uint8Array {
  const total = 20 + l4.length;
  const f = Uint8Array.from([
    ...new Array(12).fill(2),
    0x08,
    0x00,
    ...[0x45, 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2],
    ...l4,
  ]);
  if (field !== undefined) {
    const seed = foldSum(onesSum(f, 26, 8) + proto + l4.length);
    f[34 + field] = seed >> 8;
    f[34 + field + 1] = seed & 0xff;
  }
  return f;
}

const valid = (f: Uint8Array, proto: number) =>
  foldSum(onesSum(f, 34, f.length - 34, onesSum(f, 26, 8) + proto + f.length - 34)) === 0xffff;

describe("finishChecksums", () => {
  it("TCP and UDP from their seed, the IPv4 header when asked; no request, no change", () => {
    const tcp = frame(6, [0, 1, 0, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3], 16);
    finishChecksums(tcp, 0, tcp.length, txChecksumFlags(TxL3.IPV4_CSUM, TxL4.TCP, 14, 20));
    expect(valid(tcp, 6)).toBe(true);
    expect(foldSum(onesSum(tcp, 14, 20))).toBe(0xffff);
    const udp = frame(17, [0, 9, 0, 9, 0, 12, 0, 0, 9, 8, 7, 6], 6);
    const before = udp.slice();
    finishChecksums(udp, 0, udp.length, 0);
    expect(udp).toEqual(before);
    finishChecksums(udp, 0, udp.length, txChecksumFlags(TxL3.IPV4, TxL4.UDP, 14, 20));
    expect(valid(udp, 17)).toBe(true);
    expect([udp[24], udp[25]]).toEqual([0, 0]); // IPV4 (not IPV4_CSUM): the header's checksum is not touched
  });

  it("SCTP's CRC32c, least significant byte first; a request past the frame is not followed", () => {
    const sctp = frame(132, [0, 1, 0, 2, 0, 0, 0, 7, 0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4]);
    finishChecksums(sctp, 0, sctp.length, txChecksumFlags(TxL3.IPV4, TxL4.SCTP, 14, 20));
    const zeroed = sctp.slice(34);
    zeroed.fill(0, 8, 12);
    const c = crc32c(zeroed, 0, zeroed.length);
    expect(Array.from(sctp.subarray(42, 46))).toEqual([c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24]);
    const short = sctp.slice(0, 40);
    const kept = short.slice();
    finishChecksums(short, 0, short.length, txChecksumFlags(TxL3.IPV4, TxL4.TCP, 14, 20));
    expect(short).toEqual(kept);
  });
});
