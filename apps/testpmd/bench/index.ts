// emu-testpmd against DPDK's dpdk-testpmd in the same run: the same interactive commands to both, packets per second
// read from `show port stats` once a second. See bench/README.md for what is measured and excluded.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { median } from "@emu/bench-kit";
import { machine, mpps, mppsRange } from "./report.js";

const quick = process.argv.includes("--quick");
const SECONDS = quick ? 3 : 6;
const WARMUP = 2; // shows skipped: the first has no rate, the second may include the start
const TRIALS = quick ? 1 : 2;
const bin = fileURLToPath(new URL("../bin/emu-testpmd.js", import.meta.url));
const hasDpdk =
  spawnSync("dpdk-testpmd", ["-v", "--no-huge", "--no-pci", "-m", "64", "--file-prefix=probe"], {
    timeout: 10_000,
  }).error === undefined;
const hasTaskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0;

interface Row {
  readonly name: string;
  /** The CPUs both run on (taskset for emu; DPDK's own --lcores mapping). */
  readonly cpus: string;
  readonly emu: readonly string[];
  readonly dpdk: readonly string[];
  readonly start: string;
  readonly show: string;
}

const ROWS: readonly Row[] = [
  {
    name: "net_null io, 1 port, 1 forwarding lcore (the framework's ceiling)",
    cpus: "0,1",
    emu: ["-l", "0-1", "--vdev", "net_null0", "--", "-i"],
    dpdk: ["--lcores=0@0,1@1", "--vdev", "net_null0", "--", "-i"],
    start: "start",
    show: "show port stats 0",
  },
  {
    name: "net_ring io loop across 2 lcores, start tx_first 4 (256 packets in flight)",
    cpus: "0,1",
    emu: ["-l", "0-2", "--vdev", "net_ring0", "--vdev", "net_ring1,peer=net_ring0", "--", "-i", "--nb-cores=2"],
    // DPDK's net_ring ports are loopbacks: with two ports the streams still cross lcores (ring 0 is written by
    // lcore 2 and read by lcore 1), the same pattern as emu's pair.
    dpdk: ["--lcores=0@0,1@0,2@1", "--vdev", "net_ring0", "--vdev", "net_ring1", "--", "-i", "--nb-cores=2"],
    start: "start tx_first 4",
    show: "show port stats all",
  },
];

/** Runs one testpmd, feeding commands; resolves with the summed Rx-pps of each show after the warm-up. */
function measure(cmd: string, args: readonly string[], row: Row): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "ignore"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const send = (line: string) => child.stdin.write(`${line}\n`);
    const timers: NodeJS.Timeout[] = [];
    const at = (s: number, f: () => void) => timers.push(setTimeout(f, s * 1000));
    at(1.5, () => send(row.start));
    for (let i = 0; i <= SECONDS + WARMUP; i++) at(2.5 + i, () => send(row.show));
    at(3 + SECONDS + WARMUP, () => {
      send("stop");
      send("quit");
    });
    const kill = setTimeout(() => child.kill("SIGKILL"), (SECONDS + WARMUP + 20) * 1000);
    child.once("exit", () => {
      clearTimeout(kill);
      for (const t of timers) clearTimeout(t);
      const shows = out.split("Throughput (since last show)").length - 1;
      const perShow = row.show.endsWith("all") ? 2 : 1;
      const rates = [...out.matchAll(/Rx-pps: +(\d+)/g)].map((m) => Number(m[1]));
      const sums: number[] = [];
      for (let i = 0; i + perShow <= rates.length; i += perShow)
        sums.push(rates.slice(i, i + perShow).reduce((a, b) => a + b, 0));
      if (shows < WARMUP + 2) reject(new Error(`${cmd} printed ${shows} statistics: ${out.slice(-500)}`));
      else resolve(sums.slice(WARMUP));
    });
  });
}

function emu(row: Row): Promise<number[]> {
  const node = [process.execPath, bin, ...row.emu];
  return hasTaskset ? measure("taskset", ["-c", row.cpus, ...node], row) : measure(node[0]!, node.slice(1), row);
}

function dpdk(row: Row, n: number): Promise<number[]> {
  const eal = ["--no-huge", "-m", "1024", "--no-pci", `--file-prefix=emu-bench-${process.pid}-${n}`];
  return measure("dpdk-testpmd", [...eal, ...row.dpdk], row);
}

console.log(`emu-testpmd vs dpdk-testpmd: ${machine()}`);
console.log(`${SECONDS} one-second samples per run, ${TRIALS} run(s) each, alternating; medians (range)\n`);
console.log("| setup | emu Mpps | DPDK 22.11 Mpps | emu / DPDK |");
console.log("| --- | --- | --- | --- |");
for (const row of ROWS) {
  const e: number[] = [];
  const d: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    e.push(...(await emu(row)));
    if (hasDpdk) d.push(...(await dpdk(row, t)));
  }
  const ratio = d.length > 0 ? (median(e) / median(d)).toFixed(2) : "dpdk-testpmd not installed";
  console.log(`| ${row.name} | ${mpps(e, 1)}${mppsRange(e, 1)} | ${mpps(d, 1)}${mppsRange(d, 1)} | ${ratio} |`);
}
