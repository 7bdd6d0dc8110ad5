// The soak (bench/soak.ts, test/fixtures/soak.ts) in short: two emu-testpmd processes forwarding flowgen both ways
// through the emulated NIC (two queue pairs) for 24 s; at the end the counters agree exactly (per queue guest → device,
// per port both ways, streams = port in each process) and, after a 10 s warm-up, each process's native memory and
// tenured V8 heap are flat (README, "Reliability"). `pnpm --filter @emu/app-testpmd soak` runs it for minutes.
import { expect, it } from "vitest";
import { flatAfterWarmup, native, runSoak } from "./fixtures/soak.js";

it("24 s of flowgen both ways between two emu-testpmd processes: counters agree exactly, memory flat after warm-up", async () => {
  const r = await runSoak({ seconds: 24, sampleSeconds: 2.5 });
  expect(r.disagreements).toEqual([]);
  expect(r.guest.port.tx).toBeGreaterThan(10_000);
  expect(r.device.port.tx).toBeGreaterThan(10_000);
  expect(r.guest.port.rx).toBeGreaterThan(10_000);
  for (const [q, [rx, tx]] of r.guest.queues.entries()) {
    expect(tx, `guest TX queue ${q}`).toBeGreaterThan(1000);
    expect(rx, `guest RX queue ${q}`).toBeGreaterThan(1000); // RSS spreads flowgen's flows over both
  }
  for (const side of [r.device, r.guest]) {
    expect(side.samples.length).toBeGreaterThanOrEqual(8);
    // Each sample saw the forwarding lcore's heap as well as the main thread's.
    for (const s of side.samples) expect(s.threads.map((t) => t.thread.split(" ")[0])).toEqual(["main", "worker"]);
    expect(native(side.samples.at(-1)!)).toBeGreaterThan(0);
    expect(flatAfterWarmup(side.samples, 10).problems).toEqual([]);
  }
}, 60_000);
