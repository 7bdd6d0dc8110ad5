// Guest memory unmapped under a running queue: the DMA_UNMAP is answered only after the worker that bursts on the
// ring acknowledged the new table (it stops touching the memory before the server unmaps it and closes its fd);
// afterwards the ring is not found (counted), nothing is read from it, the worker and the device carry on.
import { qtxTail } from "@emu/iavf-common";
import { until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { type Flow, frameOf, payload } from "./fixtures/frames.js";
import { GUEST, GUEST_SIZE, openGuest, RING, serveBackend } from "./fixtures/harness.js";

const udp: Flow = { src: "198.18.0.1", dst: "198.18.0.2", sport: 1000, dport: 2000, proto: "udp" };
type Counters = Record<string, number>;

describe("unmap under a running queue", () => {
  it("the worker lets go before the memory goes; nothing is read from the old ring; everything carries on", async () => {
    const be = await serveBackend(1);
    const { drv, queues } = await openGuest(be.sock, 1);
    await until(() => be.ask<boolean>("ready"));
    const spinning = be.ask<{ got: number; bursts: number }>("spin", 1500); // the worker bursts all along
    for (let i = 0; i < 5; i++) {
      await queues.transmit(0, [frameOf(udp, payload(30, i))]);
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(async () => (await be.ask<Counters>("portStats")).ipackets === 5);
    const before = await be.ask<Counters>("counters");
    await drv.client.dmaUnmap(GUEST, BigInt(GUEST_SIZE));
    // The guest moves its tail as if it had posted more: the descriptors would be in memory it no longer shares.
    await drv.w32(qtxTail(0), (queues.txNtu[0]! + 3) % RING);
    const spun = await spinning;
    expect(spun.got).toBe(5);
    expect(spun.bursts).toBeGreaterThan(100);
    const after = await be.ask<Counters>("counters");
    expect(after.badRing).toBeGreaterThan(before.badRing!);
    expect(await be.ask("ackTimeouts")).toBe(0);
    expect(await be.ask("workers")).toBe(1);
    // The device carries on: frames for the guest are taken and discarded (its ring is gone), counted.
    expect(await be.ask("tx", 0, [frameOf(udp, payload(30, 9))])).toBe(1);
    expect((await be.ask<Counters>("counters")).rxDiscards).toBe(1);
    expect(await be.ask("errors")).toEqual([]);
  });
});
