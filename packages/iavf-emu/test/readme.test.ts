// The README's example, run: the device in this process (the example's code), a raw guest driver bringing it up.
import { join } from "node:path";
import { EmudevRegistry } from "@emu/emudev";
import { iavf, iavfDriver, rxQueueId, type VirtchnlLogEntry } from "@emu/iavf-emu";
import { afterThisTest, tempDir } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { bringUp, rxRing } from "./fixtures/bring-up.js";
import { openDriver } from "./fixtures/harness.js";

describe("README example", () => {
  it("serves the device, logs the conversation and the queues, shows what a provider reads", async () => {
    const logged: string[] = [];
    const console = {
      log: (...a: unknown[]) =>
        logged.push(
          a
            .map((x) =>
              typeof x === "object" ? JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? String(v) : v)) : String(x),
            )
            .join(" "),
        ),
    };
    const sock = join(tempDir(), "iavf.sock");
    // ---- the example ----
    const emu = new EmudevRegistry();
    emu.registerDriver(iavfDriver);
    const dev = emu.create(`emu_iavf0,sock=${sock},queues=4,mac=02:00:00:00:00:01`);
    dev.configure({ onVirtchnl: (e: VirtchnlLogEntry) => console.log(e.direction, e.name, e.status ?? "") });
    await dev.start(); // a VMM or a vfio-user client connects
    dev.on("queueState", (e) => console.log(`queue ${e.queue} ${e.enabled ? "on" : "off"}`, dev.queue(e.queue)));
    console.log(iavf(dev).filters(), dev.queue(rxQueueId(0))); // what a provider reads
    // ---- end ----
    afterThisTest(() => emu.closeAll());
    const drv = await openDriver(sock);
    await bringUp(drv, 4);
    expect(logged[0]).toContain('"macs":[{"mac":"02:00:00:00:00:01","type":1}]');
    expect(logged).toContain("request VERSION ");
    expect(logged).toContain("reply VERSION 0");
    expect(logged).toContain("event EVENT ");
    expect(logged.filter((l) => l.startsWith("queue "))).toHaveLength(8);
    expect(dev.queue(rxQueueId(0))).toMatchObject({ base: rxRing(0), size: 512, enabled: true, irqVector: 1 });
  });
});
