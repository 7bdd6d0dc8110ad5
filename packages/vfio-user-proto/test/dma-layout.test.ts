// DMA_READ / DMA_WRITE in QEMU's layout, against frames written by hand from QEMU's sources (hw/vfio-user/protocol.h:
// `VFIOUserDMARW` = header, u64 offset, u32 count, char data[] — data at message offset 28, sizeof 32 with the
// struct's tail padding; hw/vfio-user/pci.c: vfio_user_dma_read replies with count + sizeof bytes, vfio_user_dma_write
// takes the data from offset 28, needs count <= msg_size − sizeof and replies with the bare header).
import {
  type DmaMessageLayout,
  decodeDmaReadReply,
  decodeDmaReadRequest,
  decodeDmaWriteReply,
  decodeDmaWriteRequest,
  decodeMessage,
  encodeDmaReadReply,
  encodeDmaReadRequest,
  encodeDmaWriteReply,
  encodeDmaWriteRequest,
  encodeMessage,
  HEADER_SIZE,
  isProtoError,
} from "@emu/vfio-user-proto";
import {
  appendDmaReadReply,
  appendDmaReadRequest,
  appendDmaWriteReply,
  appendDmaWriteRequest,
  type DmaAccessHead,
  DmaAccessLayout,
  dmaAccessFrameSize,
  FrameArena,
  readDmaAccessAt,
} from "@emu/vfio-user-proto/wire";
import { describe, expect, it } from "vitest";
import { concat, cut, h, parseChunks, toHex } from "./helpers.js";

const b = (...xs: number[]) => Uint8Array.from(xs);
const payloadOf = (frame: Uint8Array) => frame.subarray(HEADER_SIZE);
const qemu = { layout: "qemu" } as const;

const READ_REQUEST = h`
  2a00 0b00 20000000   # msg_id 42, DMA_READ, msg_size 32 (QEMU refuses less than sizeof(VFIOUserDMARW))
  00000000 00000000    # command
  0000100000000000     # address 0x100000
  05000000             # count 5 (u32)
  00000000             # the struct's tail padding
`;
const READ_REPLY = h`
  2a00 0b00 25000000   # msg_id 42, DMA_READ, msg_size 37 = count + 32
  01000000 00000000    # reply
  0000100000000000     # address, echoed
  05000000             # count 5 (u32), echoed
  a1a2a3a4a5           # data at payload offset 12 (message offset 28)
  00000000             # 4 zero bytes: QEMU's reply buffer is count + sizeof, zero-filled
`;
const WRITE_REQUEST = h`
  2b00 0c00 23000000   # msg_id 43, DMA_WRITE, msg_size 35 = count + 32
  00000000 00000000    # command
  1000100000000000     # address 0x100010
  03000000             # count 3 (u32)
  b1b2b3               # data at payload offset 12
  00000000             # tail: without it QEMU answers E2BIG (count > msg_size − 32)
`;
const WRITE_REPLY = h`
  2b00 0c00 10000000   # msg_id 43, DMA_WRITE, msg_size 16: the bare header
  01000000 00000000    # reply
`;

function reasonOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (isProtoError(e)) return e.reason;
    throw e;
  }
  return undefined;
}

describe("the layout table", () => {
  it("is consistent: fields in order, data right after count, the same frame sizes in both layouts", () => {
    for (const name of ["spec", "qemu"] as DmaMessageLayout[]) {
      const L = DmaAccessLayout[name];
      expect(L.ADDRESS).toBe(0);
      expect(L.COUNT).toBe(8);
      expect(L.DATA).toBe(L.COUNT + L.COUNT_SIZE);
      // header + 16 + data, as sizeof(VFIOUserDMARW) + count in QEMU
      expect(L.DATA + L.TAIL).toBe(16);
      expect(dmaAccessFrameSize(5, name)).toBe(37);
    }
    expect(DmaAccessLayout.qemu).toMatchObject({ COUNT_SIZE: 4, DATA: 12, TAIL: 4, WRITE_REPLY_HEAD: false });
    expect(DmaAccessLayout.spec).toMatchObject({ COUNT_SIZE: 8, DATA: 16, TAIL: 0, WRITE_REPLY_HEAD: true });
  });
});

describe("QEMU's layout", () => {
  it("decodes the hand-written payloads", () => {
    expect(decodeDmaReadRequest(payloadOf(READ_REQUEST), qemu)).toStrictEqual({
      kind: "DmaReadRequest",
      address: 0x100000n,
      count: 5n,
    });
    expect(decodeDmaReadReply(payloadOf(READ_REPLY), qemu)).toStrictEqual({
      kind: "DmaReadReply",
      address: 0x100000n,
      data: b(0xa1, 0xa2, 0xa3, 0xa4, 0xa5),
    });
    expect(decodeDmaWriteRequest(payloadOf(WRITE_REQUEST), qemu)).toStrictEqual({
      kind: "DmaWriteRequest",
      address: 0x100010n,
      data: b(0xb1, 0xb2, 0xb3),
    });
    expect(decodeDmaWriteReply(payloadOf(WRITE_REPLY), qemu)).toStrictEqual({
      kind: "DmaWriteReply",
      address: 0n,
      count: 0n,
      bare: true,
    });
  });

  it("encodes to the hand-written payloads", () => {
    const hex = (u: Uint8Array) => toHex(u);
    expect(hex(encodeDmaReadRequest({ address: 0x100000n, count: 5n }, qemu))).toBe(hex(payloadOf(READ_REQUEST)));
    expect(hex(encodeDmaReadReply({ address: 0x100000n, data: b(0xa1, 0xa2, 0xa3, 0xa4, 0xa5) }, qemu))).toBe(
      hex(payloadOf(READ_REPLY)),
    );
    expect(hex(encodeDmaWriteRequest({ address: 0x100010n, data: b(0xb1, 0xb2, 0xb3) }, qemu))).toBe(
      hex(payloadOf(WRITE_REQUEST)),
    );
    expect(encodeDmaWriteReply({ address: 0x100010n, count: 3n }, qemu)).toEqual(new Uint8Array(0));
  });

  it("the arena writers give the hand-written frames, tails zeroed in a reused buffer", () => {
    const a = new FrameArena(64);
    a.reserve(200);
    a.bytes.fill(0xee);
    a.take(); // the buffer is reused dirty
    appendDmaReadRequest(a, 42, 0x100000, 5, 0, "qemu");
    appendDmaReadReply(a, 42, 0x100000n, b(0xa1, 0xa2, 0xa3, 0xa4, 0xa5), "qemu");
    appendDmaWriteRequest(a, 43, 0x100010, b(0xb1, 0xb2, 0xb3), 0, "qemu");
    appendDmaWriteReply(a, 43, 0x100010, 3, "qemu");
    expect(toHex(a.take())).toBe(toHex(concat([READ_REQUEST, READ_REPLY, WRITE_REQUEST, WRITE_REPLY])));
  });

  it("readDmaAccessAt reads QEMU's u32 count (the spec layout would read the data into it)", () => {
    const view = new DataView(READ_REPLY.buffer, READ_REPLY.byteOffset, READ_REPLY.byteLength);
    const out: DmaAccessHead = { address: 0, count: 0 };
    readDmaAccessAt(view, 0, out, "qemu");
    expect(out).toStrictEqual({ address: 0x100000, count: 5 });
    readDmaAccessAt(view, 0, out);
    expect(out.count).toBe(0xa4a3a2a1 * 2 ** 32 + 5);
  });

  it("a DMA_READ request is the same bytes in both layouts", () => {
    const m = { address: 0x100000n, count: 5n };
    expect(toHex(encodeDmaReadRequest(m))).toBe(toHex(encodeDmaReadRequest(m, qemu)));
    expect(toHex(encodeMessage({ kind: "DmaReadRequest", ...m }, { msgId: 42 }))).toBe(toHex(READ_REQUEST));
  });

  it("refuses what QEMU's struct cannot carry or what does not add up, with tagged errors", () => {
    expect(reasonOf(() => encodeDmaReadRequest({ address: 0n, count: 1n << 32n }, qemu))).toBe("OutOfRange");
    // A reply without the 4 tail bytes is accepted too; other sizes are not.
    const noTail = payloadOf(READ_REPLY).subarray(0, 12 + 5);
    expect(decodeDmaReadReply(noTail, qemu).data).toEqual(b(0xa1, 0xa2, 0xa3, 0xa4, 0xa5));
    expect(reasonOf(() => decodeDmaReadReply(payloadOf(READ_REPLY).subarray(0, 12 + 4), qemu))).toBe("CountMismatch");
    expect(reasonOf(() => decodeDmaWriteRequest(concat([payloadOf(WRITE_REQUEST), b(0)]), qemu))).toBe("CountMismatch");
    expect(reasonOf(() => decodeDmaReadRequest(payloadOf(READ_REQUEST).subarray(0, 12), qemu))).toBe("Truncated");
    // QEMU's DMA_WRITE reply is the bare header: a payload there is not QEMU's.
    expect(reasonOf(() => decodeDmaWriteReply(new Uint8Array(16), qemu))).toBe("BadSize");
    // Read with the spec layout, QEMU's frames are errors…
    expect(reasonOf(() => decodeDmaReadReply(payloadOf(READ_REPLY)))).toBe("CountMismatch");
    expect(reasonOf(() => decodeDmaWriteRequest(payloadOf(WRITE_REQUEST)))).toBe("CountMismatch");
    // …unless the data starts with 4 zero bytes: then the wrong layout "succeeds" with the data shifted by 4.
    const zeros = encodeDmaReadReply({ address: 0x100000n, data: b(0, 0, 0, 0, 0xc5, 0xc6) }, qemu);
    expect(decodeDmaReadReply(zeros).data).toEqual(b(0xc5, 0xc6, 0, 0, 0, 0));
    expect(decodeDmaReadReply(zeros, qemu).data).toEqual(b(0, 0, 0, 0, 0xc5, 0xc6));
  });

  it("the frames pass the frame parser whole, split at every offset, byte by byte", () => {
    const stream = concat([READ_REQUEST, READ_REPLY, WRITE_REQUEST, WRITE_REPLY]);
    const expected = [READ_REQUEST, READ_REPLY, WRITE_REQUEST, WRITE_REPLY].map(toHex);
    const check = (frames: ReturnType<typeof parseChunks>) =>
      expect(frames.map((f) => toHex(f.bytes))).toEqual(expected);
    check(parseChunks([{ bytes: stream }]));
    for (let k = 1; k < stream.length; k++) check(parseChunks(cut(stream, [k]).map((bytes) => ({ bytes }))));
    check(parseChunks(Array.from(stream, (_, i) => ({ bytes: stream.subarray(i, i + 1) }))));
  });
});

describe("the spec layout's DMA_WRITE reply as a bare header", () => {
  it("decodeMessage gives bare: true (QEMU's reply, judged by the receiver); encoding bare writes the header only", () => {
    const r = decodeMessage(WRITE_REPLY);
    if (!r.ok) throw r.error;
    expect(r.value.message).toStrictEqual({ kind: "DmaWriteReply", address: 0n, count: 0n, bare: true });
    expect(toHex(encodeMessage(r.value.message, { msgId: 43 }))).toBe(toHex(WRITE_REPLY));
  });
});
