// The Toeplitz hash against the RSS verification suite's published values (Microsoft's "Verifying the RSS Hash
// Calculation", also in Intel's 82599 datasheet §7.1.2.8.3): the data path's table-driven hash and the tests' own
// bit-by-bit one must both give them, so the RSS tests can trust the reference.
import { Toeplitz } from "@emu/iavf-dp-sw";
import { describe, expect, it } from "vitest";
import { hashInput, MS_KEY, toeplitzReference } from "./fixtures/frames.js";

// [source, destination, source port, destination port, hash of the addresses, hash with the ports]
const IPV4: [string, string, number, number, number, number][] = [
  ["66.9.149.187", "161.142.100.80", 2794, 1766, 0x323e8fc2, 0x51ccc178],
  ["199.92.111.2", "65.69.140.83", 14230, 4739, 0xd718262a, 0xc626b0ea],
  ["24.19.198.95", "12.22.207.184", 12898, 38024, 0xd2d0a5de, 0x5c2b394a],
  ["38.27.205.30", "209.142.163.6", 48228, 2217, 0x82989176, 0xafc7327f],
  ["153.39.163.191", "202.188.127.2", 44251, 1303, 0x5d1809c5, 0x10e828a2],
];
const IPV6: [string, string, number, number, number, number][] = [
  ["3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", 2794, 1766, 0x2cc18cd5, 0x40207d3d],
  ["3ffe:501:8::260:97ff:fe40:efab", "ff02::1", 14230, 4739, 0x0f0c461c, 0xdde51bbf],
  ["3ffe:1900:4545:3:200:f8ff:fe21:67cf", "fe80::200:f8ff:fe21:67cf", 44251, 38024, 0x4b61e985, 0x02d1feef],
];

describe("Toeplitz", () => {
  const t = new Toeplitz(MS_KEY);
  for (const [src, dst, sport, dport, addrs, all] of [...IPV4, ...IPV6]) {
    it(`${src}:${sport} → ${dst}:${dport}`, () => {
      const input = hashInput({ src, dst, sport, dport, proto: "tcp" });
      const addrLen = input.length - 4;
      expect(toeplitzReference(MS_KEY, input.subarray(0, addrLen))).toBe(addrs);
      expect(toeplitzReference(MS_KEY, input)).toBe(all);
      expect(t.hash(input, 0, addrLen)).toBe(addrs);
      expect(t.hash(input, 0, addrLen, addrLen, 4)).toBe(all);
    });
  }

  it("a new key replaces the tables", () => {
    const other = new Toeplitz(new Uint8Array(52).fill(0xff));
    const input = hashInput({ src: "10.0.0.1", dst: "10.0.0.2", sport: 1, dport: 2, proto: "udp" });
    expect(other.hash(input, 0, input.length)).toBe(toeplitzReference(new Uint8Array(52).fill(0xff), input));
    other.setKey(MS_KEY);
    expect(other.hash(input, 0, input.length)).toBe(toeplitzReference(MS_KEY, input));
  });
});
