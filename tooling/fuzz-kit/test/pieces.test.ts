// The engine's building blocks: seeded streams, mutation bounds, split plans, the framing mirror.
import { mutate, Rng, splitLengths } from "@emu/fuzz-kit";
import { Mirror } from "@emu/fuzz-kit/vfio-user";
import { encodeMessage } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";

describe("Rng", () => {
  it("is a function of its seed and stream: derive(seed, i) replays session i alone", () => {
    const a = Rng.derive(1, 5);
    const b = Rng.derive(1, 5);
    const c = Rng.derive(1, 6);
    const xs = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.u32())).not.toEqual(xs);
    const r = new Rng(3);
    for (let i = 0; i < 1000; i++) {
      const v = r.int(10);
      expect(v >= 0 && v < 10 && Number.isInteger(v)).toBe(true);
      expect(r.size(100)).toBeLessThanOrEqual(100);
    }
  });
});

describe("mutate and splitLengths", () => {
  it("mutations keep the protected prefix and the length bound; splits cover the input exactly", () => {
    const rng = new Rng(9);
    const input = Uint8Array.from({ length: 40 }, (_, i) => i);
    for (let i = 0; i < 2000; i++) {
      const m = mutate(rng, input, { keep: 8, maxLength: 64 });
      expect([...m.subarray(0, 8)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(m.length).toBeLessThanOrEqual(64);
      for (const style of ["whole", "random", "bytes", "header"] as const) {
        const parts = splitLengths(rng, 40, style);
        expect(parts.reduce((x, y) => x + y, 0)).toBe(40);
        expect(parts.every((p) => p > 0)).toBe(true);
      }
    }
    expect(splitLengths(rng, 40, "bytes")).toEqual([...new Array(20).fill(1), 20]);
  });
});

describe("Mirror", () => {
  it("cuts frames where the peer will, whatever the pieces, and fails on a size the peer refuses", () => {
    const f1 = encodeMessage({ kind: "DeviceGetInfoRequest", argsz: 16 }, { msgId: 1 });
    const f2 = encodeMessage({ kind: "DeviceResetRequest" }, { msgId: 2 });
    const stream = new Uint8Array([...f1, ...f2]);
    for (let cut = 1; cut < stream.length; cut++) {
      const m = new Mirror(4096);
      const seen: number[] = [];
      m.feed(stream.subarray(0, cut), (h) => seen.push(h.msgId));
      // Inside f1's header: what the header lacks; inside its payload: the rest of it; then f2 (a bare header).
      const owed = cut < 16 ? 16 - cut : cut <= f1.length ? f1.length - cut : 16 - (cut - f1.length);
      expect(m.owed).toBe(owed);
      m.feed(stream.subarray(cut), (h) => seen.push(h.msgId));
      expect(seen).toEqual([1, 2]);
      expect(m.owed).toBe(0);
    }
    const bad = new Mirror(4096);
    const big = f1.slice();
    new DataView(big.buffer).setUint32(4, 8192, true);
    bad.feed(big, () => undefined);
    expect(bad.failed).toBe(true);
  });
});
