// The driver's figures against emu_iavf served by another process (test/fixtures/iavf-server.ts):
// init-to-link-up, virtchnl round trips per second (GET_STATS), and doorbell writes per second through the mmapped
// tail page vs through REGION_WRITE, with their ratio, all in the same run.
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "@emu/bench-kit";
import { IavfDriver } from "@emu/iavf-client";
import { VfioUserClient } from "@emu/vfio-user-client";

const QUICK = process.env.EMU_BENCH_QUICK === "1";
const WINDOWS = QUICK ? 3 : 5;
const WINDOW_MS = QUICK ? 200 : 500;
const INITS = QUICK ? 5 : 15;
const PACKAGE_DIR = new URL("..", import.meta.url).pathname;

async function serve(sock: string): Promise<ChildProcess> {
  const proc = fork(join(PACKAGE_DIR, "test/fixtures/iavf-server.ts"), [`emu_iavf0,sock=${sock},queues=4,link=up`], {
    execArgv: ["--import", "tsx"],
    cwd: PACKAGE_DIR,
    serialization: "advanced",
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise<void>((resolve, reject) => {
    proc.on("message", (m: { ready?: boolean }) => m.ready && resolve());
    proc.once("exit", (code) => reject(new Error(`device exited (${code})`)));
  });
  return proc;
}

/** Milliseconds from `attach` to link-up, one connection per run. */
async function initToLinkUp(sock: string, interrupts: boolean): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < INITS; i++) {
    const client = await VfioUserClient.connect(sock);
    const t = performance.now();
    const nic = await IavfDriver.attach(client, { queuePairs: 4, interrupts, statsIntervalMs: 0 });
    await nic.waitForLink(5000);
    out.push(performance.now() - t);
    await nic.close();
    await client.close();
  }
  return out;
}

/** Rates of `op` (awaited one after another) over WINDOWS windows of WINDOW_MS. */
async function rate(op: () => Promise<unknown> | unknown, batch = 1): Promise<number> {
  const rates: number[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    let n = 0;
    const t = performance.now();
    const end = t + WINDOW_MS;
    while (performance.now() < end) {
      for (let i = 0; i < batch; i++) await op();
      n += batch;
    }
    rates.push((n * 1000) / (performance.now() - t));
  }
  return median(rates);
}

/** Rate of a synchronous `op` (no await: plain stores), in batches between clock reads. */
function syncRate(op: (i: number) => void): number {
  const rates: number[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    let n = 0;
    const t = performance.now();
    const end = t + WINDOW_MS;
    while (performance.now() < end) {
      for (let i = 0; i < 10_000; i++) op(n + i);
      n += 10_000;
    }
    rates.push((n * 1000) / (performance.now() - t));
  }
  return median(rates);
}

const fmt = (r: number) =>
  r >= 1e6 ? `${(r / 1e6).toFixed(1)} M` : r >= 1e3 ? `${(r / 1e3).toFixed(1)} k` : r.toFixed(0);

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "iavf-bench-"));
  const sock = join(dir, "iavf.sock");
  const device = await serve(sock);
  try {
    console.log("| case | figure | vs baseline |");
    console.log("| --- | --- | --- |");
    for (const interrupts of [true, false]) {
      const ms = await initToLinkUp(sock, interrupts);
      const mode = interrupts ? "interrupt" : "poll";
      console.log(
        `| attach → link up, 4 queue pairs, ${mode} mode (median of ${ms.length}) | ${median(ms).toFixed(1)} ms | — |`,
      );
    }
    for (const interrupts of [true, false]) {
      const client = await VfioUserClient.connect(sock);
      const nic = await IavfDriver.attach(client, { queuePairs: 1, interrupts, statsIntervalMs: 0 });
      const r = await rate(() => nic.stats());
      console.log(`| GET_STATS round trips, ${interrupts ? "interrupt" : "poll"} mode | ${fmt(r)}/s | — |`);
      await nic.close();
      await client.close();
    }
    const mappedClient = await VfioUserClient.connect(sock);
    const mapped = await IavfDriver.attach(mappedClient, { statsIntervalMs: 0 });
    const mappedTail = mapped.queuePairs[0]?.tx;
    if (!mappedTail?.doorbellMapped) throw new Error("the device did not offer the tail page for mmap");
    const mmapRate = syncRate((i) => mappedTail.writeTail(i & 0x1ff));
    await mapped.close();
    await mappedClient.close();
    const slowClient = await VfioUserClient.connect(sock);
    const slow = await IavfDriver.attach(slowClient, { mapDoorbells: false, statsIntervalMs: 0 });
    const slowTail = slow.queuePairs[0]?.tx;
    if (!slowTail || slowTail.doorbellMapped) throw new Error("expected a region-write doorbell");
    let i = 0;
    const regionRate = await rate(() => slowTail.writeTail(i++ & 0x1ff));
    const regionRate32 = await rate(async () => {
      const all: (Promise<void> | undefined)[] = [];
      for (let k = 0; k < 32; k++) all.push(slowTail.writeTail(i++ & 0x1ff));
      await Promise.all(all);
    }, 1);
    await slow.close();
    await slowClient.close();
    console.log(`| TX tail doorbell, REGION_WRITE, 1 in flight | ${fmt(regionRate)} writes/s | 100% |`);
    console.log(
      `| TX tail doorbell, REGION_WRITE, 32 in flight | ${fmt(regionRate32 * 32)} writes/s | ${((regionRate32 * 32 * 100) / regionRate).toFixed(0)}% |`,
    );
    console.log(
      `| TX tail doorbell, mmapped page (plain store) | ${fmt(mmapRate)} writes/s | ${(mmapRate / regionRate).toFixed(0)}× |`,
    );
  } finally {
    device.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
