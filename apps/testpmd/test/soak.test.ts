// The soak (bench/soak.ts, test/fixtures/soak.ts) in short: two emu-testpmd processes forwarding flowgen both ways
// through the emulated NIC (two queue pairs) for 24 s; at the end the counters agree exactly (per queue guest → device,
// per port both ways, streams = port in each process) and, after a 10 s warm-up, each process's native memory and
// tenured V8 heap are flat (README, "Reliability"); and that rule does fail for a process that leaks.
// `pnpm --filter @emu/app-testpmd soak` runs the soak for minutes.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { spawnTestpmd } from "@emu/app-testpmd";
import { afterThisTest, tempDir } from "@emu/test-kit";
import { expect, it } from "vitest";
import {
  describeSample,
  flatAfterWarmup,
  type MemorySample,
  native,
  reportFlags,
  sampleMemory,
} from "./fixtures/memory.js";
import { sleep } from "./fixtures/output.js";
import { runSoak } from "./fixtures/soak.js";

const LEAKY = fileURLToPath(new URL("./fixtures/leak-plugin.mjs", import.meta.url));
const APP_DIR = fileURLToPath(new URL("..", import.meta.url));

// The minutes-long soak is a plain node script, not a test: a fixture it imports that pulled in @emu/test-kit
// (vitest's afterEach at import) made `pnpm soak` die at start while every test passed.
it("the soak's script loads outside vitest (what bench/soak.ts imports pulls in no test-runner code)", () => {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", "-e", 'await import("./test/fixtures/soak.ts"); await import("./test/fixtures/memory.ts");'],
    { cwd: APP_DIR, encoding: "utf8", timeout: 60_000 },
  );
  expect(r.stderr).not.toContain("Vitest");
  expect(r.status).toBe(0);
});

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
    const flat = flatAfterWarmup(side.samples, 10);
    expect(
      flat.problems,
      `${flat.summary}\n${side.samples.map((m) => describeSample(`${m.seconds.toFixed(1)} s`, m)).join("\n")}`,
    ).toEqual([]);
  }
}, 60_000);

it("the memory rule catches leaks: an emu-testpmd whose plugin keeps native memory and JS objects fails it", async () => {
  const dir = tempDir({ prefix: "soak-leak-" });
  const t = await spawnTestpmd(["-d", LEAKY, "--vdev", "net_null0", "--", "-i"], { node: reportFlags(dir) });
  afterThisTest(() => t.quit());
  const t0 = performance.now();
  const samples: MemorySample[] = [];
  for (let i = 0; i < 10; i++) {
    samples.push(await sampleMemory(t.process.pid as number, dir, t0));
    await sleep(1000);
  }
  const { problems } = flatAfterWarmup(samples, 2);
  expect(problems).toEqual([
    expect.stringMatching(/^native memory grew [\d.]+ MiB after the warm-up/),
    expect.stringMatching(/^the tenured V8 heap grew [\d.]+ MiB after the warm-up/),
  ]);
}, 60_000);
