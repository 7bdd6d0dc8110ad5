// DMA dirty logging fed by the data path: while the client logs, every guest page the worker threads write (RX packet
// buffers, RX write-backs, TX DESC_DONE) and every page emu_iavf writes itself (ATQ write-back, ARQ descriptor and
// buffer) is in the report — exactly those, computed from what the guest posted — and nothing once logging stops.
import { Reg } from "@emu/iavf-common";
import { until } from "@emu/test-kit";
import { MigrationState } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { type Flow, frameOf, payload } from "./fixtures/frames.js";
import { GUEST, GUEST_SIZE, openGuest, type Received, serveBackend, VSI } from "./fixtures/harness.js";

const udp: Flow = { src: "198.18.0.1", dst: "198.18.0.2", sport: 1000, dport: 2000, proto: "udp" };
const PAGE = 4096;

/** The dirty pages of a report (bit n of the u64 little-endian words = page n). */
function pagesOf(bitmap: Uint8Array): number[] {
  const out: number[] = [];
  bitmap.forEach((b, i) => {
    for (let bit = 0; bit < 8; bit++) if ((b & (1 << bit)) !== 0) out.push(i * 8 + bit);
  });
  return out;
}

/** The pages of [offset, offset + length) of guest memory. */
function pages(offset: number, length: number): number[] {
  const out: number[] = [];
  for (let p = Math.floor(offset / PAGE); p <= Math.floor((offset + length - 1) / PAGE); p++) out.push(p);
  return out;
}

const sorted = (xs: Iterable<number>): number[] => [...new Set(xs)].sort((a, b) => a - b);

describe("dirty logging", () => {
  it("marks exactly the pages the data path and the device wrote, and only while logging", async () => {
    const be = await serveBackend(1);
    const { drv, queues } = await openGuest(be.sock, 1);
    await until(() => be.ask<boolean>("ready"));
    const report = async () => pagesOf(await drv.client.reportDirtyPages(GUEST, BigInt(GUEST_SIZE), BigInt(PAGE)));
    expect(await drv.client.startDmaLogging(BigInt(PAGE))).toBe(BigInt(PAGE));
    expect(await report()).toEqual([]);

    // Port → guest: five frames into buffers far apart (descriptor k → buffer slot 9k).
    const slot = (k: number) => 9 * k;
    await queues.post(0, 5, (k) => Number(GUEST) + queues.rxBufAt(0, slot(k)));
    const inbound = Array.from({ length: 5 }, (_, i) => frameOf(udp, payload(60 + 300 * i, i)));
    expect(await be.ask("tx", 0, inbound)).toBe(5);
    const got: Received[] = [];
    await until(() => {
      got.push(...queues.receive(0));
      return got.length >= 5;
    }).catch(async (e) => {
      throw new Error(`${e}: got ${got.length}, errors ${JSON.stringify(await be.ask("errors"))}`);
    });
    // Guest → port: three frames; the device writes DESC_DONE into their descriptors (bytes 8..11).
    const used = await queues.transmit(
      0,
      [0, 1, 2].map((i) => frameOf(udp, payload(80, i))),
    );
    expect(await be.ask<unknown[]>("rx", 3)).toHaveLength(3); // the port's receive drains the guest's TX ring
    await until(() => used.every((i) => queues.txDone(0, i)));
    const rxWritten = inbound.flatMap((f, k) => pages(queues.rxBufAt(0, slot(k)), f.length));
    const rxDescs = [0, 1, 2, 3, 4].flatMap((i) => pages(queues.rxRingAt(0) + 32 * i, 32));
    const txDescs = used.flatMap((i) => pages(queues.txRingAt(0) + 16 * i + 8, 4));
    expect(await report()).toEqual(sorted([...rxWritten, ...rxDescs, ...txDescs]));
    expect(await report()).toEqual([]); // a report clears what it reported

    // The device's own writes: the ATQ descriptor written back, the ARQ descriptor and its buffer.
    const ntu = drv.ntu;
    const arqh = (await drv.r32(Reg.VF_ARQH1)) & 0x3ff; // where the device posts next (an event may wait before)
    await drv.call({ kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 });
    const aq = [...pages(32 * ntu, 32), ...pages(0x2000 + 32 * arqh, 32), (0x60000 + 4096 * arqh) / PAGE];
    expect(await report()).toEqual(sorted(aq));

    // Logging off: traffic marks nothing; on again, the report starts empty.
    await drv.client.stopDmaLogging();
    await queues.post(0, 2);
    expect(await be.ask("tx", 0, inbound.slice(0, 2))).toBe(2);
    await until(() => queues.receive(0).length > 0);
    await drv.client.startDmaLogging(BigInt(PAGE));
    expect(await report()).toEqual([]);
  });
});

describe("a migration's stop", () => {
  it("no DMA while the device is stopped: frames for the guest are not written, its TX ring not drained; both resume", async () => {
    const be = await serveBackend(1);
    const { drv, queues } = await openGuest(be.sock, 1);
    await until(() => be.ask<boolean>("ready"));
    await drv.client.startDmaLogging(BigInt(PAGE));
    await queues.post(0, 8);
    await drv.client.setMigrationState(MigrationState.STOP);
    const sent = await be.ask<number>("tx", 0, [frameOf(udp, payload(100, 1))]);
    const used = await queues.transmit(0, [frameOf(udp, payload(90, 2))]);
    expect(await be.ask<unknown[]>("rx", 1, 300)).toHaveLength(0); // the guest's TX ring is left alone
    await sleep(100);
    expect(queues.receive(0)).toEqual([]);
    expect(queues.txDone(0, used[0]!)).toBe(false);
    expect(await report(drv)).toEqual([]); // not a byte of guest memory written
    expect(sent).toBe(0); // the port could not hand the frame to a stopped device (counted as dropped)

    await drv.client.setMigrationState(MigrationState.RUNNING);
    expect(await be.ask<unknown[]>("rx", 1)).toHaveLength(1); // the guest's frame goes now
    await until(() => queues.txDone(0, used[0]!));
    expect(await be.ask("tx", 0, [frameOf(udp, payload(100, 3))])).toBe(1);
    await until(() => queues.receive(0).length === 1);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function report(drv: { client: { reportDirtyPages(i: bigint, l: bigint, p: bigint): Promise<Uint8Array> } }) {
  return pagesOf(await drv.client.reportDirtyPages(GUEST, BigInt(GUEST_SIZE), BigInt(PAGE)));
}
