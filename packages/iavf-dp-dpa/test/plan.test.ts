// The translation of the guest's configuration into the delegate's virtchnl, as pure plans: a pair that did not
// change is not touched (the delegate keeps its ring position), a changed pair is stopped, configured and enabled
// again, the IRQ map puts each pair on a delegate vector; filters and RSS are sent only as far as they changed.
import { PromiscFlag, VfCap } from "@emu/iavf-common";
import { describe, expect, it } from "vitest";
import { planFilters } from "../src/filter-plan.js";
import { guestVectorsFit, OFF_PAIR, type PairConfig, planQueues, queueVectors } from "../src/queue-plan.js";

const OFF = OFF_PAIR;
const pair = (q: number, on = true): PairConfig => ({
  rxBase: 0x10_0000n + BigInt(q) * 0x1_0000n,
  rxLen: 512,
  rxBuf: 2048,
  rxMax: 1534,
  txBase: 0x20_0000n + BigInt(q) * 0x1_0000n,
  txLen: 512,
  rxOn: on,
  txOn: on,
  rxVec: q + 1,
  txVec: q + 1,
});

describe("planQueues", () => {
  it("from nothing: CONFIG_VSI_QUEUES with the guest's rings, the IRQ map, ENABLE_QUEUES; no disable", () => {
    const p = planQueues(1, [OFF, OFF], [pair(0), pair(1)], 17);
    expect(p.disable).toEqual({ rx: 0, tx: 0 });
    expect(p.enable).toEqual({ rx: 3, tx: 3 });
    expect(p.configure?.queuePairs.map((x) => [x.rxq.queueId, x.rxq.dmaRingAddr, x.txq.dmaRingAddr])).toEqual([
      [0, 0x10_0000n, 0x20_0000n],
      [1, 0x11_0000n, 0x21_0000n],
    ]);
    expect(p.configure?.queuePairs[0]?.rxq).toMatchObject({ ringLen: 512, databufferSize: 2048, maxPktSize: 1534 });
    expect(p.irqMap?.vectors.map((v) => [v.vectorId, v.rxqMap, v.txqMap])).toEqual([
      [1, 1, 1],
      [2, 2, 2],
      [0, 0, 0],
    ]);
  });

  it("an unchanged pair is left alone; a moved ring is stopped, configured and started again", () => {
    const moved = { ...pair(1), rxBase: 0x40_0000n };
    const p = planQueues(1, [pair(0), pair(1)], [pair(0), moved], 17);
    expect(p.disable).toEqual({ rx: 2, tx: 2 });
    expect(p.configure?.queuePairs.map((x) => x.rxq.queueId)).toEqual([1]);
    expect(p.enable).toEqual({ rx: 2, tx: 2 });
    const same = planQueues(1, [pair(0), pair(1)], [pair(0), pair(1)], 17);
    expect(same).toEqual({
      disable: { rx: 0, tx: 0 },
      configure: undefined,
      irqMap: undefined,
      enable: { rx: 0, tx: 0 },
    });
  });

  it("disabling: only DISABLE_QUEUES for what was on; a delegate with few vectors shares them round robin", () => {
    expect(planQueues(1, [pair(0), pair(1)], [pair(0), pair(1, false)], 17)).toMatchObject({
      disable: { rx: 2, tx: 2 },
      configure: undefined,
      enable: { rx: 0, tx: 0 },
    });
    const few = planQueues(1, [OFF, OFF, OFF], [pair(0), pair(1), pair(2)], 3);
    expect(few.irqMap?.vectors.map((v) => [v.vectorId, v.rxqMap])).toEqual([
      [1, 0b101],
      [2, 0b010],
      [0, 0],
    ]);
  });
});

describe("planQueues with the guest's vectors (the direct interrupt path)", () => {
  it("each queue on the guest's own vector; a vector map that changes alone is sent alone; a path change remaps", () => {
    const a = { ...pair(0), rxVec: 3, txVec: 4 };
    const b = { ...pair(1), rxVec: 3, txVec: 3 };
    expect(guestVectorsFit([a, b], 17)).toBe(true);
    expect(queueVectors([a, b])).toEqual([3, 4]);
    const p = planQueues(1, [OFF, OFF], [a, b], 17, true);
    expect(p.irqMap?.vectors.map((v) => [v.vectorId, v.rxqMap, v.txqMap])).toEqual([
      [3, 0b11, 0b10],
      [4, 0, 0b01],
      [0, 0, 0],
    ]);
    const moved = { ...a, rxVec: 5 };
    const again = planQueues(1, [a, b], [moved, b], 17, true);
    expect(again).toMatchObject({ disable: { rx: 0, tx: 0 }, configure: undefined, enable: { rx: 0, tx: 0 } });
    expect(again.irqMap?.vectors.map((v) => v.vectorId)).toEqual([3, 4, 5, 0]);
    expect(planQueues(1, [a, b], [a, b], 17, true).irqMap).toBeUndefined();
    expect(planQueues(1, [a, b], [a, b], 17, false, true).irqMap?.vectors.map((v) => v.vectorId)).toEqual([1, 2, 0]);
  });

  it("the guest's vectors do not fit: vector 0 (the mailbox's), one beyond the delegate's, or no queue configured", () => {
    expect(guestVectorsFit([{ ...pair(0), rxVec: 0 }], 17)).toBe(false);
    expect(guestVectorsFit([{ ...pair(0), txVec: 17 }], 17)).toBe(false);
    expect(guestVectorsFit([OFF], 17)).toBe(false);
    expect(guestVectorsFit([pair(0), pair(1)], 3)).toBe(true);
    expect(guestVectorsFit([pair(0), pair(1), pair(2)], 3)).toBe(false);
  });
});

describe("planFilters", () => {
  const filters = {
    macs: [{ mac: "02:00:00:00:00:01", type: 1 }],
    vlans: [10],
    unicastPromisc: false,
    multicastPromisc: true,
    vlanStripping: false,
  };
  const rss = { key: new Uint8Array(52).fill(7), lut: new Uint8Array(64), hena: 0x3fn };
  const caps = VfCap.OFFLOAD_VLAN | VfCap.OFFLOAD_RSS_PF;

  it("first pass: the guest's MACs (as extra addresses), VLANs, promiscuous modes, RSS key, LUT and HENA", () => {
    const { messages } = planFilters(1, caps, undefined, filters, rss);
    expect(messages.map((m) => m.kind)).toEqual([
      "AddEthAddr",
      "AddVlan",
      "ConfigPromiscuousMode",
      "ConfigRssKey",
      "ConfigRssLut",
      "SetRssHena",
    ]);
    expect(messages[2]).toMatchObject({ flags: PromiscFlag.MULTICAST });
  });

  it("then only changes; without VLAN or RSS_PF granted neither is sent", () => {
    const first = planFilters(1, caps, undefined, filters, rss).state;
    const next = { ...filters, macs: [{ mac: "02:00:00:00:00:02", type: 2 }], vlans: [] };
    expect(planFilters(1, caps, first, next, rss).messages).toEqual([
      { kind: "DelEthAddr", vsiId: 1, addresses: [{ mac: "02:00:00:00:00:01", type: 2 }] },
      { kind: "AddEthAddr", vsiId: 1, addresses: [{ mac: "02:00:00:00:00:02", type: 2 }] },
      { kind: "DelVlan", vsiId: 1, vlanIds: [10] },
    ]);
    expect(planFilters(1, caps, first, filters, rss).messages).toEqual([]);
    expect(planFilters(1, 0, undefined, filters, rss).messages.map((m) => m.kind)).toEqual([
      "AddEthAddr",
      "ConfigPromiscuousMode",
    ]);
  });
});
