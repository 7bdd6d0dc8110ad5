import { endianness } from "node:os";
import {
  isRxDescriptorDone,
  isTxDescriptorDone,
  isTxDoneWord,
  LITTLE_ENDIAN_HOST,
  RX_DESCRIPTOR_SIZE,
  RxPtype,
  RxStatus,
  rxErrors,
  rxL2Tag1,
  rxLength,
  rxPacketAddr,
  rxPtype,
  rxRssHash,
  rxStatus,
  rxWords,
  rxWritebackWord,
  TX_DESCRIPTOR_SIZE,
  TxCmd,
  TxCtxCmd,
  TxDtype,
  txBufferAddr,
  txBufSize,
  txCmd,
  txCtxCmd,
  txCtxL2Tag2,
  txCtxMss,
  txCtxTsoLen,
  txCtxTsoLenOfWords,
  txDtype,
  txL2Tag1,
  txOffset,
  txOffsetField,
  txOffsetIpLen,
  txOffsetL4Len,
  txOffsetMacLen,
  txOffsetOfWords,
  writeRxReadDescriptor,
  writeRxReadWords,
  writeRxWriteback,
  writeRxWritebackBody,
  writeTxContextDescriptor,
  writeTxContextWords,
  writeTxDataDescriptor,
  writeTxDataWords,
  writeTxDescriptorDone,
} from "@emu/iavf-common";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { h, toHex } from "./helpers.js";

describe("TX descriptor (16 bytes)", () => {
  // DPDK's single-buffer packet without offloads: QW1 = ((EOP|RS|ICRC) << 4) | (60 << 34) (doc §5.2).
  const dpdkPacket = h`
    0050341200000000   # buffer_addr 0x12345000
    70000000           # QW1 bits 31:0: DTYPE 0, CMD 0x007 (EOP|RS|ICRC) at bit 4
    f0000000           # QW1 bits 63:32: TX_BUF_SZ 60 at bit 34 (60 << 2 = 0xf0), L2TAG1 0
  `;

  it("writes and reads a data descriptor byte for byte, in place at an offset", () => {
    const ring = new Uint8Array(3 * TX_DESCRIPTOR_SIZE);
    const v = new DataView(ring.buffer);
    writeTxDataDescriptor(v, 16, 0x12345000, TxCmd.EOP | TxCmd.RS | TxCmd.ICRC, 60);
    expect(toHex(ring.subarray(16, 32))).toBe(toHex(dpdkPacket));
    expect(txBufferAddr(v, 16)).toBe(0x12345000);
    expect(txDtype(v, 16)).toBe(TxDtype.DATA);
    expect(txCmd(v, 16)).toBe(0x7);
    expect(txBufSize(v, 16)).toBe(60);
    expect(isTxDescriptorDone(v, 16)).toBe(false);
  });

  it("completion write-back sets DTYPE 0xF and keeps the rest", () => {
    const d = dpdkPacket.slice();
    const v = new DataView(d.buffer);
    writeTxDescriptorDone(v, 0);
    expect(toHex(d.subarray(8))).toBe("7f000000f0000000");
    expect(isTxDescriptorDone(v, 0)).toBe(true);
    expect(txBufSize(v, 0)).toBe(60);
  });

  it("every field round-trips at its bit position", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: 0x3ff }),
        fc.integer({ min: 0, max: 0x3fff }),
        fc.integer({ min: 0, max: 0x3ffff }),
        fc.integer({ min: 0, max: 0xffff }),
        (addr, cmd, size, offset, tag) => {
          const v = new DataView(new ArrayBuffer(TX_DESCRIPTOR_SIZE));
          writeTxDataDescriptor(v, 0, addr, cmd, size, offset, tag);
          expect([
            txBufferAddr(v, 0),
            txDtype(v, 0),
            txCmd(v, 0),
            txBufSize(v, 0),
            txOffset(v, 0),
            txL2Tag1(v, 0),
          ]).toEqual([addr, 0, cmd, size, offset, tag]);
        },
      ),
    );
  });

  it("reads a TSO context descriptor: TSO_LEN 47:30, MSS 63:50, L2TAG2 in QW0", () => {
    const ctx = h`
      00000000           # tunneling_params 0
      0a00               # l2tag2 10
      0000               # rsvd
      11000080           # QW1 31:0: DTYPE 1, CMD 0x001 (TSO) at bit 4, TSO_LEN 0x175a bits 1:0 (0b10) at bits 31:30
      d6055c00           # QW1 63:32: TSO_LEN 0x175a >> 2 = 0x5d6 at bits 47:32, MSS 23 at bits 63:50 (23 << 18)
    `;
    const v = new DataView(ctx.buffer);
    expect(txDtype(v, 0)).toBe(TxDtype.CONTEXT);
    expect(txCtxTsoLen(v, 0)).toBe(0x175a);
    expect(txCtxMss(v, 0)).toBe(23);
    expect(txCtxL2Tag2(v, 0)).toBe(10);
    // The driver's writer makes the same 16 bytes, and the word readers agree.
    const made = new DataView(new ArrayBuffer(16));
    writeTxContextDescriptor(made, 0, TxCtxCmd.TSO, 0x175a, 23, 10);
    expect(new Uint8Array(made.buffer)).toEqual(ctx);
    expect(txCtxCmd(made, 0)).toBe(TxCtxCmd.TSO);
    expect(txCtxTsoLenOfWords(made.getUint32(8, true), made.getUint32(12, true))).toBe(0x175a);
    const words = new Uint32Array(4).fill(0xffff_ffff);
    writeTxContextWords(words, 0, TxCtxCmd.TSO, 0x175a, 23, 10);
    expect(new Uint8Array(words.buffer)).toEqual(ctx);
  });

  it("packs and unpacks OFFSET's header lengths (MACLEN 2-byte, IPLEN and L4LEN 4-byte units)", () => {
    // Linux iavf for IPv4/TCP behind a VLAN-less Ethernet header: MACLEN 14/2, IPLEN 20/4, L4LEN 32/4.
    const off = txOffsetField(14, 20, 32);
    expect(off).toBe(7 | (5 << 7) | (8 << 14));
    expect([txOffsetMacLen(off), txOffsetIpLen(off), txOffsetL4Len(off)]).toEqual([14, 20, 32]);
    expect([txOffsetMacLen(0x3ffff), txOffsetIpLen(0x3ffff), txOffsetL4Len(0x3ffff)]).toEqual([254, 508, 60]);
    const v = new DataView(new ArrayBuffer(16));
    writeTxDataDescriptor(v, 0, 0x1000, TxCmd.EOP | TxCmd.L4T_TCP | TxCmd.IIPT_IPV4_CSUM, 1514, off);
    expect(txOffsetOfWords(v.getUint32(8, true), v.getUint32(12, true))).toBe(off);
    expect(txOffset(v, 0)).toBe(off);
  });
});

describe("RX descriptor (32 bytes, legacy)", () => {
  // The doc's minimal device write-back (§5.6 [REC]): DD|EOF, ptype 24 (IPv4/UDP), 60 bytes.
  const wb = h`
    0000               # mirroring status
    0000               # l2tag1
    00000000           # rss hash
    03000000           # QW1 31:0: status DD|EOF, errors 0, ptype bits 1:0 (24 & 3 = 0) at bit 30
    060f0000           # QW1 63:32: ptype >> 2 = 6, LENGTH_PBUF 60 at bit 38 (60 << 6 = 0xf00)
    0000000000000000   # QW2
    0000000000000000   # QW3
  `;

  it("writes the device's write-back byte for byte and reads it back", () => {
    const ring = new Uint8Array(2 * RX_DESCRIPTOR_SIZE).fill(0xee);
    const v = new DataView(ring.buffer);
    writeRxWriteback(v, 32, RxStatus.DD | RxStatus.EOF, 0, RxPtype.IPV4_UDP, 60);
    expect(toHex(ring.subarray(32))).toBe(toHex(wb));
    expect(isRxDescriptorDone(v, 32)).toBe(true);
    expect(rxStatus(v, 32)).toBe(3);
    expect(rxPtype(v, 32)).toBe(24);
    expect(rxLength(v, 32)).toBe(60);
    expect(rxErrors(v, 32)).toBe(0);
    expect(toHex(ring.subarray(0, 32))).toBe("ee".repeat(32));
  });

  it("posting a buffer clears QW1, so DD reads 0", () => {
    const d = wb.slice();
    const v = new DataView(d.buffer);
    writeRxReadDescriptor(v, 0, 0xfeed_f000);
    expect(rxPacketAddr(v, 0)).toBe(0xfeed_f000);
    expect(isRxDescriptorDone(v, 0)).toBe(false);
  });

  it("every write-back field round-trips at its bit position", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0x7ffff }),
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0x3fff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (status, errors, ptype, length, tag, hash) => {
          const v = new DataView(new ArrayBuffer(RX_DESCRIPTOR_SIZE));
          writeRxWriteback(v, 0, status, errors, ptype, length, tag, hash);
          expect([
            rxStatus(v, 0),
            rxErrors(v, 0),
            rxPtype(v, 0),
            rxLength(v, 0),
            rxL2Tag1(v, 0),
            rxRssHash(v, 0),
          ]).toEqual([status, errors, ptype, length, tag, hash]);
        },
      ),
    );
  });

  it("a write-back in two passes (body over a posted buffer as words, then the DD word) ends as the one-pass write-back", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0x7ffff }),
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0x3fff }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (status, errors, ptype, length, hash) => {
          const one = new DataView(new ArrayBuffer(RX_DESCRIPTOR_SIZE));
          writeRxWriteback(one, 0, status | RxStatus.DD, errors, ptype, length, 0x123, hash);
          // A ring of two descriptors: garbage in the first (never touched) and in QW2/QW3 of the second, which
          // holds a posted buffer.
          const ring = new Uint32Array(2 * (RX_DESCRIPTOR_SIZE / 4)).fill(0xdead_beef);
          const two = new DataView(ring.buffer, RX_DESCRIPTOR_SIZE);
          writeRxReadDescriptor(two, 0, 0x1234_5678_9000, 0);
          writeRxWritebackBody(ring, 8, ptype, length, 0x123, hash);
          expect(isRxDescriptorDone(two, 0)).toBe(false); // the posted buffer's QW1 (header address 0) is left
          expect(ring.subarray(0, 8)).toEqual(new Uint32Array(8).fill(0xdead_beef));
          two.setUint32(8, rxWritebackWord(status | RxStatus.DD, errors, ptype), true);
          expect(new Uint8Array(ring.buffer, RX_DESCRIPTOR_SIZE)).toEqual(new Uint8Array(one.buffer));
        },
      ),
    );
  });
});

describe("descriptors as words (the burst paths' form)", () => {
  it("LITTLE_ENDIAN_HOST says what the OS says", () => {
    expect(LITTLE_ENDIAN_HOST).toBe(endianness() === "LE");
  });

  const addr = fc.oneof(
    fc.constantFrom(0, 0xffff_ffff, 0x1_0000_0000, 2 ** 53 - 1),
    fc.integer({ min: 0, max: 2 ** 53 - 1 }),
  );

  it("writeTxDataWords writes the bytes writeTxDataDescriptor does; isTxDoneWord reads DESC_DONE", () => {
    fc.assert(
      fc.property(
        addr,
        fc.integer({ min: 0, max: 0x3ff }),
        fc.integer({ min: 0, max: 0x3fff }),
        fc.integer({ min: 0, max: 0x3ffff }),
        fc.integer({ min: 0, max: 0xffff }),
        (a, cmd, size, offset, tag) => {
          const v = new DataView(new ArrayBuffer(TX_DESCRIPTOR_SIZE));
          writeTxDataDescriptor(v, 0, a, cmd, size, offset, tag);
          const w = new Uint32Array(2 * (TX_DESCRIPTOR_SIZE / 4)).fill(0xdead_beef);
          writeTxDataWords(w, 4, a, cmd, size, offset, tag);
          expect(new Uint8Array(w.buffer, TX_DESCRIPTOR_SIZE)).toEqual(new Uint8Array(v.buffer));
          expect(w.subarray(0, 4)).toEqual(new Uint32Array(4).fill(0xdead_beef));
          expect(isTxDoneWord(w[6]!)).toBe(false);
          writeTxDescriptorDone(new DataView(w.buffer), TX_DESCRIPTOR_SIZE);
          expect(isTxDoneWord(w[6]!)).toBe(true);
        },
      ),
    );
  });

  it("writeRxReadWords writes the bytes writeRxReadDescriptor does; rxWords reads a write-back's fields", () => {
    fc.assert(
      fc.property(
        addr,
        addr,
        fc.integer({ min: 0, max: 0x7ffff }),
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0x3fff }),
        (pkt, hdr, status, errors, ptype, length) => {
          const v = new DataView(new ArrayBuffer(RX_DESCRIPTOR_SIZE));
          writeRxReadDescriptor(v, 0, pkt, hdr);
          const w = new Uint32Array(RX_DESCRIPTOR_SIZE / 4);
          writeRxReadWords(w, 0, pkt, hdr);
          expect(new Uint8Array(w.buffer, 0, 16)).toEqual(new Uint8Array(v.buffer, 0, 16));
          writeRxWriteback(v, 0, status, errors, ptype, length);
          const lo = v.getUint32(8, true);
          const hi = v.getUint32(12, true);
          expect(rxWords.done(lo)).toBe((status & RxStatus.DD) !== 0);
          expect(rxWords.status(lo)).toBe(status);
          expect(rxWords.errors(lo)).toBe(errors);
          expect(rxWords.ptype(lo, hi)).toBe(ptype);
          expect(rxWords.length(hi)).toBe(length);
        },
      ),
    );
  });
});
