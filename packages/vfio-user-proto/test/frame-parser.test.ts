import {
  DEFAULT_MAX_MESSAGE_SIZE,
  encodeMessage,
  FrameParser,
  isProtoError,
  maxMessageSizeFor,
  type ProtoError,
} from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { concat, h } from "./helpers.js";

const reset = (msgId: number) => encodeMessage({ kind: "DeviceResetRequest" }, { msgId });
const write = (msgId: number, n: number) =>
  encodeMessage({ kind: "RegionWriteRequest", offset: 0n, region: 0, data: new Uint8Array(n).fill(msgId) }, { msgId });

function pullAll(p: FrameParser) {
  const out = [];
  for (let f = p.next(); f !== undefined; f = p.next()) out.push(f);
  return out;
}

function caught(fn: () => unknown): ProtoError {
  try {
    fn();
  } catch (e) {
    if (isProtoError(e)) return e;
    throw e;
  }
  throw new Error("did not throw");
}

describe("FrameParser: file descriptors", () => {
  it("fds go to the LAST frame that starts within their chunk", () => {
    const a = write(1, 8); // 32 bytes
    const b = write(2, 8);
    const c = write(3, 8);
    const p = new FrameParser();
    p.push(concat([a.subarray(0, 20)]));
    // this chunk ends frame a, holds all of b and the start of c: c is the last frame starting in it
    p.push(concat([a.subarray(20), b, c.subarray(0, 4)]), [7, 8]);
    p.push(c.subarray(4));
    const frames = pullAll(p);
    expect(frames.map((f) => f.header.msgId)).toEqual([1, 2, 3]);
    expect(frames.map((f) => [...f.fds])).toEqual([[], [], [7, 8]]);
  });

  it("if no frame starts in the chunk, its fds go to the frame in progress", () => {
    const a = write(1, 64);
    const p = new FrameParser();
    p.push(a.subarray(0, 10));
    p.push(a.subarray(10, 50), [5]); // a continues, nothing starts here
    p.push(a.subarray(50), [6]); // still a
    const [f] = pullAll(p);
    expect([...f!.fds]).toEqual([5, 6]);
  });

  it("an empty chunk with fds belongs to the frame the next byte belongs to", () => {
    const a = reset(1);
    const b = reset(2);
    const p = new FrameParser();
    p.push(a);
    p.push(new Uint8Array(0), [9]); // between frames: b's
    p.push(b);
    expect(pullAll(p).map((f) => [...f.fds])).toEqual([[], [9]]);
    const q = new FrameParser();
    q.push(a.subarray(0, 5));
    q.push(new Uint8Array(0), [10]); // inside a
    q.push(a.subarray(5));
    expect(pullAll(q).map((f) => [...f.fds])).toEqual([[10]]);
  });

  it("fds of a frame are handed out once; frames without fds get an empty array", () => {
    const p = new FrameParser();
    p.push(reset(1), [3]);
    p.push(reset(2));
    const [f1, f2] = pullAll(p);
    expect([...f1!.fds]).toEqual([3]);
    expect(f2!.fds).toEqual([]);
    expect(p.heldFdCount).toBe(0);
    expect(p.takeFds()).toEqual([]);
  });

  it("takeFds returns the fds of an incomplete frame (close without leaking)", () => {
    const p = new FrameParser();
    p.push(write(1, 100).subarray(0, 30), [11, 12]);
    expect(p.next()).toBeUndefined();
    expect(p.heldFdCount).toBe(2);
    expect(p.takeFds()).toEqual([11, 12]);
    expect(p.heldFdCount).toBe(0);
  });
});

describe("FrameParser: framing errors are terminal", () => {
  const bad = h`
    0100 0d00            # msg_id 1, cmd DEVICE_RESET
    08000000             # msg_size 8 (< 16)
    00000000 00000000
  `;

  it("msg_size below 16 → BadHeader, after delivering the frames before it", () => {
    const p = new FrameParser();
    expect(p.push(concat([reset(1), bad]), [4])).toBeUndefined();
    const first = p.next();
    expect(first?.header.msgId).toBe(1);
    const e = caught(() => p.next());
    expect(e.reason).toBe("BadHeader");
    expect(p.error).toBe(e);
    expect(caught(() => p.next())).toBe(e); // every later pull
    expect(p.push(reset(2), [5])).toBe(e); // every later push
    expect(p.drain(() => {})).toBe(e);
    // fds of the chunk holding the bad header (it was the last frame starting there) and those pushed later
    expect(p.takeFds()).toEqual([4, 5]);
  });

  it("msg_size above the maximum → TooLarge as soon as the header is in", () => {
    const p = new FrameParser({ maxMessageSize: 64 });
    const big = write(1, 100);
    p.push(big.subarray(0, 16), [1]);
    const e = caught(() => p.next());
    expect(e.reason).toBe("TooLarge");
    expect(e.command).toBe(10);
    expect(p.takeFds()).toEqual([1]);
  });

  it("the maximum is settable after VERSION", () => {
    const p = new FrameParser();
    expect(p.maxMessageSize).toBe(DEFAULT_MAX_MESSAGE_SIZE);
    expect(DEFAULT_MAX_MESSAGE_SIZE).toBe(1048576 + 32);
    p.maxMessageSize = maxMessageSizeFor(1024);
    expect(p.maxMessageSize).toBe(1024 + 32);
    p.push(write(1, 1024)); // 16 + 16 + 1024: fits exactly
    expect(p.next()?.bytes.length).toBe(1056);
    p.push(write(2, 1025));
    expect(caught(() => p.next()).reason).toBe("TooLarge");
    expect(caught(() => new FrameParser({ maxMessageSize: 8 })).reason).toBe("OutOfRange");
  });

  it("drain() delivers what precedes the error and returns the error", () => {
    const p = new FrameParser();
    p.push(concat([reset(1), reset(2), bad]));
    const ids: number[] = [];
    const e = p.drain((f) => ids.push(f.header.msgId));
    expect(ids).toEqual([1, 2]);
    expect(e?.reason).toBe("BadHeader");
  });

  it("errors thrown by the drain callback propagate untouched", () => {
    const p = new FrameParser();
    p.push(reset(1));
    expect(() =>
      p.drain(() => {
        throw new TypeError("mine");
      }),
    ).toThrow(TypeError);
    expect(p.error).toBeUndefined();
  });
});

describe("FrameParser: buffers", () => {
  it("a frame inside one chunk is a view of it; a frame across chunks is a copy", () => {
    const a = reset(1);
    const b = write(2, 4);
    const stream = concat([a, b]);
    const p = new FrameParser();
    p.push(stream.subarray(0, 20));
    p.push(stream.subarray(20));
    const [f1, f2] = pullAll(p);
    expect(f1!.bytes.buffer).toBe(stream.buffer);
    expect(f2!.bytes.buffer).not.toBe(stream.buffer);
    expect(f2!.bytes).toEqual(b);
    expect(f2!.payload).toEqual(b.subarray(16));
    expect(p.bufferedBytes).toBe(0);
  });

  it("many small chunks and many frames do not degrade (queue compaction)", () => {
    const frames = Array.from({ length: 500 }, (_, i) => write(i & 0xffff, i % 13));
    const stream = concat(frames);
    const p = new FrameParser();
    const ids: number[] = [];
    for (let i = 0; i < stream.length; i += 3) {
      p.push(stream.subarray(i, i + 3), i % 97 === 0 ? [i] : undefined);
      p.drain((f) => ids.push(f.header.msgId));
    }
    expect(ids).toEqual(frames.map((_, i) => i));
    expect(p.heldFdCount).toBe(0);
  });
});
