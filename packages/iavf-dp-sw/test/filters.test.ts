// Receive filters on the way to the guest, as the guest set them through virtchnl: its MAC and broadcast pass,
// another unicast MAC or a multicast one only in the matching promiscuous mode, a tagged frame only with its VLAN
// added; what is filtered out is counted, never delivered.
import { RxStatus } from "@emu/iavf-common";
import { until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { type Flow, frameOf, payload } from "./fixtures/frames.js";
import { openGuest, type Received, serveBackend, VSI } from "./fixtures/harness.js";

const udp: Flow = { src: "198.18.0.1", dst: "198.18.0.2", sport: 1000, dport: 2000, proto: "udp" };
const MINE = [2, 0, 0, 0, 0, 1];
const OTHER = [2, 0, 0, 0, 0, 2];
const MCAST = [0x01, 0x00, 0x5e, 0, 0, 1];
const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/** `f` with an 802.1Q tag of `vlan` after the MAC addresses. */
function tagged(f: Uint8Array, vlan: number): Uint8Array {
  const t = new Uint8Array(f.length + 4);
  t.set(f.subarray(0, 12));
  t.set([0x81, 0x00, vlan >> 8, vlan & 0xff], 12);
  t.set(f.subarray(12), 16);
  return t;
}

describe("filters", () => {
  it("MAC, broadcast, multicast, promiscuous modes and VLANs decide what the guest receives", async () => {
    const be = await serveBackend(1);
    const { drv, queues } = await openGuest(be.sock, 1);
    await until(() => be.ask<boolean>("ready"));
    await queues.post(0, 60);
    const got: Received[] = [];
    const delivered = async (frames: Uint8Array[]): Promise<string[]> => {
      const before = (await be.ask<Record<string, number>>("counters")).filtered!;
      await be.ask("tx", 0, frames);
      const filtered = (await be.ask<Record<string, number>>("counters")).filtered! - before;
      const n = frames.length - filtered;
      const start = got.length;
      await until(() => {
        got.push(...queues.receive(0));
        return got.length >= start + n;
      });
      return got.slice(start).map((r) => Array.from(r.bytes.subarray(0, 6)).join(":"));
    };
    const f = (dst: number[], i: number) => frameOf(udp, payload(20, i), dst);
    const name = (m: number[]) => m.join(":");
    expect(await delivered([f(MINE, 1), f(OTHER, 2), f(MCAST, 3), f(BCAST, 4)])).toEqual([name(MINE), name(BCAST)]);
    const bcast = got[got.length - 1]!;
    expect((bcast.status >>> RxStatus.UMBCAST_SHIFT) & 3).toBe(2);

    await drv.call({ kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 2 }); // multicast promiscuous
    expect(await delivered([f(OTHER, 5), f(MCAST, 6)])).toEqual([name(MCAST)]);
    expect((got[got.length - 1]!.status >>> RxStatus.UMBCAST_SHIFT) & 3).toBe(1);
    await drv.call({ kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 1 }); // unicast promiscuous
    expect(await delivered([f(OTHER, 7), f(MCAST, 8)])).toEqual([name(OTHER), name(MCAST)]);
    await drv.call({ kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 0 });

    // VLANs: untagged and any tag pass while none is added; once 10 is, only 10 (and untagged) pass.
    expect(await delivered([tagged(f(MINE, 9), 20)])).toEqual([name(MINE)]);
    await drv.call({ kind: "AddVlan", vsiId: VSI, vlanIds: [10] });
    expect(await delivered([tagged(f(MINE, 10), 20), tagged(f(MINE, 11), 10), f(MINE, 12)])).toEqual([
      name(MINE),
      name(MINE),
    ]);
    expect(Array.from(got[got.length - 2]!.bytes)).toEqual(Array.from(tagged(f(MINE, 11), 10))); // the tag is kept
    expect((await be.ask<Record<string, number>>("counters")).filtered).toBe(2 + 1 + 1);
  });
});
