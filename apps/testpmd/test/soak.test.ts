// The soak (bench/soak.ts, test/fixtures/soak.ts) in short: 8 s of traffic both ways through the emulated NIC, its two
// processes' counters in exact agreement at the end. `pnpm --filter @emu/app-testpmd soak` runs it for minutes and
// reports the memory slopes (README, "Reliability").
import { expect, it } from "vitest";
import { runSoak } from "./fixtures/soak.js";

it("8 s of traffic both ways: what each side sent is what the other received (plus the device's discards)", async () => {
  const r = await runSoak({ seconds: 8, sampleSeconds: 2, warmupSeconds: 2 });
  expect(r.disagreements).toEqual([]);
  expect(r.guest.sent).toBeGreaterThan(10_000);
  expect(r.guest.received).toBeGreaterThan(10_000);
  expect(r.device.samples.length).toBeGreaterThanOrEqual(3);
}, 60_000);
