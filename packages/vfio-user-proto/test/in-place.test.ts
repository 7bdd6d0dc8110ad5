// The zero-allocation fast paths (in-place readers, arena writers, in-place framing) against hand-written frames, and
// against the golden vectors of the regular codec: a fast path must give exactly the regular codec's bytes.
import { decodeMessage, FrameParser, HeaderFlags, isProtoError } from "@emu/vfio-user-proto";
import {
  appendDmaReadReply,
  appendDmaReadReplyHead,
  appendDmaReadRequest,
  appendDmaWriteReply,
  appendDmaWriteRequest,
  appendRegionReadReply,
  appendRegionReadReplyFrom,
  appendRegionReadRequest,
  appendRegionWriteReply,
  appendRegionWriteRequest,
  copyBytes,
  type DmaAccessHead,
  DmaAccessLayout,
  FrameArena,
  frameAt,
  type MutableHeader,
  msgSizeAt,
  type RegionAccessHead,
  readDmaAccessAt,
  readHeaderAt,
  readRegionAccessAt,
  writeHeaderAt,
} from "@emu/vfio-user-proto/wire";
import { describe, expect, it } from "vitest";
import { concat, h, toHex } from "./helpers.js";
import { vectors } from "./vectors.js";

const b = (...xs: number[]) => Uint8Array.from(xs);
const viewOf = (u: Uint8Array) => new DataView(u.buffer, u.byteOffset, u.byteLength);
/** `frame` at offset 5 of a larger buffer that is itself a view at offset 3 (socket chunks are views). */
function embedded(frame: Uint8Array): { chunk: Uint8Array; at: number } {
  const backing = new Uint8Array(3 + 5 + frame.length + 7).fill(0xee);
  backing.set(frame, 3 + 5);
  return { chunk: backing.subarray(3), at: 5 };
}
const header = (): MutableHeader => ({ msgId: 0, command: 0, msgSize: 0, flags: 0, error: 0 });

// REGION_WRITE request, NO_REPLY, offset above 4 GiB (the high word matters), region 2, 3 data bytes.
const WRITE_HIGH = h`
  3412 0a00 23000000   # msg_id 0x1234, cmd 10, msg_size 35
  10000000             # flags NO_REPLY
  00000000             # error
  1000000001000000     # offset 0x1_0000_0010
  02000000             # region 2
  03000000             # count 3
  a1a2a3               # data
`;

describe("header in place", () => {
  it("readHeaderAt / msgSizeAt read every field at an offset of a view", () => {
    const { chunk, at } = embedded(WRITE_HIGH);
    const out = header();
    readHeaderAt(viewOf(chunk), at, out);
    expect(out).toStrictEqual({ msgId: 0x1234, command: 10, msgSize: 35, flags: 0x10, error: 0 });
    expect(msgSizeAt(viewOf(chunk), at)).toBe(35);
  });

  it("readHeaderAt reads error and large u32 values", () => {
    const bytes = h`
      ffff 0c00 ffffffff   # msg_id 0xffff, cmd 12, msg_size 2^32-1
      21000000             # flags: reply | ERROR
      16000000             # error 22
    `;
    const out = header();
    readHeaderAt(viewOf(bytes), 0, out);
    expect(out).toStrictEqual({ msgId: 0xffff, command: 12, msgSize: 0xffffffff, flags: 0x21, error: 22 });
  });

  it("writeHeaderAt writes the hand-written bytes at an offset, nothing else", () => {
    const buf = new Uint8Array(20).fill(0xee);
    writeHeaderAt(new DataView(buf.buffer), 2, 0x1234, 10, 35, 0x10, 22);
    expect(toHex(buf)).toBe(
      toHex(h`
        eeee
        3412 0a00 23000000 10000000 16000000
        eeee
      `),
    );
  });
});

describe("REGION_READ / REGION_WRITE in place", () => {
  it("readRegionAccessAt: offset (both words), region, count", () => {
    const { chunk, at } = embedded(WRITE_HIGH);
    const out: RegionAccessHead = { offset: -1, region: -1, count: -1 };
    readRegionAccessAt(viewOf(chunk), at, out);
    expect(out).toStrictEqual({ offset: 0x1_0000_0010, region: 2, count: 3 });
  });

  it("readRegionAccessAt: an offset above 2^53 reads as a number above MAX_SAFE_INTEGER", () => {
    const bytes = h`
      0100 0900 20000000 00000000 00000000
      ffffffffffffffff     # offset 2^64-1
      00000000 04000000
    `;
    const out: RegionAccessHead = { offset: 0, region: 0, count: 0 };
    readRegionAccessAt(viewOf(bytes), 0, out);
    expect(out.offset).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    const edge = h`
      0100 0900 20000000 00000000 00000000
      ffffffffffff1f00     # offset 2^53-1: exact
      00000000 04000000
    `;
    readRegionAccessAt(viewOf(edge), 0, out);
    expect(out.offset).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("appendRegionWriteRequest gives the hand-written frame (bigint or number offset)", () => {
    for (const offset of [0x1_0000_0010n, 0x1_0000_0010]) {
      const a = new FrameArena();
      appendRegionWriteRequest(a, 0x1234, offset, 2, b(0xa1, 0xa2, 0xa3), HeaderFlags.NO_REPLY);
      expect(toHex(a.take())).toBe(toHex(WRITE_HIGH));
    }
  });

  it("appendRegionReadRequest / Reply / WriteReply give the hand-written frames, back to back", () => {
    const a = new FrameArena();
    appendRegionReadRequest(a, 7, 0x2_0000_0004, 5, 8);
    appendRegionReadReply(a, 7, 0x2_0000_0004, 5, b(1, 2, 3, 4, 5, 6, 7, 8));
    appendRegionWriteReply(a, 8, 0x40n, 0, 2);
    expect(toHex(a.take())).toBe(
      toHex(h`
        0700 0900 20000000   # msg_id 7, REGION_READ, 32
        00000000 00000000    # command
        0400000002000000     # offset 0x2_0000_0004
        05000000 08000000    # region 5, count 8

        0700 0900 28000000   # msg_id 7, REGION_READ, 40
        01000000 00000000    # reply
        0400000002000000     # offset 0x2_0000_0004
        05000000 08000000    # region 5, count 8
        0102030405060708     # data

        0800 0a00 20000000   # msg_id 8, REGION_WRITE, 32
        01000000 00000000    # reply
        4000000000000000     # offset 0x40
        00000000 02000000    # region 0, count 2
      `),
    );
  });

  it("give the golden vectors' bytes (the regular codec's frames)", () => {
    let n = 0;
    for (const v of vectors) {
      const m = v.message;
      const a = new FrameArena();
      if (m.kind === "RegionReadRequest") appendRegionReadRequest(a, v.msgId, m.offset, m.region, m.count, v.flags);
      else if (m.kind === "RegionReadReply" && m.bare !== true)
        appendRegionReadReply(a, v.msgId, m.offset, m.region, m.data);
      else if (m.kind === "RegionWriteRequest")
        appendRegionWriteRequest(a, v.msgId, m.offset, m.region, m.data, v.flags);
      else if (m.kind === "RegionWriteReply" && m.bare !== true)
        appendRegionWriteReply(a, v.msgId, m.offset, m.region, m.count);
      else continue;
      expect(toHex(a.take()), v.name).toBe(toHex(v.bytes));
      n++;
    }
    expect(n).toBe(4);
  });

  it("appendRegionReadReplyFrom gives appendRegionReadReply's frame, from any part of a backing array", () => {
    const backing = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    for (const [from, count] of [
      [0, 4],
      [13, 1],
      [100, 32],
      [64, 33],
      [10, 200],
      [299, 0],
    ] as const) {
      const a = new FrameArena(64);
      const b2 = new FrameArena(64);
      a.append(WRITE_HIGH); // not at the arena's start
      b2.append(WRITE_HIGH);
      appendRegionReadReplyFrom(a, 9, from, 7, backing, from, count);
      appendRegionReadReply(b2, 9, from, 7, backing.slice(from, from + count));
      expect(toHex(a.take()), `${from}+${count}`).toBe(toHex(b2.take()));
    }
  });
});

describe("DMA_READ / DMA_WRITE in place", () => {
  const READ_REPLY = h`
    0900 0b00 24000000   # msg_id 9, DMA_READ, msg_size 36
    01000000 00000000    # reply
    00f0ffff03000000     # address 0x3_ffff_f000
    0400000000000000     # count 4 (u64)
    c0c1c2c3             # data
  `;

  it("readDmaAccessAt: address and count as numbers", () => {
    const { chunk, at } = embedded(READ_REPLY);
    const out: DmaAccessHead = { address: 0, count: 0 };
    readDmaAccessAt(viewOf(chunk), at, out);
    expect(out).toStrictEqual({ address: 0x3_ffff_f000, count: 4 });
  });

  it("appendDmaReadReplyHead, then the data (and QEMU's tail), gives appendDmaReadReply's frame", () => {
    const data = b(0xc0, 0xc1, 0xc2, 0xc3, 0xc4);
    for (const layout of ["spec", "qemu"] as const) {
      const whole = new FrameArena();
      appendDmaReadReply(whole, 9, 0x3_ffff_f000n, data, layout);
      const head = new FrameArena();
      appendDmaReadReplyHead(head, 9, 0x3_ffff_f000n, data.length, layout);
      const tail = new Uint8Array(DmaAccessLayout[layout].TAIL);
      expect(toHex(concat([head.take(), data, tail]))).toBe(toHex(whole.take()));
    }
  });

  it("appendDmaReadReply / Request, appendDmaWriteRequest / Reply give the hand-written frames", () => {
    const a = new FrameArena();
    appendDmaReadReply(a, 9, 0x3_ffff_f000n, b(0xc0, 0xc1, 0xc2, 0xc3));
    appendDmaReadRequest(a, 10, 0x3_ffff_f000, 4);
    appendDmaWriteRequest(a, 11, 0x1000, b(0xd0, 0xd1), HeaderFlags.NO_REPLY);
    appendDmaWriteReply(a, 11, 0x1000n, 2n);
    expect(toHex(a.take())).toBe(
      toHex(
        concat([
          READ_REPLY,
          h`
            0a00 0b00 20000000   # msg_id 10, DMA_READ, 32
            00000000 00000000    # command
            00f0ffff03000000     # address
            0400000000000000     # count 4

            0b00 0c00 22000000   # msg_id 11, DMA_WRITE, 34
            10000000 00000000    # command, NO_REPLY
            0010000000000000     # address 0x1000
            0200000000000000     # count 2
            d0d1                 # data

            0b00 0c00 20000000   # msg_id 11, DMA_WRITE, 32
            01000000 00000000    # reply
            0010000000000000     # address 0x1000
            0200000000000000     # count 2 (u64)
          `,
        ]),
      ),
    );
  });

  it("give the golden vectors' bytes (the regular codec's frames)", () => {
    let n = 0;
    for (const v of vectors) {
      const m = v.message;
      const a = new FrameArena();
      if (m.kind === "DmaReadRequest") appendDmaReadRequest(a, v.msgId, m.address, m.count);
      else if (m.kind === "DmaReadReply") appendDmaReadReply(a, v.msgId, m.address, m.data);
      else if (m.kind === "DmaWriteRequest") appendDmaWriteRequest(a, v.msgId, m.address, m.data);
      else if (m.kind === "DmaWriteReply" && m.count32 !== true) appendDmaWriteReply(a, v.msgId, m.address, m.count);
      else continue;
      expect(toHex(a.take()), v.name).toBe(toHex(v.bytes));
      n++;
    }
    expect(n).toBe(4);
  });
});

describe("FrameArena", () => {
  it("grows keeping what was written; take() empties it", () => {
    const a = new FrameArena(64);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) {
      const before = a.bytes;
      appendRegionReadReply(a, i, i, 0, new Uint8Array(i).fill(i));
      frames.push(a.bytes.slice(a.length - (32 + i), a.length));
      if (a.bytes !== before) expect(a.view.buffer).toBe(a.bytes.buffer);
    }
    const all = a.take();
    expect(a.length).toBe(0);
    expect(toHex(all)).toBe(toHex(concat(frames)));
    // every frame decodes as what was appended
    let at = 0;
    for (let i = 0; i < 20; i++) {
      const r = decodeMessage(all.subarray(at, at + 32 + i));
      if (!r.ok) throw r.error;
      expect(r.value.message).toStrictEqual({
        kind: "RegionReadReply",
        offset: BigInt(i),
        region: 0,
        data: new Uint8Array(i).fill(i),
      });
      at += 32 + i;
    }
  });

  it("clear() empties it as take() does, without a view; copyIn copies short and long runs", () => {
    const a = new FrameArena(64);
    a.append(new Uint8Array(64 * 17).fill(1));
    a.clear();
    expect([a.length, a.bytes.length]).toEqual([0, 64]);
    const src = Uint8Array.from({ length: 100 }, (_, i) => i + 1);
    const at = a.reserve(80);
    a.copyIn(at, src, 3, 5); // short: byte by byte
    a.copyIn(at + 5, src, 50, 40); // long: one set()
    expect([...a.bytes.subarray(0, 45)]).toEqual([...src.subarray(3, 8), ...src.subarray(50, 90)]);
    expect(a.bytes[45]).toBe(0);
  });

  it("copyBytes: bytes of their own, short runs and long ones", () => {
    const src = Uint8Array.from({ length: 200 }, (_, i) => i);
    for (const [from, count] of [
      [3, 4],
      [0, 0],
      [100, 64],
      [10, 100],
    ] as const) {
      const c = copyBytes(src, from, count);
      expect([c.byteOffset, c.buffer.byteLength, ...c]).toEqual([0, count, ...src.subarray(from, from + count)]);
    }
  });

  it("append copies a frame; a buffer grown past 16 × its start is dropped by take()", () => {
    const a = new FrameArena(64);
    a.append(WRITE_HIGH);
    expect(toHex(a.take())).toBe(toHex(WRITE_HIGH));
    a.append(new Uint8Array(64 * 17));
    expect(a.bytes.length).toBeGreaterThan(64 * 16);
    expect(a.take().length).toBe(64 * 17);
    expect(a.bytes.length).toBe(64);
  });
});

describe("FrameParser.inPlaceLength and frameAt", () => {
  const r1 = h`0100 0900 20000000 00000000 00000000 1000000000000000 02000000 04000000`;
  const r2 = WRITE_HIGH;

  it("a chunk of whole frames is read in place to its end; frameAt gives the parser's frames", () => {
    const { chunk, at } = embedded(concat([r1, r2]));
    const c = chunk.subarray(at, at + r1.length + r2.length);
    const p = new FrameParser();
    expect(p.inPlaceLength(c)).toBe(r1.length + r2.length);
    const f1 = frameAt(c, 0);
    const f2 = frameAt(c, r1.length);
    expect(f1.header).toStrictEqual({ msgId: 1, command: 9, msgSize: 32, flags: 0, error: 0 });
    expect(toHex(f1.bytes)).toBe(toHex(r1));
    expect(toHex(f2.payload)).toBe(toHex(r2.subarray(16)));
    expect(f2.fds).toEqual([]);
    // the same frames the regular way
    p.push(c);
    const g1 = p.next();
    const g2 = p.next();
    expect(g1).toStrictEqual(f1);
    expect(g2).toStrictEqual(f2);
  });

  it("stops before a partial frame; the rest pushed completes it with the next chunk", () => {
    const stream = concat([r1, r2]);
    const p = new FrameParser();
    const first = stream.subarray(0, 40);
    expect(p.inPlaceLength(first)).toBe(32);
    p.push(first.subarray(32));
    expect(p.inPlaceLength(stream.subarray(40))).toBe(0); // the parser holds bytes now
    p.push(stream.subarray(40));
    expect(toHex(p.next()?.bytes ?? new Uint8Array(0))).toBe(toHex(r2));
    expect(p.next()).toBeUndefined();
    expect(p.inPlaceLength(r1)).toBe(32); // empty again
  });

  it("is 0 when fds came with the chunk, or the parser holds fds, bytes or an error", () => {
    expect(new FrameParser().inPlaceLength(r1, [5])).toBe(0);
    expect(new FrameParser().inPlaceLength(r1, [])).toBe(32);
    expect(new FrameParser().inPlaceLength(r1.subarray(0, 15))).toBe(0);
    const withFds = new FrameParser();
    withFds.push(new Uint8Array(0), [9]); // fds for the frame that comes next
    expect(withFds.inPlaceLength(r1)).toBe(0);
    expect(withFds.takeFds()).toEqual([9]);
    const failed = new FrameParser();
    failed.push(h`0100 0900 08000000 00000000 00000000`); // msg_size 8 < 16
    expect(() => failed.next()).toThrow();
    expect(failed.inPlaceLength(r1)).toBe(0);
  });

  it("inPlaceEnd reads a chunk at [start, end) of a view over a larger buffer (a receive pool)", () => {
    const pool = new Uint8Array(200).fill(0xee);
    pool.set(concat([r1, r2, r1.subarray(0, 20)]), 40); // two whole frames, then a partial one
    const view = new DataView(pool.buffer);
    const end = 40 + r1.length + r2.length + 20;
    const p = new FrameParser();
    expect(p.inPlaceEnd(view, 40, end)).toBe(40 + r1.length + r2.length);
    expect(p.inPlaceEnd(view, 40, 40 + 31)).toBe(40); // not even one whole frame
    expect(p.inPlaceEnd(view, 40, end, [3])).toBe(40); // fds came with it
    p.push(pool.subarray(end - 20, end));
    expect(p.inPlaceEnd(view, 40, end)).toBe(40); // the parser holds bytes
  });

  it("stops before a frame with a bad size: pushed, it fails the parser as usual", () => {
    const tooSmall = h`0200 0d00 0c000000 00000000 00000000`; // msg_size 12
    const p = new FrameParser();
    const chunk = concat([r1, tooSmall]);
    expect(p.inPlaceLength(chunk)).toBe(32);
    p.push(chunk.subarray(32));
    let err: unknown;
    try {
      p.next();
    } catch (e) {
      err = e;
    }
    expect(isProtoError(err) && err.reason).toBe("BadHeader");

    const q = new FrameParser({ maxMessageSize: 34 });
    const big = concat([r1, r2]); // r2 is 35 bytes
    expect(q.inPlaceLength(big)).toBe(32);
    q.push(big.subarray(32));
    try {
      q.next();
    } catch (e) {
      err = e;
    }
    expect(isProtoError(err) && err.reason).toBe("TooLarge");
  });
});
