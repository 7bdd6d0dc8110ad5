// The checksum helpers against published vectors: RFC 1071 §3's worked sum, a real IPv4 header, and CRC32c's check
// value and RFC 3720 appendix B.4's vectors.
import { describe, expect, it } from "vitest";
import { crc32c, foldSum, inetChecksum, onesSum } from "../src/checksum.js";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((h) => Number.parseInt(h, 16)));

describe("Internet checksum", () => {
  it("sums RFC 1071's example to 0xddf2 and checks it as 0x220d", () => {
    const b = hex("0001f203f4f5f6f7");
    expect(foldSum(onesSum(b, 0, b.length))).toBe(0xddf2);
    expect(inetChecksum(b, 0, b.length)).toBe(0x220d);
  });

  it("pads an odd last byte with zero, and adds a seed", () => {
    const b = hex("0001f203f4f5f6");
    expect(foldSum(onesSum(b, 0, b.length))).toBe(foldSum(0x0001 + 0xf203 + 0xf4f5 + 0xf600));
    expect(inetChecksum(b, 0, 2, 0x1234)).toBe(~(0x0001 + 0x1234) & 0xffff);
  });

  it("gives a real IPv4 header's checksum (0xb861), and 0 over the header with it", () => {
    const h = hex("450000730000400040110000c0a80001c0a800c7");
    expect(inetChecksum(h, 0, 20)).toBe(0xb861);
    h[10] = 0xb8;
    h[11] = 0x61;
    expect(inetChecksum(h, 0, 20)).toBe(0);
  });

  it("folds sums of long buffers exactly", () => {
    const b = new Uint8Array(70_000).fill(0xff);
    expect(foldSum(onesSum(b, 0, b.length))).toBe(0xffff);
    expect(inetChecksum(b, 1, 3)).toBe(~foldSum(0xffff + 0xff00) & 0xffff);
  });
});

describe("CRC32c", () => {
  it("gives the check value and RFC 3720's vectors", () => {
    expect(crc32c(new TextEncoder().encode("123456789"), 0, 9)).toBe(0xe306_9283);
    expect(crc32c(new Uint8Array(32), 0, 32)).toBe(0x8a91_36aa);
    expect(crc32c(new Uint8Array(32).fill(0xff), 0, 32)).toBe(0x62a8_ab43);
    const inc = Uint8Array.from({ length: 32 }, (_, i) => i);
    expect(crc32c(inc, 0, 32)).toBe(0x46dd_794e);
    expect(crc32c(inc, 4, 0)).toBe(0);
  });
});
