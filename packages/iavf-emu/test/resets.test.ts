// Resets from either side: VF-initiated (RESET_VF), PF-initiated (the device API), FLR written to config space,
// DEVICE_RESET, and a driver that dies with SIGKILL — after each the device is usable by a driver that starts over.
import { AqFlag, AqLen, decodeVirtchnl, PfEventSeverity, Reg, VfrState, VirtchnlOp } from "@emu/iavf-common";
import { forkChild, until, whenReady } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { bringUp, VSI } from "./fixtures/bring-up.js";
import { type DeviceProcess, openDriver, serveIavf } from "./fixtures/harness.js";
import { MEM, type RawDriver } from "./fixtures/raw-driver.js";

const KILLED = new URL("./fixtures/killed-driver.ts", import.meta.url).pathname;
const PACKAGE_DIR = new URL("..", import.meta.url).pathname;

interface Q {
  enabled: boolean;
  size: number;
  irqVector: number;
}

async function quiet(dev: DeviceProcess): Promise<void> {
  const qs = await dev.ask<Q[]>("queues");
  expect(qs.map((q) => [q.enabled, q.size, q.irqVector])).toEqual(qs.map(() => [false, 0, -1]));
  expect(await dev.ask<boolean>("ready")).toBe(false);
}

/** The PCI Express capability's offset, walked from config space. */
async function pcieCap(drv: RawDriver): Promise<number> {
  const cfg = await drv.client.regionRead(7, 0n, 256);
  for (let p = cfg[0x34] ?? 0; p !== 0; p = cfg[p + 1] ?? 0) if (cfg[p] === 0x10) return p;
  throw new Error("no PCI Express capability");
}

describe("resets", () => {
  it("VF-initiated: RESET_VF forgets the configuration, keeps the default MAC and the counters; the driver starts over", async () => {
    const dev = await serveIavf();
    const drv = await openDriver(dev.sock);
    await bringUp(drv, 4);
    await drv.call({ kind: "AddVlan", vsiId: VSI, vlanIds: [7] });
    await drv.call({ kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 3 });
    await dev.ask("addStats", { txUnicast: 5 });
    await dev.ask("events");
    await drv.send(VirtchnlOp.RESET_VF, new Uint8Array(0));
    await drv.untilRstat();
    await quiet(dev);
    const nic = await dev.ask<{ filters: object; capabilities: number; stats: { txUnicast: bigint } }>("nic");
    expect(nic.filters).toEqual({
      macs: [{ mac: "02:00:00:00:00:01", type: 1 }],
      vlans: [],
      unicastPromisc: false,
      multicastPromisc: false,
      vlanStripping: false,
    });
    expect(nic.capabilities).toBe(0);
    expect(nic.stats.txUnicast).toBe(5n);
    expect(await dev.ask<string[]>("events")).toEqual([
      "notReady",
      "queueState 0 off",
      "queueState 1 off",
      "queueState 2 off",
      "queueState 3 off",
      "queueState 4 off",
      "queueState 5 off",
      "queueState 6 off",
      "queueState 7 off",
      "reset driver",
    ]);
    await bringUp(drv, 4);
    expect(await dev.ask<boolean>("ready")).toBe(true);
  });

  it("PF-initiated: RESET_IMPENDING is posted, then the VF is reset; the promise resolves once it is active", async () => {
    const dev = await serveIavf(undefined, 200);
    const drv = await openDriver(dev.sock);
    await bringUp(drv, 4);
    await drv.next(); // LINK_CHANGE after ENABLE_QUEUES
    const done = dev.ask("pfReset");
    // Visible the way Linux's clean_arq looks (ARQH moved past it) while the ARQ is still enabled: the reset comes
    // half the reset delay later, not in the same step.
    await until(async () => (await drv.r32(Reg.VF_ARQH1)) !== drv.ntc, 5000, "the event");
    expect((await drv.r32(Reg.VF_ARQLEN1)) & AqLen.ENABLE).not.toBe(0);
    await until(async () => ((await drv.r32(Reg.VF_ARQLEN1)) & AqLen.ENABLE) === 0, 5000, "the reset to start");
    // Posted before the ARQ was disabled: the driver finds it in its ring (as Linux does in its reset task).
    const desc = drv.desc(MEM.ARQ, drv.ntc);
    expect([desc.cookieHigh, desc.flags & AqFlag.DD]).toEqual([VirtchnlOp.EVENT, AqFlag.DD]);
    const at = MEM.ARQ_BUF + drv.ntc * 4096;
    expect(decodeVirtchnl(17, drv.guest.bytes.slice(at, at + desc.datalen), "reply")).toEqual({
      ok: true,
      value: { kind: "Event", event: { type: "ResetImpending", severity: PfEventSeverity.CERTAIN_DOOM } },
    });
    expect((await drv.r32(Reg.VFGEN_RSTAT)) & 3).not.toBe(VfrState.VFACTIVE);
    await done;
    expect((await drv.r32(Reg.VFGEN_RSTAT)) & 3).toBe(VfrState.VFACTIVE);
    await quiet(dev);
    await bringUp(drv, 2);
  });

  it("a data path attached while the VF's queues run resets the VF (RESET_IMPENDING): rings start over together", async () => {
    const dev = await serveIavf(",queues=1,mac=02:00:00:00:00:01", 200);
    const drv = await openDriver(dev.sock);
    await bringUp(drv, 1);
    await drv.next(); // LINK_CHANGE after ENABLE_QUEUES
    await dev.ask("attach");
    await until(async () => ((await drv.r32(Reg.VF_ARQLEN1)) & AqLen.ENABLE) === 0, 5000, "the reset to start");
    const events: string[] = [];
    for (let at = drv.ntc; ; at++) {
      const desc = drv.desc(MEM.ARQ, at % 32);
      if ((desc.flags & AqFlag.DD) === 0) break;
      const off = MEM.ARQ_BUF + (at % 32) * 4096;
      const m = decodeVirtchnl(17, drv.guest.bytes.slice(off, off + desc.datalen), "reply");
      if (m.ok && m.value.kind === "Event") events.push(m.value.event.type);
    }
    expect(events).toContain("ResetImpending");
    await until(async () => ((await drv.r32(Reg.VFGEN_RSTAT)) & 3) === VfrState.VFACTIVE, 5000, "VFACTIVE");
    await quiet(dev);
    await bringUp(drv, 1);
    // Detaching resets nothing; attaching to a VF whose queues are not running resets nothing either.
    await dev.ask("detach");
    expect((await drv.r32(Reg.VF_ARQLEN1)) & AqLen.ENABLE).not.toBe(0);
    const fresh = await serveIavf(",queues=1");
    const idle = await openDriver(fresh.sock);
    await idle.initAdminQueues();
    await fresh.ask("attach");
    expect((await idle.r32(Reg.VF_ARQLEN1)) & AqLen.ENABLE).not.toBe(0);
    expect((await idle.r32(Reg.VFGEN_RSTAT)) & 3).toBe(VfrState.VFACTIVE);
  });

  it("a PF reset of a VF that never asked for resources posts no event", async () => {
    const dev = await serveIavf();
    const drv = await openDriver(dev.sock);
    await drv.initAdminQueues();
    await dev.ask("pfReset");
    expect(await drv.receive()).toBeUndefined();
    expect((await drv.r32(Reg.VFGEN_RSTAT)) & 3).toBe(VfrState.VFACTIVE);
  });

  it("FLR as a config-space write (PCIe Device Control, Initiate FLR) resets the VF at once", async () => {
    const dev = await serveIavf();
    const drv = await openDriver(dev.sock);
    await bringUp(drv, 4);
    await dev.ask("events");
    const devctl = (await pcieCap(drv)) + 8;
    const ctl = await drv.client.regionRead(7, BigInt(devctl), 2);
    await drv.client.regionWrite(7, BigInt(devctl), Uint8Array.of(ctl[0] ?? 0, (ctl[1] ?? 0) | 0x80));
    expect((await drv.r32(Reg.VFGEN_RSTAT)) & 3).toBe(VfrState.VFACTIVE);
    expect(await drv.r32(Reg.VF_ARQLEN1)).toBe(0);
    await quiet(dev);
    expect((await dev.ask<string[]>("events")).at(-1)).toBe("reset flr");
    await bringUp(drv, 4);
  });

  it("DEVICE_RESET from the client resets the VF", async () => {
    const dev = await serveIavf();
    const drv = await openDriver(dev.sock);
    await bringUp(drv, 1);
    await drv.client.reset();
    expect(await drv.r32(Reg.VF_ATQLEN1)).toBe(0);
    await quiet(dev);
    await bringUp(drv, 1);
  });

  it("a driver killed with SIGKILL leaves the device quiet, and a new driver brings it up again", async () => {
    const dev = await serveIavf(",queues=4,mac=02:00:00:00:00:01");
    await dev.ask("attach");
    const victim = forkChild(KILLED, [dev.sock, "4"], { cwd: PACKAGE_DIR });
    await whenReady(victim, "the driver to kill");
    expect(await dev.ask<boolean>("ready")).toBe(true);
    victim.kill("SIGKILL");
    await until(async () => !(await dev.ask<boolean>("connected")), 5000, "the device to see the driver gone");
    await quiet(dev);
    const log = await dev.ask<string[]>("providerLog");
    expect(log.slice(-9)).toEqual([
      "closed",
      "queue 0 off",
      "queue 1 off",
      "queue 2 off",
      "queue 3 off",
      "queue 4 off",
      "queue 5 off",
      "queue 6 off",
      "queue 7 off",
    ]);
    const drv = await openDriver(dev.sock);
    expect((await drv.r32(Reg.VFGEN_RSTAT)) & 3).toBe(VfrState.VFACTIVE);
    expect(await drv.r32(Reg.VF_ATQLEN1)).toBe(0); // nothing of the dead driver's admin queues is left
    await bringUp(drv, 4);
    expect(await dev.ask<boolean>("ready")).toBe(true);
  });
});
