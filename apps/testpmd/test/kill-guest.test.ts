// Fault injection: the emulated NIC's peers killed with SIGKILL in the middle of traffic, 100 times in all, at
// moments drawn from a seeded stream. Phase 1: the device side survives — emu-testpmd serving emu_iavf0 with
// net_iavfbe, forwarding flowgen (both directions) — and a guest (net_iavf_client in a small process,
// fixtures/nic-peer.mjs) is killed 50 times. Phase 2: the guest side survives — emu-testpmd with net_iavf_client,
// flowgen — and the device (emu_iavf0 + net_iavfbe in a small process) is killed 50 times; after each death the
// survivor's port is stopped and closed and a new one attached to the next device (DPDK's hotplug way).
//
// The survivor keeps answering its prompt, accepts each new peer and traffic passes again (every peer's life moves
// packets), and its fds are back to where they were after the first kill. The totals across a kill agree by this
// rule: the killed side's ledger is rewritten with pwrite around each burst, so it survives the SIGKILL exactly —
// `announced` (written before a TX burst: the most it can have sent), `sent` (what its port took), `received`,
// `discards` (the device's frames it could not deliver) — and the survivor's counters for that life (its port stats
// once they are still, which they are once the kill is seen) must lie within what can have been in flight:
//   towards the survivor:  sent − ring ≤ survivor RX ≤ announced, where `ring` is the dead peer's TX descriptors for
//     a dead guest (what it had queued and the device had not yet taken is lost with it) — for a dead device, the
//     survivor-guest's RX ≤ announced − discards and ≥ sent − discards − its RX descriptors (frames written into its
//     ring that its port had not taken when it was stopped);
//   from the survivor:     received ≤ survivor TX ≤ received + 32 + survivor's TX descriptors (the device takes at
//     most one burst after its last record; what the survivor queued past that dies in its ring), checked for a dead
//     device; for a dead guest, received ≤ survivor TX only (net_iavfbe's transmit counts what it discards too).
import { join } from "node:path";
import { spawnTestpmd } from "@emu/app-testpmd";
import { afterThisTest, tempDir, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { fds, KILLS_EACH, PEER_DESC, peer, rng, SURVIVOR_DESC, still } from "./fixtures/kill.js";
import { sleep, VF_MAC } from "./fixtures/nic.js";

describe("SIGKILL in the middle of traffic", { timeout: 300_000 }, () => {
  it(`a guest killed ${KILLS_EACH} times: the device side keeps forwarding, serves each new guest, totals agree`, async () => {
    const dir = tempDir({ prefix: "kill-guest-" });
    const sock = join(dir, "x.sock");
    const draw = rng(14);
    const a = await spawnTestpmd([
      "--vdev",
      `emu_iavf0,sock=${sock},queues=1,mac=${VF_MAC}`,
      "--",
      "-i",
      `--rxd=${SURVIVOR_DESC}`,
      `--txd=${SURVIVOR_DESC}`,
    ]);
    afterThisTest(() => a.quit());
    expect(await a.ask("port attach net_iavfbe,emu=emu_iavf0")).toContain("is attached");
    await a.ask("port start 0");
    await a.ask("set fwd flowgen");
    await a.ask("start");
    let before = await still(a, 0);
    let steadyFds = 0;
    let received = 0;
    for (let i = 0; i < KILLS_EACH; i++) {
      const g = peer("guest", sock, join(dir, `ledger-${i}`));
      await g.ready;
      await sleep(draw(5, 80));
      const l = await g.kill();
      const after = await still(a, 0);
      const rx = after.rx - before.rx;
      const tx = after.tx - before.tx;
      const life = `guest ${i}: ledger ${JSON.stringify(l)}, the device's port RX +${rx} TX +${tx}`;
      expect(l.sent, life).toBeGreaterThan(0);
      expect(rx, life).toBeGreaterThanOrEqual(l.sent - PEER_DESC);
      expect(rx, life).toBeLessThanOrEqual(l.announced);
      expect(l.received, life).toBeLessThanOrEqual(tx);
      received += l.received;
      before = after;
      if (i === 0) steadyFds = fds(a.process.pid as number);
    }
    expect(received).toBeGreaterThan(0);
    // Still serving: a last guest brings the link up and moves packets; the device process holds what it held.
    await until(() => fds(a.process.pid as number) === steadyFds, 5000, "the device's fds back");
    const last = peer("guest", sock, join(dir, "ledger-last"));
    await last.ready;
    expect((await last.kill()).sent).toBeGreaterThan(0);
    expect(await a.ask("stop")).toContain("Forward statistics for port 0");
  });
});
