// Queue interrupts on the delegated path: the delegate is handed the guest's eventfds (its vector v signals the
// guest's vector v itself, the front relays nothing) while the guest has them unmasked; a vector the guest masks is
// taken back before the guest's request is answered (the delegate then signals the front, which holds it pending and
// delivers it at the unmask); an eventfd the guest replaces is replaced in the delegate before the reply; a guest whose
// vectors do not fit the delegate's is served by the relay.
import { join } from "node:path";
import { IavfDriver } from "@emu/iavf-client";
import { DynCtl, encodeVirtchnl, vfintDynCtln1 } from "@emu/iavf-common";
import { attachDelegate, type Delegate } from "@emu/iavf-dp-dpa";
import { iavf, REGISTER_BAR } from "@emu/iavf-emu";
import { EventFd } from "@emu/sys";
import { afterThisTest, until } from "@emu/test-kit";
import { VfioUserClient } from "@emu/vfio-user-client";
import { PciIrq } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { devices } from "./fixtures/devices.js";

async function setup(queues: number) {
  const { dir, emudev, del, front } = await devices({ queues, macs: true, onError: () => undefined });
  const d = await attachDelegate(front, await VfioUserClient.connect(join(dir, "emu_iavf1.sock")), emudev);
  afterThisTest(() => d.close());
  const client = await VfioUserClient.connect(join(dir, "emu_iavf0.sock"));
  const nic = await IavfDriver.attach(client, { queuePairs: queues, statsIntervalMs: 0 }); // interrupts on
  afterThisTest(() => nic.close());
  return { del, front, d, client, nic };
}

const direct = (d: Delegate) => d.counters().directVectors;
const relayed = (d: Delegate) => d.counters().interrupts;

describe("queue interrupts on the delegated path", () => {
  it("the delegate signals the guest's vector itself; a mask takes it back before the reply, the unmask delivers", async () => {
    const { del, front, d, client, nic } = await setup(1);
    await until(() => direct(d) === 1, 5000, "vector 1 handed to the delegate");
    const before = nic.interruptCounts[1] ?? 0;
    expect(del.irq(1).trigger()).toBe("delivered"); // the delegate raises its vector 1: the guest's eventfd
    await until(() => (nic.interruptCounts[1] ?? 0) > before, 5000, "the guest's vector 1");
    expect(relayed(d)).toBe(0);

    // The guest arms its vector (INTENA: the front passes the write on to the delegate's), then the VMM masks it
    // (SET_IRQS, as QEMU does): once answered, the delegate no longer holds its eventfd.
    const arm = new Uint8Array(4);
    new DataView(arm.buffer).setUint32(0, DynCtl.INTENA | DynCtl.ITR_INDX_MASK, true);
    await client.regionWrite(REGISTER_BAR, BigInt(vfintDynCtln1(0)), arm);
    expect(iavf(front).interruptArmed(1)).toBe(true);
    const mask = (action: "mask" | "unmask") =>
      client.setIrqs({ index: PciIrq.MSIX, action, start: 1, count: 1, data: { kind: "none" } });
    await mask("mask");
    expect(direct(d)).toBe(0);
    const masked = nic.interruptCounts[1] ?? 0;
    expect(del.irq(1).trigger()).toBe("delivered"); // to the front's own eventfd now
    await until(() => relayed(d) === 1, 5000, "the front took the delegate's interrupt");
    await new Promise((r) => setTimeout(r, 50));
    expect(nic.interruptCounts[1] ?? 0).toBe(masked); // held: the guest masked it
    expect(front.irq(1).masked()).toBe(true);
    await mask("unmask");
    expect(direct(d)).toBe(1); // handed back before the unmask was answered
    await until(() => (nic.interruptCounts[1] ?? 0) > masked, 5000, "the pending interrupt at the unmask");
  });

  it("an eventfd the guest replaces is replaced in the delegate before the reply: the old one hears no more", async () => {
    const { del, d, client, nic } = await setup(1);
    await until(() => direct(d) === 1, 5000, "vector 1 handed to the delegate");
    const fresh = EventFd.create();
    afterThisTest(() => fresh.close());
    let heard = 0;
    fresh.watch(() => heard++);
    await client.setIrqs({
      index: PciIrq.MSIX,
      action: "trigger",
      start: 1,
      count: 1,
      data: { kind: "eventfd", fds: [fresh.fd] },
    });
    const old = nic.interruptCounts[1] ?? 0;
    expect(del.irq(1).trigger()).toBe("delivered");
    await until(() => heard > 0, 5000, "the new eventfd");
    await new Promise((r) => setTimeout(r, 50));
    expect(nic.interruptCounts[1] ?? 0).toBe(old);
    expect(relayed(d)).toBe(0);
  });

  it("a guest whose queues are on vector 0 (DPDK's without WB_ON_ITR) is relayed: the front takes the interrupts", async () => {
    const { del, d, nic } = await setup(1);
    await until(() => direct(d) === 1, 5000, "vector 1 handed to the delegate");
    // The guest moves its queue pair to the mailbox's vector 0, as DPDK's iavf maps them in polling mode.
    const m = encodeVirtchnl({
      kind: "ConfigIrqMap",
      vectors: [{ vsiId: nic.vsiId ?? 0, vectorId: 0, rxqMap: 1, txqMap: 1, rxitrIdx: 0, txitrIdx: 1 }],
    });
    await nic.mailbox.request(m.opcode, m.payload);
    await until(() => direct(d) === 0 && del.irq(1).eventfd() !== undefined, 5000, "the relay in place");
    expect(del.irq(1).trigger()).toBe("delivered"); // the delegate's vector of pair 0 on the relay: the front's eventfd
    await until(() => relayed(d) === 1, 5000, "the front took it");
  });
});
