// A hostile guest against the data path, beyond the single lies of hostile.test.ts: (1) the guest's DMA window is the
// middle of a larger memfd, and every lie aims at the bytes around it — descriptors, buffers and rings crossing the
// window's start or end or lying wholly in the file outside it — which must stay untouched (the worker maps the same
// file: a bounds check off by the window's offset would land there); (2) VF resets of every kind (RESET_VF, a PF reset
// through VFGEN_RSTAT, FLR, DEVICE_RESET) in the middle of guest traffic with a worker bursting all along: the device
// takes nothing more from the old rings, writes nothing into them, and a queue configured again passes traffic, with
// the VF's counters equal to what moved.
import { AqFlag, qrxTail, qtxTail, RxError, RxStatus, VfrState, VirtchnlOp } from "@emu/iavf-common";
import { closeFds, memfdCreate, mmap } from "@emu/sys";
import { afterThisTest, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { type Flow, frameOf, payload } from "./fixtures/frames.js";
import {
  type BackendProcess,
  bringUp,
  GUEST,
  GUEST_SIZE,
  GuestQueues,
  openGuest,
  queuePair,
  RawDriver,
  type Received,
  RING,
  rxRing,
  serveBackend,
  txRing,
  VSI,
} from "./fixtures/harness.js";

const udp: Flow = { src: "198.18.0.1", dst: "198.18.0.2", sport: 1000, dport: 2000, proto: "udp" };
type Counters = Record<string, number>;

/** Bytes of the memfd before and after the guest's DMA window. */
const MARGIN = 0x1_0000;
const canaryByte = (i: number): number => (i * 167 + 11) & 0xff;

/** A memfd of the guest memory with MARGIN canary bytes on each side; the window is at offset MARGIN. */
function guestFileWithCanaries(): { fd: number; touched(): string[] } {
  const size = GUEST_SIZE + 2 * MARGIN;
  const fd = memfdCreate("guest-with-canaries", BigInt(size), { sealSize: true });
  const map = mmap(fd, 0n, size, "rw");
  afterThisTest(() => {
    map.unmap();
    closeFds([fd]);
  });
  const all = new Uint8Array(map.buffer);
  const edges = [
    [0, MARGIN],
    [MARGIN + GUEST_SIZE, size],
  ] as const;
  for (const [a, b] of edges) for (let i = a; i < b; i++) all[i] = canaryByte(i);
  return {
    fd,
    touched: () => {
      const out: string[] = [];
      for (const [a, b] of edges)
        for (let i = a; i < b; i++)
          if (all[i] !== canaryByte(i)) {
            out.push(`file byte 0x${i.toString(16)} (window ${i < MARGIN ? "start" : "end"} ${i - MARGIN})`);
            break;
          }
      return out;
    },
  };
}

async function receiveAll(queues: GuestQueues, n: number): Promise<Received[]> {
  const rcv: Received[] = [];
  await until(() => {
    rcv.push(...queues.receive(0));
    return rcv.length >= n;
  });
  return rcv;
}

describe("a hostile guest around its DMA window", () => {
  it("descriptors, buffers and rings at and across both edges of the window never touch the bytes around it", async () => {
    const file = guestFileWithCanaries();
    const be = await serveBackend(1);
    const { drv, queues } = await openGuest(be.sock, 1, undefined, { fd: file.fd, offset: BigInt(MARGIN) });
    await until(() => be.ask<boolean>("ready"));
    const start = Number(GUEST);
    const end = start + GUEST_SIZE;
    const good = (i: number) => frameOf(udp, payload(40, i));

    // Guest TX: buffers crossing the start, below it (inside the file), at and past the end (inside the file); and a
    // frame that ends exactly at the window's end, which is the guest's own and goes through.
    const txLies = [
      { addr: start - 10, size: 64 },
      { addr: start - 0x8000, size: 64 },
      { addr: end - 10, size: 64 },
      { addr: end, size: 64 },
      { addr: end + 0x100, size: 64 },
    ];
    const last = good(98);
    drv.guest.bytes.set(last, GUEST_SIZE - last.length);
    const lies = [undefined, ...txLies, { addr: end - last.length, size: last.length }, undefined];
    const frames = lies.map((_, i) => (i === txLies.length + 1 ? last : good(i)));
    const used = await queues.transmit(0, frames, { over: (i) => lies[i] });
    const got = await be.ask<{ bytes: Uint8Array }[]>("rx", 3, 1000);
    expect(got.map((g) => Array.from(g.bytes))).toEqual([good(0), last, good(7)].map((f) => Array.from(f)));
    await until(() => used.every((i) => queues.txDone(0, i)));
    expect(await be.ask<Counters>("counters")).toMatchObject({ badAddress: 5, txErrors: 5 });

    // Guest RX: buffers crossing the start and the end, below and above the window; a good one after.
    const rxLies = [start - 100, end - 100, start - 0x8000, end + 0x100];
    await queues.post(0, 5, (k) => rxLies[k]);
    const inbound = Array.from({ length: 5 }, (_, i) => frameOf(udp, payload(200, 10 + i)));
    expect(await be.ask("tx", 0, inbound)).toBe(5);
    const rcv = await receiveAll(queues, 5);
    for (const bad of rcv.slice(0, 4)) {
      expect(bad.status & RxStatus.DD).toBe(RxStatus.DD);
      expect((bad.status >>> 19) & RxError.RXE).toBe(RxError.RXE);
      expect(bad.bytes.length).toBe(0);
    }
    expect(Array.from(rcv[4]!.bytes)).toEqual(Array.from(inbound[4]!));
    expect(await be.ask<Counters>("counters")).toMatchObject({ badAddress: 9, rxDiscards: 4, txErrors: 5 });
    expect((await be.ask<Counters>("portStats")).oerrors).toBe(4);

    // Rings that lie: the RX ring starting below the window, the TX ring longer than what is left of it.
    await drv.call({ kind: "DisableQueues", vsiId: VSI, rxQueues: 1, txQueues: 1 });
    const lying = queuePair(0, 4096, {
      tx: { dmaRingAddr: BigInt(end - 16 * 100) },
      rx: { dmaRingAddr: BigInt(start - 0x200), ringLen: 64 },
    });
    await drv.call({ kind: "ConfigVsiQueues", vsiId: VSI, queuePairs: [lying] });
    await drv.call({ kind: "EnableQueues", vsiId: VSI, rxQueues: 1, txQueues: 1 });
    await drv.w32(qtxTail(0), 200);
    await drv.w32(qrxTail(0), 10);
    expect(await be.ask<unknown[]>("rx", 1, 300)).toHaveLength(0);
    expect(await be.ask("tx", 0, [good(5)])).toBe(1);
    const c = await be.ask<Counters>("counters");
    expect(c.badRing).toBeGreaterThanOrEqual(2);
    expect(c.rxDiscards).toBe(5);

    // Rings inside the guest's memory but off a 4-byte boundary (a NIC takes the base in 128-byte units): refused and
    // counted like the rings above (the data path reads descriptors as words), nothing served, nothing thrown.
    await drv.call({ kind: "DisableQueues", vsiId: VSI, rxQueues: 1, txQueues: 1 });
    const odd = queuePair(0, 64, {
      tx: { dmaRingAddr: BigInt(start + 0x1002) },
      rx: { dmaRingAddr: BigInt(start + 0x3006) },
    });
    await drv.call({ kind: "ConfigVsiQueues", vsiId: VSI, queuePairs: [odd] });
    await drv.call({ kind: "EnableQueues", vsiId: VSI, rxQueues: 1, txQueues: 1 });
    await drv.w32(qtxTail(0), 20);
    await drv.w32(qrxTail(0), 10);
    expect(await be.ask<unknown[]>("rx", 1, 300)).toHaveLength(0);
    expect(await be.ask("tx", 0, [good(6)])).toBe(1);
    const c2 = await be.ask<Counters>("counters");
    expect(c2.badRing).toBeGreaterThanOrEqual(c.badRing! + 2);
    expect(c2.rxDiscards).toBe(6);

    // A well-formed queue afterwards passes traffic both ways.
    await drv.call({ kind: "DisableQueues", vsiId: VSI, rxQueues: 1, txQueues: 1 });
    drv.guest.bytes.fill(0, Number(rxRing(0) - GUEST), Number(rxRing(0) - GUEST) + 0x20000);
    await drv.call({ kind: "ConfigVsiQueues", vsiId: VSI, queuePairs: [queuePair(0, RING)] });
    await drv.call({ kind: "EnableQueues", vsiId: VSI, rxQueues: 1, txQueues: 1 });
    const fresh = new GuestQueues(drv, 1);
    await fresh.transmit(0, [good(1), good(2)]);
    expect(await be.ask<unknown[]>("rx", 2)).toHaveLength(2);
    await fresh.post(0, 4);
    expect(await be.ask("tx", 0, [good(3)])).toBe(1);
    expect((await receiveAll(fresh, 1)).map((r) => Array.from(r.bytes))).toEqual([Array.from(good(3))]);

    expect(file.touched()).toEqual([]);
    expect(await be.ask("errors")).toEqual([]);
  });
});

/** PCIe Device Control in config space (emu_iavf's PCI Express capability is at 0x4c). */
const DEVCTL = 0x4c + 8;

const RESETS: Record<string, (drv: RawDriver, be: BackendProcess) => Promise<void>> = {
  RESET_VF: async (drv) => {
    await drv.send(VirtchnlOp.RESET_VF, new Uint8Array(0), { flags: AqFlag.SI });
  },
  "PF reset (VFGEN_RSTAT)": async (_drv, be) => {
    await be.ask("pfReset");
  },
  FLR: async (drv) => {
    const ctl = await drv.client.regionRead(7, BigInt(DEVCTL), 2);
    await drv.client.regionWrite(7, BigInt(DEVCTL), Uint8Array.of(ctl[0] ?? 0, (ctl[1] ?? 0) | 0x80));
  },
  DEVICE_RESET: async (drv) => {
    await drv.client.reset();
  },
};

describe("resets in the middle of guest traffic", () => {
  it("RESET_VF, PF reset, FLR, DEVICE_RESET: nothing more taken from or written to the old rings; the queue configured again passes traffic; the counters are what moved", async () => {
    const be = await serveBackend(1);
    const drv = await RawDriver.open(be.sock);
    afterThisTest(() => drv.close());
    let queues = await bringUp(drv, 1);
    let sentToGuest = 0;
    let takenFromGuest = 0;
    for (const [kind, reset] of Object.entries(RESETS)) {
      await until(() => be.ask<boolean>("ready"));
      await queues.post(0, 16);
      // The worker bursts on the guest's TX ring all along while the guest transmits and the reset comes.
      const spinning = be.ask<{ got: number }>("spin", 400);
      let sent = 0;
      for (let i = 0; i < 10; i++) {
        await queues.transmit(0, [frameOf(udp, payload(30, i))]);
        sent++;
        if (i === 5) await reset(drv, be);
        await new Promise((r) => setTimeout(r, 5));
      }
      const { got } = await spinning;
      expect(got, kind).toBeLessThanOrEqual(sent);
      expect(got, kind).toBeGreaterThanOrEqual(1);
      takenFromGuest += got;
      await drv.untilRstat(VfrState.VFACTIVE);

      // The old rings after the reset: the guest posts and rings its (zeroed) doorbells as if nothing happened.
      const txAt = Number(txRing(0) - GUEST);
      const rxAt = Number(rxRing(0) - GUEST);
      await queues.transmit(0, [frameOf(udp, payload(30, 77))]);
      await queues.post(0, 4);
      const rings = drv.guest.bytes.slice(txAt, txAt + 16 * RING);
      const rxRingBytes = drv.guest.bytes.slice(rxAt, rxAt + 32 * RING);
      expect((await be.ask<{ got: number }>("spin", 100)).got, kind).toBe(0);
      // The device is not configured again yet: the port's link is down and it takes nothing for the guest.
      expect(await be.ask("tx", 0, [frameOf(udp, payload(30, 78))]), kind).toBe(0);
      expect(Array.from(drv.guest.bytes.subarray(txAt, txAt + 16 * RING)), kind).toEqual(Array.from(rings));
      expect(Array.from(drv.guest.bytes.subarray(rxAt, rxAt + 32 * RING)), kind).toEqual(Array.from(rxRingBytes));

      // A driver starts over: zeroed rings, the VF brought up again, traffic both ways.
      drv.guest.bytes.fill(0, txAt, txAt + 16 * RING);
      drv.guest.bytes.fill(0, rxAt, rxAt + 32 * RING);
      queues = await bringUp(drv, 1);
      await until(() => be.ask<boolean>("ready"));
      const out = [1, 2, 3].map((i) => frameOf(udp, payload(30, 100 + i)));
      await queues.transmit(0, out);
      const got2 = await be.ask<{ bytes: Uint8Array }[]>("rx", 3);
      expect(
        got2.map((g) => Array.from(g.bytes)),
        kind,
      ).toEqual(out.map((f) => Array.from(f)));
      takenFromGuest += 3;
      await queues.post(0, 8);
      const back = [4, 5].map((i) => frameOf(udp, payload(30, 100 + i)));
      expect(await be.ask("tx", 0, back)).toBe(2);
      const rcv = await receiveAll(queues, 2);
      expect(
        rcv.map((r) => Array.from(r.bytes)),
        kind,
      ).toEqual(back.map((f) => Array.from(f)));
      sentToGuest += 2;
    }
    // Exact agreement: the port took what the VF's counters say the guest sent, and delivered what they say it got.
    expect((await be.ask<Counters>("portStats")).ipackets).toBe(takenFromGuest);
    await be.ask("nicStats");
    const stats = await drv.call({ kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 });
    expect(stats).toMatchObject({
      stats: { txUnicast: BigInt(takenFromGuest), rxUnicast: BigInt(sentToGuest), txErrors: 0n },
    });
    expect(await be.ask("errors")).toEqual([]);
  });
});
