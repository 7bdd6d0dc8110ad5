// The delegated data path (issue 13) beside the software one, three processes against two, in the same run: the
// guest (net_iavf_client, CPU 0) drives emu_iavf0, whose data queues are either served by net_iavfbe in the same
// process (the software path, CPU 1) or delegated (`port attach vfio-user:<sock>,dpa=1,emu=emu_iavf0`) to emu_iavf1
// in a third process served by net_iavfbe (the delegate, CPU 1, beside the front). 64-byte packets, one queue pair;
// guest TX (guest txonly, back-end rxonly) and guest RX (the other way round); Mpps is the receiving side's Rx-pps,
// one sample a second, median after a warm-up. The front is off the data path (the guest's tails go to the delegate's
// doorbell page, the delegate reads and writes guest memory itself): delegated / software should be close to 1.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "@emu/bench-kit";
import { type RemoteTestpmd, spawnTestpmd } from "../src/index.js";

const quick = process.argv.includes("--quick");
const SAMPLES = quick ? 3 : 6;
const WARMUP = 2;
const TRIALS = quick ? 1 : 2;
const hasTaskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0;
const pin = (cpu: number) => (hasTaskset ? ["taskset", "-c", String(cpu)] : []);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rxPps = (text: string) => [...text.matchAll(/Rx-pps: +(\d+)/g)].map((m) => Number(m[1]));
const APP = ["--", "-i", "--txpkts=64"];

type Kind = "guest TX" | "guest RX";
const MODES: Record<Kind, { guest: string; backend: string; measure: "guest" | "backend" }> = {
  "guest TX": { guest: "txonly", backend: "rxonly", measure: "backend" },
  "guest RX": { guest: "rxonly", backend: "txonly", measure: "guest" },
};

/** One measurement: the back-end (software: emu_iavf0's own process; delegated: the delegate's), then the guest. */
async function run(kind: Kind, delegated: boolean): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), "emu-dpa-bench-"));
  const front = join(dir, "front.sock");
  const started: RemoteTestpmd[] = [];
  const spawned = async (argv: string[], cpu: number) => {
    const t = await spawnTestpmd(argv, { wrap: pin(cpu) });
    started.push(t);
    return t;
  };
  try {
    let backend: RemoteTestpmd;
    if (delegated) {
      const del = join(dir, "delegate.sock");
      backend = await spawned(["--vdev", `emu_iavf1,sock=${del},queues=1`, ...APP], 1);
      await backend.ask("port attach net_iavfbe,emu=emu_iavf1");
      await backend.ask("port start 0");
      const f = await spawned(["--vdev", `emu_iavf0,sock=${front},queues=1`, ...APP], 1);
      const attached = await f.ask(`port attach vfio-user:${del},dpa=1,emu=emu_iavf0`);
      if (!attached.includes("is attached")) throw new Error(`the front did not attach its delegate: ${attached}`);
      await f.ask("port start 0");
    } else {
      backend = await spawned(["--vdev", `emu_iavf0,sock=${front},queues=1`, ...APP], 1);
      await backend.ask("port attach net_iavfbe,emu=emu_iavf0");
      await backend.ask("port start 0");
    }
    const guest = await spawned(["--vdev", `net_iavf_client0,path=${front}`, "--no-pci", ...APP], 0);
    const m = MODES[kind];
    await backend.ask(`set fwd ${m.backend}`);
    await guest.ask(`set fwd ${m.guest}`);
    const [first, second] = m.measure === "backend" ? [backend, guest] : [guest, backend];
    await first.ask("start");
    await second.ask("start");
    const measured = m.measure === "backend" ? backend : guest;
    const samples: number[] = [];
    await measured.ask("show port stats 0");
    for (let i = 0; i < SAMPLES + WARMUP; i++) {
      await sleep(1000);
      samples.push(...rxPps(await measured.ask("show port stats 0")));
    }
    return samples.slice(WARMUP);
  } finally {
    for (const t of started.reverse()) await t.quit().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const mpps = (xs: readonly number[]) => (median(xs) / 1e6).toFixed(2);
const range = (xs: readonly number[]) => `${(Math.min(...xs) / 1e6).toFixed(2)}-${(Math.max(...xs) / 1e6).toFixed(2)}`;

console.log(
  `\nThe delegated data path beside the software one (three processes against two): ${cpus().length} CPUs, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
console.log(
  `64-byte packets, 1 queue pair, ${SAMPLES} one-second samples after ${WARMUP} of warm-up, ${TRIALS} trial(s)`,
);
console.log("alternating the two paths; medians (range)\n");
console.log("| direction | software path Mpps | delegated path Mpps | delegated / software |");
console.log("| --- | --- | --- | --- |");
for (const kind of Object.keys(MODES) as Kind[]) {
  const soft: number[] = [];
  const dele: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    soft.push(...(await run(kind, false)));
    dele.push(...(await run(kind, true)));
  }
  const ratio = (median(dele) / median(soft)).toFixed(2);
  console.log(`| ${kind} | ${mpps(soft)} (${range(soft)}) | ${mpps(dele)} (${range(dele)}) | ${ratio} |`);
}
