/**
 * The length rules of doc §4.6, checked against DPDK's `virtchnl_vc_validate_vf_msg`: list messages carry one
 * placeholder element in their legacy length; decoders take the legacy and the exact length, nothing else; zero counts
 * are format errors; the error names the opcode and carries the status the reference validator answers with.
 */
import { decodeVirtchnl, encodeVirtchnl, isIavfError, VirtchnlOp, VirtchnlStatus } from "@emu/iavf-common";
import { describe, expect, it } from "vitest";

/** A list message of `n` elements: count field at `countAt` (u16) in a `header`-byte header, `elem` bytes each. */
function listMessage(header: number, countAt: number, elem: number, n: number, extra: number): Uint8Array {
  const out = new Uint8Array(header + (n + extra) * elem);
  new DataView(out.buffer).setUint16(countAt, n, true);
  return out;
}

const LISTS = [
  { op: VirtchnlOp.CONFIG_VSI_QUEUES, header: 8, countAt: 2, elem: 64 },
  { op: VirtchnlOp.CONFIG_IRQ_MAP, header: 2, countAt: 0, elem: 12 },
  { op: VirtchnlOp.ADD_ETH_ADDR, header: 4, countAt: 2, elem: 8 },
  { op: VirtchnlOp.DEL_ETH_ADDR, header: 4, countAt: 2, elem: 8 },
  { op: VirtchnlOp.ADD_VLAN, header: 4, countAt: 2, elem: 2 },
  { op: VirtchnlOp.DEL_VLAN, header: 4, countAt: 2, elem: 2 },
] as const;

describe("list lengths: legacy (n + 1 elements) and exact (n elements)", () => {
  for (const l of LISTS) {
    for (const n of [1, 2, 16]) {
      it(`opcode ${l.op}, n = ${n}: both accepted, the legacy one is what the encoder sends`, () => {
        const legacy = listMessage(l.header, l.countAt, l.elem, n, 1);
        const exact = listMessage(l.header, l.countAt, l.elem, n, 0);
        const a = decodeVirtchnl(l.op, legacy, "request");
        const b = decodeVirtchnl(l.op, exact, "request");
        expect(a.ok && b.ok).toBe(true);
        if (!a.ok || !b.ok) return;
        expect(a.value).toEqual(b.value);
        expect(encodeVirtchnl(a.value).payload.length).toBe(legacy.length);
      });
      it(`opcode ${l.op}, n = ${n}: one byte more or less than either is BadLength / ERR_OPCODE_MISMATCH`, () => {
        for (const bytes of [
          listMessage(l.header, l.countAt, l.elem, n, 1),
          listMessage(l.header, l.countAt, l.elem, n, 0),
        ]) {
          for (const len of [bytes.length - 1, bytes.length + 1]) {
            const cut = new Uint8Array(len);
            cut.set(bytes.subarray(0, Math.min(len, bytes.length)));
            const r = decodeVirtchnl(l.op, cut, "request");
            if (len === l.header + n * l.elem || len === l.header + (n + 1) * l.elem) continue;
            expect(r.ok).toBe(false);
            if (r.ok) return;
            expect(r.error.reason).toBe("BadLength");
            expect(r.error.opcode).toBe(l.op);
            expect(r.error.status).toBe(VirtchnlStatus.ERR_OPCODE_MISMATCH);
          }
        }
      });
    }
    it(`opcode ${l.op}: a zero count is BadFormat / ERR_OPCODE_MISMATCH`, () => {
      const r = decodeVirtchnl(l.op, listMessage(l.header, l.countAt, l.elem, 0, 1), "request");
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error.reason).toBe("BadFormat");
      expect(r.error.status).toBe(VirtchnlStatus.ERR_OPCODE_MISMATCH);
      expect(r.error.message).toMatch(/is 0/);
    });
  }
});

describe("RSS key and LUT: one placeholder byte (VPP: also for an empty array), the 6-byte struct for an empty array", () => {
  for (const op of [VirtchnlOp.CONFIG_RSS_KEY, VirtchnlOp.CONFIG_RSS_LUT]) {
    for (const n of [0, 1, 52, 64]) {
      const legacy = n === 0 ? 6 : 5 + n;
      it(`opcode ${op}, ${n} bytes: ${legacy} (legacy) and ${4 + n} (exact) accepted, others refused`, () => {
        for (let len = 4; len <= legacy + 2; len++) {
          const b = new Uint8Array(len);
          new DataView(b.buffer).setUint16(2, n, true);
          const r = decodeVirtchnl(op, b, "request");
          expect(r.ok, `len ${len}`).toBe(len === legacy || len === 4 + n || len === 5 + n);
        }
        const enc = encodeVirtchnl({
          kind: op === 23 ? "ConfigRssKey" : "ConfigRssLut",
          vsiId: 0,
          bytes: new Uint8Array(n),
        });
        expect(enc.payload.length).toBe(legacy);
      });
    }
  }
});

describe("fixed lengths", () => {
  const FIXED: [number, number][] = [
    [VirtchnlOp.VERSION, 8],
    [VirtchnlOp.CONFIG_TX_QUEUE, 24],
    [VirtchnlOp.CONFIG_RX_QUEUE, 40],
    [VirtchnlOp.ENABLE_QUEUES, 12],
    [VirtchnlOp.DISABLE_QUEUES, 12],
    [VirtchnlOp.GET_STATS, 12],
    [VirtchnlOp.CONFIG_PROMISCUOUS_MODE, 4],
    [VirtchnlOp.SET_RSS_HENA, 8],
    [VirtchnlOp.REQUEST_QUEUES, 2],
    [VirtchnlOp.RESET_VF, 0],
    [VirtchnlOp.GET_RSS_HENA_CAPS, 0],
    [VirtchnlOp.ENABLE_VLAN_STRIPPING, 0],
    [VirtchnlOp.DISABLE_VLAN_STRIPPING, 0],
  ];
  for (const [op, len] of FIXED) {
    it(`opcode ${op} takes exactly ${len} bytes`, () => {
      expect(decodeVirtchnl(op, new Uint8Array(len), "request").ok).toBe(true);
      const r = decodeVirtchnl(op, new Uint8Array(len + 1), "request");
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.reason).toBe("BadLength");
      if (len > 0) expect(decodeVirtchnl(op, new Uint8Array(len - 1), "request").ok).toBe(false);
    });
  }
  it("GET_VF_RESOURCES takes 0 (1.0) or 4 (1.1) bytes", () => {
    for (let len = 0; len < 9; len++) {
      expect(decodeVirtchnl(3, new Uint8Array(len), "request").ok, `len ${len}`).toBe(len === 0 || len === 4);
    }
  });
});

describe("direction and unknown opcodes", () => {
  it("EVENT from a VF is BadDirection / ERR_PARAM, as the reference validator answers", () => {
    const r = decodeVirtchnl(VirtchnlOp.EVENT, new Uint8Array(16), "request");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(isIavfError(r.error)).toBe(true);
    expect(r.error.reason).toBe("BadDirection");
    expect(r.error.status).toBe(VirtchnlStatus.ERR_PARAM);
    expect(r.error.message).toContain("EVENT");
  });
  it("opcode 0 (UNKNOWN) is BadDirection in both directions", () => {
    expect(decodeVirtchnl(0, new Uint8Array(0), "request").ok).toBe(false);
    expect(decodeVirtchnl(0, new Uint8Array(0), "reply").ok).toBe(false);
  });
  it("RESET_VF has no reply", () => {
    const r = decodeVirtchnl(VirtchnlOp.RESET_VF, new Uint8Array(0), "reply");
    expect(r.ok ? "ok" : r.error.reason).toBe("BadDirection");
  });
  it("an opcode without a codec is Unknown (the PF answers ERR_NOT_SUPPORTED), its payload copied", () => {
    const payload = Uint8Array.of(1, 2, 3);
    const r = decodeVirtchnl(VirtchnlOp.GET_OFFLOAD_VLAN_V2_CAPS, payload, "request");
    expect(r).toEqual({ ok: true, value: { kind: "Unknown", opcode: 51, direction: "request", payload } });
    if (r.ok && r.value.kind === "Unknown") expect(r.value.payload).not.toBe(payload);
  });
  it("a status-only reply ignores whatever payload the PF sent", () => {
    expect(decodeVirtchnl(VirtchnlOp.ENABLE_QUEUES, Uint8Array.of(9, 9), "reply")).toEqual({
      ok: true,
      value: { kind: "Ack", opcode: 8 },
    });
  });
});

describe("encoding refuses values its fields cannot hold (OutOfRange, thrown)", () => {
  it("a VLAN id above 0xffff, an empty list, a bad MAC", () => {
    const bad = [
      () => encodeVirtchnl({ kind: "AddVlan", vsiId: 0, vlanIds: [0x10000] }),
      () => encodeVirtchnl({ kind: "AddVlan", vsiId: 0, vlanIds: [] }),
      () => encodeVirtchnl({ kind: "AddEthAddr", vsiId: 0, addresses: [{ mac: "02:00:00:00:00", type: 1 }] }),
      () => encodeVirtchnl({ kind: "SetRssHena", hena: -1n }),
      () => encodeVirtchnl({ kind: "VersionRequest", major: 1.5, minor: 1 }),
    ];
    for (const f of bad) {
      try {
        f();
        expect.unreachable("should throw");
      } catch (e) {
        expect(isIavfError(e) && e.reason === "OutOfRange").toBe(true);
      }
    }
  });
});
