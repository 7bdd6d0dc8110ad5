// The second half of the kill -9 series: see kill-guest.test.ts for the whole and the agreement rule.
import { join } from "node:path";
import { type RemoteTestpmd, spawnTestpmd } from "@emu/app-testpmd";
import { afterThisTest, tempDir, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { fds, KILLS_EACH, peer, rng, SURVIVOR_DESC, still } from "./fixtures/kill.js";
import { sleep } from "./fixtures/nic.js";

describe("SIGKILL in the middle of traffic", { timeout: 300_000 }, () => {
  it(`a device killed ${KILLS_EACH} times: the guest side keeps running, attaches each new device, totals agree`, async () => {
    const dir = tempDir({ prefix: "kill-device-" });
    const sock = join(dir, "x.sock");
    const draw = rng(41);
    let b: RemoteTestpmd | undefined;
    let port = 0;
    let steadyFds = 0;
    let delivered = 0;
    for (let i = 0; i < KILLS_EACH; i++) {
      const d = peer("device", sock, join(dir, `ledger-${i}`));
      await d.listening;
      if (b === undefined) {
        b = await spawnTestpmd([
          "--vdev",
          `net_iavf_client0,path=${sock}`,
          "--no-pci",
          "--",
          "-i",
          `--rxd=${SURVIVOR_DESC}`,
          `--txd=${SURVIVOR_DESC}`,
        ]);
        const tp = b;
        afterThisTest(() => tp.quit());
      } else {
        const attached = await b.ask(`port attach net_iavf_client,path=${sock}`);
        expect(attached, `device ${i}`).toContain("is attached");
        port = Number(/Port (\d+) is attached/.exec(attached)?.[1]);
        await b.ask(`port start ${port}`);
      }
      await b.ask("set fwd flowgen");
      await b.ask("start");
      await d.ready;
      await sleep(draw(5, 80));
      const l = await d.kill();
      const s = await still(b, port);
      const life = `device ${i}: ledger ${JSON.stringify(l)}, the guest's port RX ${s.rx} TX ${s.tx}`;
      expect(l.sent, life).toBeGreaterThan(0);
      expect(s.rx, life).toBeLessThanOrEqual(l.announced - l.discards);
      expect(s.rx, life).toBeGreaterThanOrEqual(l.sent - l.discards - SURVIVOR_DESC);
      expect(s.tx, life).toBeGreaterThanOrEqual(l.received);
      expect(s.tx, life).toBeLessThanOrEqual(l.received + 32 + SURVIVOR_DESC);
      delivered += s.rx;
      // The dead device's port goes, as DPDK's hotplug removes one; the next device gets a new port.
      expect(await b.ask("stop"), life).toContain(`Forward statistics for port ${port}`);
      await b.ask(`port stop ${port}`);
      expect(await b.ask(`port close ${port}`), life).toContain("is closed");
      if (i === 0) steadyFds = fds(b.process.pid as number);
    }
    expect(delivered).toBeGreaterThan(0);
    await until(() => fds((b as RemoteTestpmd).process.pid as number) === steadyFds, 5000, "the guest's fds back");
  });
});
