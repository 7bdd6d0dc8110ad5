import { decodeVirtchnl, encodeVirtchnl, virtchnlOpName } from "@emu/iavf-common";
import { describe, expect, it } from "vitest";
import { toHex } from "./helpers.js";
import { vectors } from "./vectors.js";

describe("virtchnl byte-exact vectors", () => {
  for (const v of vectors) {
    it(`decodes ${v.name}`, () => {
      const r = decodeVirtchnl(v.opcode, v.bytes, v.direction);
      expect(r).toEqual({ ok: true, value: v.message });
    });
    if (v.encodes) {
      it(`encodes ${v.name}`, () => {
        const e = encodeVirtchnl(v.message);
        expect(e.opcode, virtchnlOpName(e.opcode)).toBe(v.opcode);
        expect(toHex(e.payload)).toBe(toHex(v.bytes));
      });
    }
  }

  it("decodes a slice of a larger buffer (DataViews honour the byte offset)", () => {
    const v = vectors.find((x) => x.name.startsWith("CONFIG_VSI_QUEUES, 1 pair, legacy"));
    if (v === undefined) throw new Error("vector missing");
    const big = new Uint8Array(v.bytes.length + 7);
    big.set(v.bytes, 3);
    const r = decodeVirtchnl(v.opcode, big.subarray(3, 3 + v.bytes.length), v.direction);
    expect(r).toEqual({ ok: true, value: v.message });
  });
});
