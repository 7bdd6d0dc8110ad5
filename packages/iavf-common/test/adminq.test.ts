import {
  AQ_DESCRIPTOR_SIZE,
  AqFlag,
  AqOpcode,
  aqBufferAddress,
  decodeAqDescriptor,
  encodeAqDescriptor,
  readAqDescriptor,
  VirtchnlStatus,
  writeAqDescriptor,
} from "@emu/iavf-common";
import { describe, expect, it } from "vitest";
import { h, toHex } from "./helpers.js";

// A VF → PF VERSION request as Linux and DPDK post it on the ATQ (doc §3.1).
const versionRequest = h`
  0034        # flags SI|BUF|RD (0x3400)
  0108        # opcode 0x0801 send_msg_to_pf
  0800        # datalen 8
  0000        # retval
  01000000    # cookie_high: virtchnl opcode 1 (VERSION)
  00000000    # cookie_low: virtchnl status
  00000000    # param0
  00000000    # param1
  00000000    # addr_high
  00f01000    # addr_low 0x0010f000
`;
const versionRequestDesc = {
  flags: AqFlag.SI | AqFlag.BUF | AqFlag.RD,
  opcode: AqOpcode.SEND_MSG_TO_PF,
  datalen: 8,
  retval: 0,
  cookieHigh: 1,
  cookieLow: 0,
  param0: 0,
  param1: 0,
  addrHigh: 0,
  addrLow: 0x0010f000,
};

// The device's ARQ post answering an unknown opcode: DD|CMP kept with the posted BUF|LB, status −64.
const arqNotSupported = h`
  0312        # flags DD|CMP|LB|BUF (0x1203)
  0208        # opcode 0x0802 send_msg_to_vf
  0000        # datalen 0 (no payload)
  0000        # retval 0
  42000000    # cookie_high: virtchnl opcode 66
  c0ffffff    # cookie_low: -64 ERR_NOT_SUPPORTED
  00000000    # param0
  00000000    # param1
  01000000    # addr_high 0x1
  00200000    # addr_low 0x2000
`;

describe("admin-queue descriptor", () => {
  it("decodes and encodes a VERSION request descriptor byte for byte", () => {
    expect(versionRequest.length).toBe(AQ_DESCRIPTOR_SIZE);
    expect(decodeAqDescriptor(versionRequest)).toEqual({ ok: true, value: versionRequestDesc });
    expect(toHex(encodeAqDescriptor(versionRequestDesc))).toBe(toHex(versionRequest));
  });

  it("reads the virtchnl status in cookie_low as signed", () => {
    const r = decodeAqDescriptor(arqNotSupported);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.cookieLow).toBe(VirtchnlStatus.ERR_NOT_SUPPORTED);
    expect(r.value.flags).toBe(AqFlag.DD | AqFlag.CMP | AqFlag.LB | AqFlag.BUF);
    expect(aqBufferAddress(r.value)).toBe(0x1_0000_2000n);
    // all 64 bits, exactly
    expect(aqBufferAddress({ ...r.value, addrHigh: 0xffff_ffff, addrLow: 0xffff_f001 })).toBe(0xffff_ffff_ffff_f001n);
    expect(toHex(encodeAqDescriptor(r.value))).toBe(toHex(arqNotSupported));
  });

  it("reads and writes in place at an offset of a ring", () => {
    const ring = new Uint8Array(4 * AQ_DESCRIPTOR_SIZE + 5);
    const view = new DataView(ring.buffer, 5);
    writeAqDescriptor(view, 2 * AQ_DESCRIPTOR_SIZE, versionRequestDesc);
    expect(toHex(ring.subarray(5 + 64, 5 + 96))).toBe(toHex(versionRequest));
    expect(readAqDescriptor(view, 64)).toEqual(versionRequestDesc);
  });

  it("a short buffer is Truncated, not an exception", () => {
    const r = decodeAqDescriptor(versionRequest.subarray(0, 31));
    expect(r.ok ? "ok" : r.error.reason).toBe("Truncated");
  });

  it("an unsigned cookie_low is accepted too, and out-of-range fields throw", () => {
    const d = { ...versionRequestDesc, cookieLow: 0xffff_ffc0 };
    expect(toHex(encodeAqDescriptor(d).subarray(12, 16))).toBe("c0ffffff");
    expect(() => encodeAqDescriptor({ ...versionRequestDesc, datalen: 0x10000 })).toThrow(/datalen/);
  });
});
