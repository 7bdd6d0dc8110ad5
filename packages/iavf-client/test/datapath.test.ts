// The driver's own burst receive and transmit against emu_iavf served by another process, with a test provider that
// drains the guest's TX rings and fills its RX rings through the DMA table and the shared doorbell page.
import { IavfDriver } from "@emu/iavf-client";
import { afterThisTest, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { frame, hashOf, serveLoop } from "./fixtures/loop.js";

async function up(queues: number, mode: "loop" | "capture", interrupts: boolean, ring = 64) {
  const served = await serveLoop(queues, mode);
  const dev = await served.connect();
  const nic = await IavfDriver.attach(dev, {
    queuePairs: queues,
    interrupts,
    txRingSize: ring,
    rxRingSize: ring,
    statsIntervalMs: 0,
  });
  afterThisTest(() => nic.close());
  await nic.waitForLink();
  return { served, nic };
}

describe.each([true, false])("interrupts %s", (interrupts) => {
  it("transmits: the device reads each packet byte for byte, completes it (DESC_DONE), the buffers come back", async () => {
    const { served, nic } = await up(1, "capture", interrupts);
    const sent = Array.from({ length: 150 }, (_, i) => frame(i, 60 + i));
    let taken = 0;
    while (taken < sent.length) {
      taken += nic.io.txBurst(0, sent.slice(taken, taken + 32));
      await until(() => nic.io.txPending(0) === 0, 5000, "TX completions");
    }
    const got: number[][] = [];
    await until(async () => {
      got.push(...(await served.captured()).map((c) => c.data));
      return got.length === 150;
    }, 5000);
    expect(got).toEqual(sent.map((f) => Array.from(f)));
    expect(nic.io.txPending(0)).toBe(0); // 150 packets through a ring of 64: it wrapped, every slot reclaimed
  });

  it("receives: frames the device writes arrive with their length, ptype and RSS hash; the ring wraps", async () => {
    const { served, nic } = await up(1, "capture", interrupts);
    const got: Uint8Array[] = [];
    for (let round = 0; round < 4; round++) {
      const frames = Array.from({ length: 40 }, (_, i) => frame(round * 100 + i, 64 + i));
      expect(await served.inject(0, frames)).toBe(40);
      expect(await nic.io.waitRx(0, 5000)).toBe(true);
      const rx = nic.io.rxBurst(0, 64);
      expect(rx.map((f) => f.ptype)).toEqual(rx.map(() => 1));
      expect(rx.map((f) => f.rssHash)).toEqual(rx.map((f) => hashOf(f.data)));
      got.push(...rx.map((f) => f.data));
      expect(got.length).toBe(40 * (round + 1));
    }
    expect(got.map((f) => new DataView(f.buffer).getUint32(42))).toEqual(
      [0, 1, 2, 3].flatMap((r) => Array.from({ length: 40 }, (_, i) => r * 100 + i)),
    );
    expect(nic.io.rxBurst(0)).toEqual([]);
    expect(await nic.io.waitRx(0, 30)).toBe(false);
    if (interrupts) expect(nic.interruptCounts[1]).toBeGreaterThan(0); // the queue vector woke the waits
  });
});

it("a TX completion on the pair's vector wakes waitRx without a frame: it re-arms, and the frame's interrupt ends it", async () => {
  const { served, nic } = await up(1, "capture", true);
  const before = nic.interruptCounts[1] ?? 0;
  const waiting = nic.io.waitRx(0, 8000);
  await new Promise((r) => setTimeout(r, 50)); // armed
  expect(nic.io.txBurst(0, [frame(1)])).toBe(1);
  // The completion fires the vector the wait armed (TX and RX of a pair share it), which clears INTENA.
  await until(() => nic.io.txPending(0) === 0 && (nic.interruptCounts[1] ?? 0) > before, 5000, "the TX interrupt");
  await new Promise((r) => setTimeout(r, 50)); // the wait re-armed (or, before the fix, went back to sleep)
  const afterTx = nic.interruptCounts[1] ?? 0;
  expect(await served.inject(0, [frame(2)])).toBe(1);
  expect(await waiting).toBe(true);
  // The frame's interrupt ended the wait (without the re-arm its cause is held and only the timeout ends it).
  expect(nic.interruptCounts[1]).toBeGreaterThan(afterTx);
  expect(nic.io.rxBurst(0).map((f) => new DataView(f.data.buffer).getUint32(42))).toEqual([2]);
});

it("four queue pairs: each pair's ring is its own, and a frame looped by the device comes back on its pair", async () => {
  const { nic } = await up(4, "loop", true);
  for (let q = 0; q < 4; q++) expect(nic.io.txBurst(q, [frame(q * 10), frame(q * 10 + 1)])).toBe(2);
  for (let q = 0; q < 4; q++) {
    const rx: number[] = [];
    await until(async () => {
      await nic.io.waitRx(q, 200);
      rx.push(...nic.io.rxBurst(q).map((f) => new DataView(f.data.buffer).getUint32(42)));
      return rx.length === 2;
    }, 5000);
    expect(rx).toEqual([q * 10, q * 10 + 1]);
  }
});

it("after a reset the rings start over: RX buffers posted again, traffic flows both ways", async () => {
  const { nic } = await up(1, "loop", true);
  expect(nic.io.txBurst(0, [frame(1)])).toBe(1);
  await until(() => nic.io.rxBurst(0).length === 1, 5000, "looped frame");
  await nic.reset();
  expect(nic.io.txBurst(0, [frame(2), frame(3)])).toBe(2);
  const rx: number[] = [];
  await until(() => {
    rx.push(...nic.io.rxBurst(0).map((f) => new DataView(f.data.buffer).getUint32(42)));
    return rx.length === 2;
  }, 5000);
  expect(rx).toEqual([2, 3]);
});

it("refuses bad input: an unknown queue, an empty or oversized packet, bursts without buffers of its own", async () => {
  const { nic } = await up(1, "capture", false);
  expect(() => nic.io.txBurst(1, [frame(0)])).toThrow(/no queue pair 1/);
  expect(() => nic.io.txBurst(0, [new Uint8Array(0)])).toThrow(/1\.\.2048/);
  expect(() => nic.io.txBurst(0, [new Uint8Array(4000)])).toThrow(/1\.\.2048/);
  expect(() => nic.shareRings()).toThrow(/ownBuffers/);
});
