import {
  Command,
  decodeMessage,
  encodeMessage,
  FrameParser,
  formatCapabilitiesJson,
  HEADER_SIZE,
  type Message,
  messageCommand,
} from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { concat, cut, parseChunks, toHex } from "./helpers.js";
import { vectors } from "./vectors.js";

function expectMessage(actual: Message, expected: Message): void {
  expect(actual).toStrictEqual(expected);
}

describe("golden vectors from the spec tables", () => {
  it("cover every command, request and reply", () => {
    const kinds = new Set(vectors.map((v) => v.message.kind));
    for (const name of Object.keys(Command)) {
      const base = name
        .toLowerCase()
        .split("_")
        .map((w) => w[0]?.toUpperCase() + w.slice(1))
        .join("");
      expect(kinds, name).toContain(`${base}Request`);
      expect(kinds, name).toContain(`${base}Reply`);
    }
    expect(kinds).toContain("ErrorReply");
    expect(kinds).toContain("Unknown");
  });

  describe.each(vectors.map((v) => [v.name, v] as const))("%s", (_name, v) => {
    it("decodes to the message", () => {
      const r = decodeMessage(v.bytes);
      if (!r.ok) throw r.error;
      expect(r.value.header.msgId).toBe(v.msgId);
      expect(r.value.header.msgSize).toBe(v.bytes.length);
      expect(r.value.header.command).toBe(messageCommand(v.message));
      expectMessage(r.value.message, v.message);
    });

    it("encodes to the bytes", () => {
      const out = encodeMessage(
        v.message,
        v.flags === undefined ? { msgId: v.msgId } : { msgId: v.msgId, flags: v.flags },
      );
      expect(toHex(out)).toBe(toHex(v.bytes));
    });

    it("is found by the frame parser: whole, split at every offset, byte by byte", () => {
      const check = (frames: ReturnType<typeof parseChunks>) => {
        expect(frames).toHaveLength(1);
        const f = frames[0]!;
        expect(toHex(f.bytes)).toBe(toHex(v.bytes));
        expect(f.payload.length).toBe(v.bytes.length - HEADER_SIZE);
        expect(f.fds).toEqual([]);
        const r = decodeMessage(f);
        if (!r.ok) throw r.error;
        expectMessage(r.value.message, v.message);
      };
      check(parseChunks([{ bytes: v.bytes }]));
      for (let k = 1; k < v.bytes.length; k++) check(parseChunks(cut(v.bytes, [k]).map((bytes) => ({ bytes }))));
      check(parseChunks(Array.from(v.bytes, (_, i) => ({ bytes: v.bytes.subarray(i, i + 1) }))));
    });
  });

  it("VERSION: serialising the capabilities (no jsonText) gives the hand-written compact JSON", () => {
    for (const v of vectors) {
      if (
        (v.message.kind === "VersionRequest" || v.message.kind === "VersionReply") &&
        typeof v.message.jsonText === "string"
      ) {
        expect(formatCapabilitiesJson(v.message.capabilities)).toBe(v.message.jsonText);
        const { jsonText: _, ...withoutText } = v.message;
        expect(toHex(encodeMessage(withoutText, { msgId: v.msgId }))).toBe(toHex(v.bytes));
      }
    }
  });

  it("all vectors concatenated: whole, split at every offset, byte by byte", () => {
    const stream = concat(vectors.map((v) => v.bytes));
    const expectAll = (frames: ReturnType<typeof parseChunks>) => {
      expect(frames.map((f) => toHex(f.bytes))).toEqual(vectors.map((v) => toHex(v.bytes)));
    };
    expectAll(parseChunks([{ bytes: stream }]));
    for (let k = 1; k < stream.length; k++) expectAll(parseChunks(cut(stream, [k]).map((bytes) => ({ bytes }))));
    expectAll(parseChunks(Array.from(stream, (_, i) => ({ bytes: stream.subarray(i, i + 1) }))));
    // and the drain() callback style
    const p = new FrameParser();
    p.push(stream);
    const seen: string[] = [];
    expect(p.drain((f) => seen.push(toHex(f.bytes)))).toBeUndefined();
    expect(seen).toEqual(vectors.map((v) => toHex(v.bytes)));
    expect(p.bufferedBytes).toBe(0);
  });

  it("decoded data fields are views of the frame (zero-copy)", () => {
    const v = vectors.find((x) => x.message.kind === "RegionReadReply" && x.message.bare !== true)!;
    const r = decodeMessage(v.bytes);
    if (!r.ok || r.value.message.kind !== "RegionReadReply") throw new Error("unexpected");
    expect(r.value.message.data.buffer).toBe(v.bytes.buffer);
    expect(r.value.message.data.byteOffset).toBe(v.bytes.byteOffset + 32);
  });
});
