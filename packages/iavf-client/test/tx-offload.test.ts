// A packet's offload requests as the TX descriptor carries them, and a TSO packet readied as Linux's iavf_tso does.
import { TxCmd, txOffsetIpLen, txOffsetL4Len, txOffsetMacLen } from "@emu/iavf-common";
import { foldSum, onesSum, TxL3, TxL4, txChecksumFlags } from "@emu/port";
import { describe, expect, it } from "vitest";
import { offloadCmd, offloadOffset, prepareTso, tsoCmd } from "../src/port/tx-offload.js";

/** Ethernet + IPv4 + a TCP header of 32 bytes + `n` payload bytes; the TCP field seeded with the pseudo-header sum. */
function tcp4(n: number): Uint8Array {
  const f = new Uint8Array(14 + 20 + 32 + n);
  f.set([0x08, 0x00], 12);
  const total = 20 + 32 + n;
  f.set([0x45, 0, total >> 8, total & 0xff, 0, 7, 0x40, 0, 64, 6, 0xaa, 0xbb, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  f[34 + 12] = 8 << 4;
  const seed = foldSum(onesSum(f, 26, 8) + 6 + 32 + n);
  f[34 + 16] = seed >> 8;
  f[34 + 17] = seed & 0xff;
  return f;
}

describe("TX offload requests in the descriptor", () => {
  it("CMD.IIPT and CMD.L4T from the request, OFFSET with L4LEN from the TCP header, 8 for UDP", () => {
    const f = tcp4(100);
    const tcp = txChecksumFlags(TxL3.IPV4, TxL4.TCP, 14, 20);
    expect(offloadCmd(tcp)).toBe(TxCmd.IIPT_IPV4 | TxCmd.L4T_TCP);
    const o = offloadOffset(tcp, f, 0, f.length);
    expect([txOffsetMacLen(o), txOffsetIpLen(o), txOffsetL4Len(o)]).toEqual([14, 20, 32]);
    const udp6 = txChecksumFlags(TxL3.IPV6, TxL4.UDP, 18, 40);
    expect(offloadCmd(udp6)).toBe(TxCmd.IIPT_IPV6 | TxCmd.L4T_UDP);
    expect(txOffsetL4Len(offloadOffset(udp6, f, 0, f.length))).toBe(8);
    expect(offloadCmd(txChecksumFlags(TxL3.IPV4_CSUM, TxL4.NONE, 14, 20))).toBe(TxCmd.IIPT_IPV4_CSUM);
  });

  it("TSO: IPv4 asks for its header checksum; the lengths are zeroed and the length taken out of the TCP seed", () => {
    expect(tsoCmd(TxCmd.IIPT_IPV4 | TxCmd.L4T_TCP)).toBe(TxCmd.IIPT_IPV4_CSUM | TxCmd.L4T_TCP);
    expect(tsoCmd(TxCmd.IIPT_IPV6 | TxCmd.L4T_TCP)).toBe(TxCmd.IIPT_IPV6 | TxCmd.L4T_TCP);
    const f = tcp4(30_000);
    const at = 0;
    prepareTso(f, at, f.length, txChecksumFlags(TxL3.IPV4, TxL4.TCP, 14, 20));
    expect([f[16], f[17], f[24], f[25]]).toEqual([0, 0, 0, 0]);
    // What Linux leaves for the device: the pseudo-header's sum without the length.
    const noLength = foldSum(onesSum(f, 26, 8) + 6);
    expect((f[34 + 16]! << 8) | f[34 + 17]!).toBe(noLength);
  });
});
