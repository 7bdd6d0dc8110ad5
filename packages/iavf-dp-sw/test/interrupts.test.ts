// Queue interrupts as the guest's interrupt controls define them: raised for completed work (TX descriptors reported,
// RX frames written back) only while the queue's vector is armed (DYN_CTLN1.INTENA), which firing disarms; work done
// while it is disarmed is held and fires when the guest arms it again — and nothing fires without work.
import { DynCtl, vfintDynCtln1 } from "@emu/iavf-common";
import { until } from "@emu/test-kit";
import { PciIrq } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { type Flow, frameOf, payload } from "./fixtures/frames.js";
import { openGuest, type Received, serveBackend } from "./fixtures/harness.js";

const udp: Flow = { src: "198.18.0.1", dst: "198.18.0.2", sport: 1000, dport: 2000, proto: "udp" };
const settle = () => new Promise((r) => setTimeout(r, 150));
const ARM = DynCtl.INTENA | (DynCtl.ITR_NONE << DynCtl.ITR_INDX_SHIFT);

describe("interrupts", () => {
  it("fire only when armed: held while disarmed, delivered at arming, one per arming", async () => {
    const be = await serveBackend(1);
    const { drv, queues } = await openGuest(be.sock, 1);
    const fired: number[] = [];
    await drv.client.enableIrqs(PciIrq.MSIX, 0, 17, (v) => fired.push(v));
    await until(() => be.ask<boolean>("ready"));
    const onVector1 = () => fired.filter((v) => v === 1).length;

    // Work while vector 1 (queue pair 0's) is not armed: no interrupt.
    await queues.transmit(0, [frameOf(udp, payload(30, 1))]);
    expect(await be.ask<unknown[]>("rx", 1)).toHaveLength(1);
    await settle();
    expect(onVector1()).toBe(0);
    // Arming delivers the held cause, once.
    await drv.w32(vfintDynCtln1(0), ARM);
    await until(() => onVector1() === 1);
    // Firing disarmed it: more work is held again…
    await queues.transmit(0, [frameOf(udp, payload(30, 2))]);
    expect(await be.ask<unknown[]>("rx", 1)).toHaveLength(1);
    await settle();
    expect(onVector1()).toBe(1);
    // …until the guest re-arms.
    await drv.w32(vfintDynCtln1(0), ARM);
    await until(() => onVector1() === 2);
    // Armed with nothing to report: nothing fires.
    await drv.w32(vfintDynCtln1(0), ARM);
    await settle();
    expect(onVector1()).toBe(2);
    // Armed, then RX work: the relay wakes and fires it at once.
    await queues.post(0, 8);
    await be.ask("tx", 0, [frameOf(udp, payload(40, 3))]);
    await until(() => onVector1() === 3);
    const rcv: Received[] = queues.receive(0);
    expect(rcv).toHaveLength(1);
    // A TX descriptor without RS reports nothing, so even armed nothing fires.
    await drv.w32(vfintDynCtln1(0), ARM);
    await queues.transmit(0, [frameOf(udp, payload(30, 4))], { rs: false });
    expect(await be.ask<unknown[]>("rx", 1)).toHaveLength(1);
    await settle();
    expect(onVector1()).toBe(3);
    expect(await be.ask("interrupts")).toBe(3);
    expect(fired.filter((v) => v !== 1 && v !== 0)).toEqual([]);
  });
});
