// Packets through emu_iavf and the software data path, the guest in this process (a raw driver over vfio-user with
// memfd guest memory), the device with net_iavfbe and its worker in a child process: bytes checked both ways, TX
// completion and the RX write-back as §5 of the design notes says, the VF's statistics as GET_STATS reads them.
import { RxPtype, RxStatus } from "@emu/iavf-common";
import { until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { type Flow, frameOf, payload } from "./fixtures/frames.js";
import { openGuest, queuePair, type Received, RING, serveBackend, VSI } from "./fixtures/harness.js";

type Counters = Record<string, number>;

const udp: Flow = { src: "198.18.0.1", dst: "198.18.0.2", sport: 1000, dport: 2000, proto: "udp" };

describe("one queue pair", () => {
  it("guest TX reaches the port byte for byte; RS descriptors get DESC_DONE; the port's packets reach the guest's RX ring with the legacy write-back", async () => {
    const be = await serveBackend(1);
    const { drv, queues } = await openGuest(be.sock, 1);
    await until(() => be.ask<boolean>("ready"));
    expect(await be.ask("link")).toBe(true);

    // Guest → port: ten frames of growing size and a full-size one.
    const out = [
      ...Array.from({ length: 10 }, (_, i) => frameOf(udp, payload(18 + 50 * i, i))),
      frameOf(udp, payload(1472, 99)),
    ];
    const used = await queues.transmit(0, out);
    const got = await be.ask<{ queue: number; bytes: Uint8Array }[]>("rx", out.length);
    expect(got.map((g) => Array.from(g.bytes))).toEqual(out.map((f) => Array.from(f)));
    await until(() => used.every((i) => queues.txDone(0, i)));
    // Without RS, a descriptor is sent but not reported.
    const unreported = frameOf(udp, payload(30, 1));
    const quiet = await queues.transmit(0, [unreported], { rs: false });
    expect(await be.ask<unknown[]>("rx", 1)).toHaveLength(1);
    expect(queues.txDone(0, quiet[0]!)).toBe(false);

    // Port → guest: frames land in the posted buffers, DD|EOF, the length, the packet type.
    await queues.post(0, 32);
    const inbound = Array.from({ length: 12 }, (_, i) => frameOf(udp, payload(40 + 100 * i, 50 + i)));
    expect(await be.ask("tx", 0, inbound)).toBe(inbound.length);
    const rcv: Received[] = [];
    await until(() => {
      rcv.push(...queues.receive(0));
      return rcv.length >= inbound.length;
    });
    expect(rcv.map((r) => Array.from(r.bytes))).toEqual(inbound.map((f) => Array.from(f)));
    for (const r of rcv) {
      expect(r.status & (RxStatus.DD | RxStatus.EOF)).toBe(RxStatus.DD | RxStatus.EOF);
      expect(r.ptype).toBe(RxPtype.IPV4_UDP);
      expect((r.status >>> RxStatus.UMBCAST_SHIFT) & 3).toBe(0); // unicast
      expect(r.descriptors).toBe(1);
    }

    // GET_STATS: what moved, from the VF's side.
    const bytes = (fs: Uint8Array[]) => fs.reduce((n, f) => n + f.length, 0);
    await be.ask("nicStats");
    const stats = await drv.call({ kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 });
    expect(stats).toMatchObject({
      stats: {
        txUnicast: 12n,
        txBytes: BigInt(bytes(out) + unreported.length),
        rxUnicast: 12n,
        rxBytes: BigInt(bytes(inbound)),
        rxDiscards: 0n,
        txErrors: 0n,
      },
    });
    const port = await be.ask<{ ipackets: number; opackets: number; ierrors: number; oerrors: number }>("portStats");
    expect(port).toMatchObject({ ipackets: 12, opackets: 12, ierrors: 0, oerrors: 0 });
  });

  it("a frame longer than the guest's buffers is chained over several descriptors, EOF on the last", async () => {
    const be = await serveBackend(1);
    const { drv, queues } = await openGuest(be.sock, 1);
    await until(() => be.ask<boolean>("ready"));
    await drv.call({ kind: "DisableQueues", vsiId: VSI, rxQueues: 1, txQueues: 1 });
    const pair = queuePair(0, RING, { rx: { databufferSize: 1024, maxPktSize: 1518 } });
    await drv.call({ kind: "ConfigVsiQueues", vsiId: VSI, queuePairs: [pair] });
    await drv.call({ kind: "EnableQueues", vsiId: VSI, rxQueues: 1, txQueues: 1 });
    queues.rxNtu[0] = 0;
    queues.rxNtc[0] = 0;
    await queues.post(0, 16);
    const frames = [frameOf(udp, payload(1400, 1)), frameOf(udp, payload(1000, 2)), frameOf(udp, payload(100, 3))];
    await be.ask("tx", 0, frames);
    const rcv: Received[] = [];
    await until(() => {
      rcv.push(...queues.receive(0));
      return rcv.length >= frames.length;
    });
    expect(rcv.map((r) => Array.from(r.bytes))).toEqual(frames.map((f) => Array.from(f)));
    expect(rcv.map((r) => r.descriptors)).toEqual([2, 2, 1]); // 1442 and 1042 bytes need two 1024-byte buffers
  });

  it("the device serves up to the guest's tail, read again when the buffers it knew of run out, and forgets it when the queue is enabled again", async () => {
    const be = await serveBackend(1);
    const { drv, queues } = await openGuest(be.sock, 1);
    await until(() => be.ask<boolean>("ready"));
    const frames = Array.from({ length: 6 }, (_, i) => frameOf(udp, payload(60, i)));
    const receive = async (n: number) => {
      const rcv: Received[] = [];
      await until(() => {
        rcv.push(...queues.receive(0));
        return rcv.length >= n;
      });
      return rcv;
    };
    // 8 posted, 2 used: the device knows of 6 more; 4 posted later are found once those run out.
    await queues.post(0, 8);
    await be.ask("tx", 0, frames.slice(0, 2));
    expect(await receive(2)).toHaveLength(2);
    await queues.post(0, 4);
    await be.ask("tx", 0, frames);
    await be.ask("tx", 0, frames.slice(0, 4));
    expect((await receive(10)).map((r) => Array.from(r.bytes))).toEqual(
      [...frames, ...frames.slice(0, 4)].map((f) => Array.from(f)),
    );
    expect(await be.ask<Counters>("counters")).toMatchObject({ rxDiscards: 0 });
    // Enabled again with one buffer posted: what the device knew of the old ring is gone (one frame, two discards).
    await drv.call({ kind: "DisableQueues", vsiId: VSI, rxQueues: 1, txQueues: 1 });
    await drv.call({ kind: "EnableQueues", vsiId: VSI, rxQueues: 1, txQueues: 1 });
    queues.rxNtu[0] = 0;
    queues.rxNtc[0] = 0;
    for (let i = 0; i < RING; i++) queues.view.setUint32(queues.rxRingAt(0) + 32 * i + 8, 0, true);
    await queues.post(0, 1);
    await be.ask("tx", 0, frames.slice(0, 3));
    expect((await receive(1)).map((r) => Array.from(r.bytes))).toEqual([Array.from(frames[0]!)]);
    expect(await be.ask<Counters>("counters")).toMatchObject({ noDescriptor: 2, rxDiscards: 2 });
    expect(queues.receive(0)).toHaveLength(0);
  });
});
