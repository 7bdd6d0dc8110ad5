// A guest that lies in its descriptors: every lie is dropped and counted — the data path's own reasons, the port's
// ierrors/oerrors, the VF's tx_errors/rx_discards — never a crash and never a byte outside the guest's memory; the
// rings keep moving, so good packets after the lie still go through.
import { qrxTail, qtxTail, RxError, RxStatus } from "@emu/iavf-common";
import { until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { type Flow, frameOf, payload } from "./fixtures/frames.js";
import { GUEST, GUEST_SIZE, openGuest, queuePair, type Received, RING, serveBackend, VSI } from "./fixtures/harness.js";

const udp: Flow = { src: "198.18.0.1", dst: "198.18.0.2", sport: 1000, dport: 2000, proto: "udp" };
type Counters = Record<string, number>;

describe("lying descriptors", () => {
  it("guest TX: bad addresses, lengths, types and tails are dropped, counted and completed; good frames pass", async () => {
    const be = await serveBackend(1);
    const { drv, queues } = await openGuest(be.sock, 1);
    await until(() => be.ask<boolean>("ready"));
    const good = (i: number) => frameOf(udp, payload(40, i));
    const end = Number(GUEST) + GUEST_SIZE;
    const lies: ({ addr?: number; size?: number } | undefined)[] = [
      undefined,
      { addr: 0x1000 }, // not mapped
      { addr: end - 10, size: 64 }, // crosses the end of the mapping
      { addr: 2 ** 60 }, // far beyond
      { size: 3000 }, // longer than a packet buffer
      { size: 8 }, // shorter than an Ethernet header
      undefined,
    ];
    const used = await queues.transmit(
      0,
      lies.map((_, i) => good(i)),
      { over: (i) => lies[i] },
    );
    // A descriptor of a type a TX ring cannot hold (DESC_DONE left from last time), then a good one.
    const stale = queues.txNtu[0]!;
    queues.view.setUint32(queues.txRingAt(0) + 16 * stale + 8, 0xf, true);
    queues.txNtu[0] = stale + 1;
    await queues.transmit(0, [good(7)]);
    const got = await be.ask<{ bytes: Uint8Array }[]>("rx", 3, 1000);
    expect(got.map((g) => Array.from(g.bytes))).toEqual([good(0), good(6), good(7)].map((f) => Array.from(f)));
    await until(() => used.every((i) => queues.txDone(0, i))); // lies are completed too: the guest gets its buffers back
    const c = await be.ask<Counters>("counters");
    expect(c).toMatchObject({ badAddress: 3, oversize: 1, badLength: 1, badType: 1, txErrors: 6 });
    // A tail beyond the ring: counted once, nothing taken until it is sane again.
    await drv.w32(qtxTail(0), RING + 5);
    expect(await be.ask<unknown[]>("rx", 1, 300)).toHaveLength(0);
    await drv.w32(qtxTail(0), queues.txNtu[0]!);
    await queues.transmit(0, [good(9)]);
    expect(await be.ask<unknown[]>("rx", 1)).toHaveLength(1);
    expect(await be.ask<Counters>("counters")).toMatchObject({ badTail: 1, txErrors: 7 });
    expect((await be.ask<Counters>("portStats")).ierrors).toBe(7);
    await be.ask("nicStats");
    const stats = await drv.call({ kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 });
    expect(stats).toMatchObject({ stats: { txErrors: 7n, txUnicast: 4n } });
    expect(await be.ask("errors")).toEqual([]);
  });

  it("guest RX: a buffer outside memory is written back with RXE, too-long frames and missing buffers are discards", async () => {
    const be = await serveBackend(1);
    const { drv, queues } = await openGuest(be.sock, 1);
    await until(() => be.ask<boolean>("ready"));
    await queues.post(0, 4, (k) => (k === 1 ? 0x10 : k === 2 ? Number(GUEST) + GUEST_SIZE - 100 : undefined));
    const frames = [0, 1, 2, 3].map((i) => frameOf(udp, payload(200, i)));
    const tooLong = frameOf(udp, payload(1600, 9)); // beyond max_pkt_size 1518
    await be.ask("tx", 0, [frames[0], frames[1], tooLong, frames[2], frames[3], frames[0]]);
    const rcv: Received[] = [];
    await until(() => {
      rcv.push(...queues.receive(0));
      return rcv.length >= 4;
    });
    expect(rcv).toHaveLength(4);
    expect(Array.from(rcv[0]!.bytes)).toEqual(Array.from(frames[0]!));
    for (const bad of [rcv[1]!, rcv[2]!]) {
      expect(bad.status & RxStatus.DD).toBe(RxStatus.DD);
      expect((bad.status >>> 19) & RxError.RXE).toBe(RxError.RXE);
      expect(bad.bytes.length).toBe(0);
    }
    expect(Array.from(rcv[3]!.bytes)).toEqual(Array.from(frames[3]!));
    // The last frame found no buffer.
    const c = await be.ask<Counters>("counters");
    expect(c).toMatchObject({ badAddress: 2, oversize: 1, noDescriptor: 1, rxDiscards: 4 });
    expect((await be.ask<Counters>("portStats")).oerrors).toBe(2);
    // An RX tail beyond the ring: counted once, the frames are discards.
    await drv.w32(qrxTail(0), RING + 1);
    await be.ask("tx", 0, [frames[0], frames[1]]);
    expect(await be.ask<Counters>("counters")).toMatchObject({ badTail: 1, rxDiscards: 6 });
    await be.ask("nicStats");
    const stats = await drv.call({ kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 });
    expect(stats).toMatchObject({ stats: { rxDiscards: 6n, rxUnicast: 2n } });
  });

  it("rings outside the guest's memory are not served, and counted", async () => {
    const be = await serveBackend(1);
    const { drv } = await openGuest(be.sock, 1);
    await until(() => be.ask<boolean>("ready"));
    await drv.call({ kind: "DisableQueues", vsiId: VSI, rxQueues: 1, txQueues: 1 });
    const pair = queuePair(0, RING, {
      tx: { dmaRingAddr: GUEST + BigInt(GUEST_SIZE) - 64n },
      rx: { dmaRingAddr: 0x7000_0000n },
    });
    await drv.call({ kind: "ConfigVsiQueues", vsiId: VSI, queuePairs: [pair] });
    await drv.call({ kind: "EnableQueues", vsiId: VSI, rxQueues: 1, txQueues: 1 });
    await drv.w32(qtxTail(0), 3);
    expect(await be.ask<unknown[]>("rx", 1, 300)).toHaveLength(0);
    await be.ask("tx", 0, [frameOf(udp, payload(10, 1))]);
    const c = await be.ask<Counters>("counters");
    expect(c.badRing).toBeGreaterThanOrEqual(2);
    expect(c.rxDiscards).toBe(1);
    expect(await be.ask("errors")).toEqual([]);
  });
});
