// Two processes: emu_iavf0 served by a child, brought up here by the driver over vfio-user.
import { IavfDriver, isIavfClientError } from "@emu/iavf-client";
import { RX_DESCRIPTOR_SIZE, TX_DESCRIPTOR_SIZE, VfCap } from "@emu/iavf-common";
import { afterThisTest } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { serveIavf } from "./fixtures/device.js";

async function attach(queues: number, interrupts: boolean, deviceQueues = 4) {
  const served = await serveIavf({ queues: deviceQueues });
  const client = await served.connect();
  const nic = await IavfDriver.attach(client, { queuePairs: queues, interrupts, txRingSize: 256, rxRingSize: 128 });
  afterThisTest(() => nic.close());
  return { served, client, nic };
}

describe.each([
  [1, true],
  [4, true],
  [1, false],
  [4, false],
])(
  "%i queue pair(s), interrupts %s",
  (queues, interrupts) => {
    it("brings the VF up, reaches link-up when the device's link comes up, reads stats", async () => {
      const { served, nic } = await attach(queues, interrupts);
      expect(nic.state).toBe("running");
      expect(nic.mac).toBe(served.mac);
      expect(nic.queueCount).toBe(queues);
      expect(nic.vectors).toBe(queues + 1);
      expect(nic.pfVersion).toEqual({ major: 1, minor: 1 });
      expect(nic.capabilities & VfCap.OFFLOAD_L2).toBe(VfCap.OFFLOAD_L2);
      expect(nic.link.up).toBe(false); // the device's link is down until something sets it
      await served.setLink(true);
      const link = await nic.waitForLink(5000);
      expect(link).toEqual({ up: true, speedMbps: 25_000 });
      const stats = await nic.stats();
      expect(stats.rxBytes).toBe(0n);
      expect(stats.txErrors).toBe(0n);
      if (interrupts) expect(nic.interruptCounts[0]).toBeGreaterThan(0);
      else expect(nic.interruptCounts).toEqual([]);
      await served.setLink(false);
      await expect.poll(() => nic.link.up).toBe(false);
    });

    it("exposes each queue pair's rings, IOVAs, vectors and mapped doorbells", async () => {
      const { nic } = await attach(queues, interrupts);
      expect(nic.doorbellsMapped).toBe(true);
      const iovas = new Set<bigint>();
      for (const [i, p] of nic.queuePairs.entries()) {
        expect(p.id).toBe(i);
        expect(p.vector).toBe(1 + i);
        expect(p.tx.size).toBe(256);
        expect(p.rx.size).toBe(128);
        expect(p.tx.descriptorSize).toBe(TX_DESCRIPTOR_SIZE);
        expect(p.rx.descriptorSize).toBe(RX_DESCRIPTOR_SIZE);
        expect(p.tx.bytes.length).toBe(256 * 16);
        expect(p.rx.bytes.length).toBe(128 * 32);
        expect(p.tx.iova % 4096n).toBe(0n);
        expect(p.tx.tailOffset).toBe(4 * i);
        expect(p.rx.tailOffset).toBe(0x2000 + 4 * i);
        expect(p.tx.doorbellMapped && p.rx.doorbellMapped).toBe(true);
        iovas.add(p.tx.iova).add(p.rx.iova);
        expect(p.tx.writeTail(5)).toBeUndefined(); // a plain store, no message
      }
      expect(iovas.size).toBe(2 * queues);
    });
  },
  30_000,
);

describe("bring-up refusals", () => {
  it("refuses more queue pairs than the VF offers, naming both counts, and leaves the device usable", async () => {
    const served = await serveIavf({ queues: 2 });
    const client = await served.connect();
    const err = await IavfDriver.attach(client, { queuePairs: 4 }).catch((e: unknown) => e);
    expect(isIavfClientError(err) && err.reason).toBe("Unsupported");
    expect((err as Error).message).toMatch(/4 queue pairs asked for, the PF gives 2/);
    const nic = await IavfDriver.attach(client, { queuePairs: 2 });
    afterThisTest(() => nic.close());
    expect(nic.queueCount).toBe(2);
  });

  it.each([
    [{ queuePairs: 0 }, /queuePairs must be 1..16/],
    [{ queuePairs: 17 }, /queuePairs must be 1..16/],
    [{ txRingSize: 100 }, /txRingSize must be 64..4096, a multiple of 32/],
    [{ rxRingSize: 8192 }, /rxRingSize/],
    [{ mac: "01:00:5e:00:00:01" }, /mac must be a unicast/],
    [{ capabilities: -1 }, /capabilities must be a u32/],
  ])("refuses options %o before touching the device", async (options, message) => {
    const served = await serveIavf({ queues: 1 });
    const client = await served.connect();
    const err = await IavfDriver.attach(client, options).catch((e: unknown) => e);
    expect(isIavfClientError(err) && err.reason).toBe("InvalidArgument");
    expect((err as Error).message).toMatch(message);
    expect(await served.log()).toEqual([]);
  });
});
