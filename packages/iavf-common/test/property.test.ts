import {
  decodeAqDescriptor,
  decodeVirtchnl,
  encodeAqDescriptor,
  encodeVirtchnl,
  isIavfError,
  type QueuePairInfo,
  type VirtchnlMessage,
} from "@emu/iavf-common";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const s32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
const mac = fc
  .uint8Array({ minLength: 6, maxLength: 6 })
  .map((b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":"));
const list = <T>(arb: fc.Arbitrary<T>, max = 4) => fc.array(arb, { minLength: 1, maxLength: max });
const queueSelect = { vsiId: u16, rxQueues: u32, txQueues: u32 };

const txq = fc.record({
  vsiId: u16,
  queueId: u16,
  ringLen: u16,
  headwbEnabled: u16,
  dmaRingAddr: u64,
  dmaHeadwbAddr: u64,
});
const rxq = fc.record({
  vsiId: u16,
  queueId: u16,
  ringLen: u32,
  hdrSize: u16,
  splithdrEnabled: u16,
  databufferSize: u32,
  maxPktSize: u32,
  crcDisable: u8,
  rxdid: u8,
  flags: u8,
  dmaRingAddr: u64,
  rxSplitPos: s32,
});
const qpair: fc.Arbitrary<QueuePairInfo> = fc.record({ txq, rxq });
const stats = fc.record({
  rxBytes: u64,
  rxUnicast: u64,
  rxMulticast: u64,
  rxBroadcast: u64,
  rxDiscards: u64,
  rxUnknownProtocol: u64,
  txBytes: u64,
  txUnicast: u64,
  txMulticast: u64,
  txBroadcast: u64,
  txDiscards: u64,
  txErrors: u64,
});
const event = fc.oneof(
  fc.record({ type: fc.constant("LinkChange" as const), linkSpeed: u32, linkUp: fc.boolean(), severity: s32 }),
  fc.record({ type: fc.constant("ResetImpending" as const), severity: s32 }),
  fc.record({ type: fc.constant("PfDriverClose" as const), severity: s32 }),
  fc.record({
    type: fc.constant("Other" as const),
    code: s32.filter((c) => c < 1 || c > 3),
    data: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    severity: s32,
  }),
);

type Case = [VirtchnlMessage, "request" | "reply"];
const req = (m: VirtchnlMessage): Case => [m, "request"];
const rep = (m: VirtchnlMessage): Case => [m, "reply"];

/** Every message kind with a codec (Unknown aside), with its direction. */
const message: fc.Arbitrary<Case> = fc.oneof<fc.Arbitrary<Case>[]>(
  fc.record({ kind: fc.constant("VersionRequest" as const), major: u32, minor: u32 }).map(req),
  fc.record({ kind: fc.constant("VersionReply" as const), major: u32, minor: u32 }).map(rep),
  fc.constant([{ kind: "ResetVf" }, "request"] as [VirtchnlMessage, "request"]),
  fc
    .option(u32, { nil: undefined })
    .map((c) => [
      c === undefined ? { kind: "GetVfResourcesRequest" } : { kind: "GetVfResourcesRequest", capabilities: c },
      "request",
    ]),
  fc
    .record({
      kind: fc.constant("GetVfResourcesReply" as const),
      numQueuePairs: u16,
      maxVectors: u16,
      maxMtu: u16,
      capabilities: u32,
      rssKeySize: u32,
      rssLutSize: u32,
      vsis: fc.array(fc.record({ vsiId: u16, numQueuePairs: u16, vsiType: s32, qsetHandle: u16, defaultMac: mac }), {
        maxLength: 3,
      }),
    })
    .map(rep),
  txq.map((t) => req({ kind: "ConfigTxQueue", txq: t })),
  rxq.map((r) => req({ kind: "ConfigRxQueue", rxq: r })),
  fc.record({ kind: fc.constant("ConfigVsiQueues" as const), vsiId: u16, queuePairs: list(qpair, 3) }).map(req),
  fc
    .record({
      kind: fc.constant("ConfigIrqMap" as const),
      vectors: list(fc.record({ vsiId: u16, vectorId: u16, rxqMap: u16, txqMap: u16, rxitrIdx: u16, txitrIdx: u16 })),
    })
    .map(req),
  fc
    .record({
      kind: fc.constantFrom("EnableQueues" as const, "DisableQueues" as const, "GetStatsRequest" as const),
      ...queueSelect,
    })
    .map(req),
  fc
    .record({
      kind: fc.constantFrom("AddEthAddr" as const, "DelEthAddr" as const),
      vsiId: u16,
      addresses: list(fc.record({ mac, type: u8 })),
    })
    .map(req),
  fc
    .record({ kind: fc.constantFrom("AddVlan" as const, "DelVlan" as const), vsiId: u16, vlanIds: list(u16, 8) })
    .map(req),
  fc.record({ kind: fc.constant("ConfigPromiscuousMode" as const), vsiId: u16, flags: u16 }).map(req),
  stats.map((s) => rep({ kind: "GetStatsReply", stats: s })),
  event.map((e) => rep({ kind: "Event", event: e })),
  fc
    .record({
      kind: fc.constantFrom("ConfigRssKey" as const, "ConfigRssLut" as const),
      vsiId: u16,
      bytes: fc.uint8Array({ maxLength: 80 }),
    })
    .map(req),
  fc.constantFrom<[VirtchnlMessage, "request"]>(
    [{ kind: "GetRssHenaCapsRequest" }, "request"],
    [{ kind: "EnableVlanStripping" }, "request"],
    [{ kind: "DisableVlanStripping" }, "request"],
    [{ kind: "GetSupportedRxdidsRequest" }, "request"],
    [{ kind: "GetMaxRssQregionRequest" }, "request"],
  ),
  u64.map((x) => rep({ kind: "GetRssHenaCapsReply", hena: x })),
  u64.map((x) => req({ kind: "SetRssHena", hena: x })),
  u16.map((n) => req({ kind: "RequestQueues", numQueuePairs: n })),
  u16.map((n) => rep({ kind: "RequestQueuesReply", numQueuePairs: n })),
  u64.map((x) => rep({ kind: "GetSupportedRxdidsReply", rxdids: x })),
  fc.record({ kind: fc.constant("GetMaxRssQregionReply" as const), vportId: u16, qregionWidth: u16 }).map(rep),
  fc
    .constantFrom(4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 23, 24, 26, 27, 28)
    .map((op) => rep({ kind: "Ack", opcode: op })),
);

describe("properties", () => {
  it("decodeVirtchnl never throws on random bytes, any opcode, either direction", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 140 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.boolean(),
        (op, bytes, req) => {
          const r = decodeVirtchnl(op, bytes, req ? "request" : "reply");
          if (!r.ok) {
            expect(isIavfError(r.error)).toBe(true);
            expect(r.error.opcode).toBe(op);
          }
        },
      ),
      { numRuns: 5000 },
    );
  });

  it("decodeVirtchnl never throws on list messages whose counts match random lengths", () => {
    fc.assert(
      fc.property(fc.constantFrom(6, 7, 10, 11, 12, 13, 23, 24), u16, fc.nat(300), (op, count, len) => {
        const bytes = new Uint8Array(len);
        if (len >= 4) new DataView(bytes.buffer).setUint16(op === 7 ? 0 : 2, count, true);
        const r = decodeVirtchnl(op, bytes, "request");
        if (!r.ok) expect(isIavfError(r.error)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("every message round-trips: decode(encode(m)) = m, at the legacy length", () => {
    fc.assert(
      fc.property(message, ([m, direction]) => {
        const { opcode, payload } = encodeVirtchnl(m);
        expect(decodeVirtchnl(opcode, payload, direction)).toEqual({ ok: true, value: m });
      }),
      { numRuns: 2000 },
    );
  });

  it("admin-queue descriptors round-trip, and decoding random bytes never throws", () => {
    const desc = fc.record({
      flags: u16,
      opcode: u16,
      datalen: u16,
      retval: u16,
      cookieHigh: u32,
      cookieLow: s32,
      param0: u32,
      param1: u32,
      addrHigh: u32,
      addrLow: u32,
    });
    fc.assert(
      fc.property(desc, (d) => {
        expect(decodeAqDescriptor(encodeAqDescriptor(d))).toEqual({ ok: true, value: d });
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        const r = decodeAqDescriptor(b);
        expect(r.ok).toBe(b.length >= 32);
      }),
    );
  });
});
