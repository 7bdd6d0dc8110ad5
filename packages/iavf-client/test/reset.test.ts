// Resets from either side: the driver's (RESET_VF, a VFIO device reset), the PF's (RESET_IMPENDING then the reset),
// and one the PF does not announce (found by the watchdog). Each time the driver re-initialises and gets link back.
import { IavfDriver, type ResetCause } from "@emu/iavf-client";
import { VirtchnlOp } from "@emu/iavf-common";
import { afterThisTest } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { serveIavf } from "./fixtures/device.js";

async function running(interrupts: boolean, queues = 4) {
  const served = await serveIavf({ queues, link: true });
  const client = await served.connect();
  const nic = await IavfDriver.attach(client, { queuePairs: queues, interrupts, watchdogMs: 50, statsIntervalMs: 0 });
  afterThisTest(() => nic.close());
  await nic.waitForLink(5000);
  const resets: { cause: ResetCause; done: boolean }[] = [];
  nic.on("reset", (r) => resets.push(r));
  return { served, client, nic, resets };
}

/** The messages the device saw after the reset began, by name. */
async function namesAfter(served: Awaited<ReturnType<typeof serveIavf>>): Promise<string[]> {
  return (await served.log()).filter((e) => e.direction === "request").map((e) => e.name);
}

const REINIT = [
  "GET_VF_RESOURCES",
  "CONFIG_IRQ_MAP",
  "ADD_ETH_ADDR",
  "CONFIG_VSI_QUEUES",
  "ENABLE_QUEUES",
  "CONFIG_RSS_KEY",
  "CONFIG_RSS_LUT",
];

describe.each([true, false])(
  "interrupts %s",
  (interrupts) => {
    it("its own reset (RESET_VF): re-initialises without VERSION, link and stats come back", async () => {
      const { served, nic, resets } = await running(interrupts);
      await served.clearLog();
      await nic.reset("vf");
      expect(nic.state).toBe("running");
      expect(resets).toEqual([
        { cause: "vf", done: false },
        { cause: "vf", done: true },
      ]);
      expect(await namesAfter(served)).toEqual(["RESET_VF", ...REINIT]);
      expect((await nic.waitForLink(5000)).up).toBe(true);
      expect((await nic.stats()).txBytes).toBe(0n);
    });

    it("a VFIO device reset (vfio-user DEVICE_RESET)", async () => {
      const { served, nic, resets } = await running(interrupts);
      await served.clearLog();
      await nic.reset("device");
      expect(resets.map((r) => r.cause)).toEqual(["device", "device"]);
      expect(await namesAfter(served)).toEqual(REINIT);
      expect((await nic.waitForLink(5000)).up).toBe(true);
      await nic.stats();
    });

    it("a PF-initiated reset: RESET_IMPENDING, then the driver re-initialises by itself", async () => {
      const { served, nic, resets } = await running(interrupts);
      const events: string[] = [];
      nic.on("event", (e) => events.push(e.type));
      await served.clearLog();
      await served.pfReset();
      await nic.waitUntilRunning(5000);
      await expect.poll(() => resets.length).toBe(2);
      expect(resets).toEqual([
        { cause: "pf", done: false },
        { cause: "pf", done: true },
      ]);
      expect(events).toContain("ResetImpending");
      expect(await namesAfter(served)).toEqual(REINIT);
      expect((await nic.waitForLink(5000)).up).toBe(true);
      await nic.stats();
    });

    it("a reset nobody announced (RESET_VF sent behind the driver's back) is found by the watchdog", async () => {
      const { served, nic, resets } = await running(interrupts);
      await served.clearLog();
      await nic.mailbox.send(VirtchnlOp.RESET_VF);
      await expect.poll(() => resets.length, { timeout: 5000 }).toBe(2);
      expect(resets[0]).toEqual({ cause: "detected", done: false });
      expect(await namesAfter(served)).toEqual(["RESET_VF", ...REINIT]);
      expect((await nic.waitForLink(5000)).up).toBe(true);
    });

    it("survives several resets in a row from both sides", async () => {
      const { served, nic } = await running(interrupts, 1);
      const resets: string[] = [];
      nic.on("reset", (r) => {
        if (r.done) resets.push(r.cause);
      });
      for (let i = 1; i <= 3; i++) {
        await nic.reset("vf");
        await served.pfReset();
        await expect.poll(() => resets.length, { timeout: 5000 }).toBe(2 * i);
        await nic.waitForLink(5000);
      }
      expect(resets).toEqual(["vf", "pf", "vf", "pf", "vf", "pf"]);
      expect((await nic.stats()).rxDiscards).toBe(0n);
    });
  },
  60_000,
);
