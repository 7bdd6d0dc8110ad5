// What a data-path provider sees of emu_iavf: emudev queues (ring, size, doorbell, vector, enabled) and ops in the
// guest's order, the granted capabilities as features, the link following attach/detach (link=auto), and the NIC
// view: RSS, filters, stats it adds to, queue interrupts gated by the guest's controls.
import { decodeVirtchnl, PF_MINIMAL_CAPS, qrxTail, qtxTail } from "@emu/iavf-common";
import { until } from "@emu/test-kit";
import { PciIrq } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { bringUp, linuxIrqMap, negotiate, rxRing, txRing, VSI, vsiQueues } from "./fixtures/bring-up.js";
import { openDriver, serveIavf } from "./fixtures/harness.js";

describe("the provider's view", () => {
  it("queues, doorbells and vectors as the guest programs them, the ops in order, features = granted capabilities", async () => {
    const dev = await serveIavf(",queues=2,mac=02:00:00:00:00:01");
    await dev.ask("attach");
    const drv = await openDriver(dev.sock);
    await bringUp(drv, 2);
    expect(await dev.ask("providerLog")).toEqual([
      `features 0x${PF_MINIMAL_CAPS.toString(16)}`,
      "queue 0 on",
      "queue 1 on",
      "queue 2 on",
      "queue 3 on",
      "configured 4",
    ]);
    expect(await dev.ask("features")).toBe(BigInt(PF_MINIMAL_CAPS));
    const qs = await dev.ask<object[]>("queues");
    expect(qs).toEqual([
      { id: 0, base: rxRing(0), size: 512, doorbell: 0, irqVector: 1, enabled: true },
      { id: 1, base: txRing(0), size: 512, doorbell: 1, irqVector: 1, enabled: true },
      { id: 2, base: rxRing(1), size: 512, doorbell: 2, irqVector: 2, enabled: true },
      { id: 3, base: txRing(1), size: 512, doorbell: 3, irqVector: 2, enabled: true },
    ]);
    // The doorbells (emudev doorbell id = queue id) are the tail registers, written through the mmapped pages.
    await drv.w32(qtxTail(1), 17);
    await drv.w32(qrxTail(0), 511);
    expect(await dev.ask("doorbell", 3)).toEqual([17, 0, 0, 0]);
    expect(await dev.ask("doorbell", 0)).toEqual([0xff, 1, 0, 0]);
  });

  it("link=auto: the link comes up when a provider attaches and goes down when it detaches, told to the VF", async () => {
    const dev = await serveIavf(",queues=1,mac=02:00:00:00:00:01,speed=10000");
    const drv = await openDriver(dev.sock);
    await negotiate(drv);
    const first = decodeVirtchnl(17, (await drv.next()).payload, "reply");
    expect(first).toMatchObject({ ok: true, value: { event: { linkUp: false, linkSpeed: 10000 } } });
    await dev.ask("attach");
    expect(await dev.ask("attribute", "link")).toBe(true);
    const up = decodeVirtchnl(17, (await drv.next()).payload, "reply");
    expect(up).toMatchObject({ ok: true, value: { event: { type: "LinkChange", linkUp: true, linkSpeed: 10000 } } });
    await dev.ask("setAttribute", "speed", 40000);
    const faster = decodeVirtchnl(17, (await drv.next()).payload, "reply");
    expect(faster).toMatchObject({ ok: true, value: { event: { linkUp: true, linkSpeed: 40000 } } });
    await dev.ask("detach");
    const down = decodeVirtchnl(17, (await drv.next()).payload, "reply");
    expect(down).toMatchObject({ ok: true, value: { event: { linkUp: false } } });
    expect((await dev.ask<string[]>("events")).filter((e) => e.startsWith("attribute link"))).toHaveLength(3);
  });

  it("the NIC view: filters a provider applies, stats it adds to, queue interrupts only when the guest armed them", async () => {
    const dev = await serveIavf(",queues=2,mac=02:00:00:00:00:01");
    const drv = await openDriver(dev.sock);
    const fired: number[] = [];
    await drv.client.enableIrqs(PciIrq.MSIX, 0, 17, (v) => fired.push(v));
    await negotiate(drv);
    await drv.call(vsiQueues(2));
    await drv.call(linuxIrqMap(2));
    await drv.call({ kind: "AddVlan", vsiId: VSI, vlanIds: [10] });
    const mine = [2, 0, 0, 0, 0, 1];
    const other = [2, 0, 0, 0, 0, 2];
    const mcast = [0x33, 0x33, 0, 0, 0, 1];
    const bcast = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    const accepts = async () =>
      Promise.all([
        dev.ask("accepts", mine),
        dev.ask("accepts", other),
        dev.ask("accepts", mcast),
        dev.ask("accepts", bcast),
        dev.ask("accepts", mine, 10),
        dev.ask("accepts", mine, 11),
      ]);
    expect(await accepts()).toEqual([true, false, false, true, true, false]);
    await drv.call({ kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 2 });
    expect(await accepts()).toEqual([true, false, true, true, true, false]);
    await drv.call({ kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 1 });
    expect(await accepts()).toEqual([true, true, true, true, true, false]);
    // Stats: a provider's counts, read back by the VF.
    await dev.ask("addStats", { rxBytes: 64, rxBroadcast: 1, txBytes: 128n, txUnicast: 2 });
    await dev.ask("addStats", { rxBytes: 64, rxBroadcast: 1 });
    expect(await drv.call({ kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 })).toMatchObject({
      stats: { rxBytes: 128n, rxBroadcast: 2n, txBytes: 128n, txUnicast: 2n, rxDiscards: 0n },
    });
    await expect(dev.ask("addStats", { rxBytes: -1 })).rejects.toThrow(/cannot go down/);
    // Interrupts: held until DYN_CTLN1 arms the vector, then one per arming.
    expect(await dev.ask("interrupt", 1)).toBe("held");
    expect(await dev.ask("armed", 1)).toBe(false);
    await drv.w32(0x3800, 0x1);
    await until(() => fired.includes(1));
    expect(await dev.ask("interrupt", 1)).toBe("held");
    await drv.w32(0x3800, 0x1);
    await until(() => fired.filter((v) => v === 1).length === 2);
    await drv.w32(0x3800, 0x1);
    expect(await dev.ask("interrupt", 1)).toBe("delivered");
    expect(await dev.ask("interrupt", 17)).toBe("dropped");
  });
});
