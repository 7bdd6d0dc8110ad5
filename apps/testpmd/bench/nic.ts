// The emulated NIC across two processes against DPDK's standard two-process virtual NIC, in the same run: emu_iavf +
// net_iavfbe (process A, CPU 1) with net_iavf_client (process B, CPU 0), and DPDK 22.11's net_vhost (CPU 1) with
// net_virtio_user (CPU 0), as ../shared/docs/dpdk-anchor.md runs them. 64-byte packets; guest TX (the guest side
// txonly, the back-end rxonly), guest RX (the other way round) and the io loop (io on both, tx_first); 1 and 2 queue
// pairs. Mpps is the receiving side's Rx-pps, one sample a second, median after a warm-up; ratio = emu / DPDK. With 2
// pairs both generate with --txonly-multi-flow (the source address varies per packet), so that the NIC's RSS spreads
// the guest's receive over both queues as vhost's queue-to-queue mapping does; with one flow it would all go to one.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "@emu/bench-kit";
import { type RemoteTestpmd, spawnTestpmd } from "../src/index.js";
import { machine, mpps, mppsRange } from "./report.js";
import { type Kind, MODES, pin, rxPps, sampleRates, sleep } from "./two-sides.js";

const quick = process.argv.includes("--quick");
const SAMPLES = quick ? 3 : 6;
const WARMUP = 2;
const hasDpdk =
  spawnSync("dpdk-testpmd", ["-v", "--no-huge", "--no-pci", "-m", "64", "--file-prefix=probe"], { timeout: 10_000 })
    .error === undefined;

/** --txonly-multi-flow where there are queues to spread over (both sides, emu and DPDK alike). */
const multiFlow = (queues: number) => (queues > 1 ? ["--txonly-multi-flow"] : []);

async function emu(kind: Kind, queues: number): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), "emu-nic-bench-"));
  const sock = join(dir, "nic.sock");
  const q = [`--rxq=${queues}`, `--txq=${queues}`, "--txpkts=64", ...multiFlow(queues)];
  const started: RemoteTestpmd[] = [];
  try {
    const a = await spawnTestpmd(["--vdev", `emu_iavf0,sock=${sock},queues=${queues}`, "--", "-i", ...q], {
      wrap: pin(1),
    });
    started.push(a);
    await a.ask("port attach net_iavfbe,emu=emu_iavf0");
    await a.ask("port start 0");
    const b = await spawnTestpmd(["--vdev", `net_iavf_client0,path=${sock}`, "--no-pci", "--", "-i", ...q], {
      wrap: pin(0),
    });
    started.push(b);
    return await sampleRates(a, b, kind, SAMPLES, WARMUP);
  } finally {
    for (const t of started.reverse()) await t.quit().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** DPDK's pair, non-interactive with --stats-period 1; the measured side's Rx-pps lines. */
async function dpdk(kind: Kind, queues: number): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), "dpdk-nic-bench-"));
  const sock = join(dir, "vhost.sock");
  const m = MODES[kind];
  const common = (prefix: string) => ["--no-huge", "-m", "1024", "--no-pci", `--file-prefix=${prefix}-${process.pid}`];
  const app = (mode: string, extra: string[] = []) => [
    "--",
    `--forward-mode=${mode}`,
    "--auto-start",
    "--stats-period",
    "1",
    "--txpkts=64",
    ...multiFlow(queues),
    `--rxq=${queues}`,
    `--txq=${queues}`,
    ...extra,
  ];
  const run = (args: string[], seconds: number) => {
    const p = spawn("timeout", [String(seconds), "dpdk-testpmd", ...args], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    return { p, out: () => out, done: new Promise((r) => p.once("exit", r)) };
  };
  const vhost = run(
    ["--lcores=0@1,1@1", ...common("vh"), `--vdev=net_vhost0,iface=${sock},queues=${queues}`, ...app(m.backend)],
    SAMPLES + WARMUP + 60,
  );
  // The back-end makes its socket once its EAL is up (slow on a loaded machine): the front end starts after it.
  for (let i = 0; i < 60 && !existsSync(sock); i++) await sleep(500);
  const virtio = run(
    [
      "--lcores=0@0,1@0",
      ...common("vu"),
      `--vdev=net_virtio_user0,path=${sock},queues=${queues}`,
      ...app(m.guest, kind === "io loop" ? ["--tx-first"] : []),
    ],
    SAMPLES + WARMUP + 25,
  );
  // Samples from the first one with traffic on (the EAL start is not the benchmark's); both stop once there are enough.
  const measured = m.measure === "backend" ? vhost : virtio;
  const wanted = () => {
    const rates = rxPps(measured.out());
    const first = rates.findIndex((x) => x > 0);
    return first < 0 ? [] : rates.slice(first + WARMUP, first + WARMUP + SAMPLES);
  };
  let exited = false;
  void virtio.done.then(() => {
    exited = true;
  });
  while (!exited && wanted().length < SAMPLES) await sleep(500);
  for (const side of [virtio, vhost]) side.p.kill("SIGINT");
  await Promise.all([virtio.done, vhost.done]);
  rmSync(dir, { recursive: true, force: true });
  return wanted();
}

console.log(
  `emu_iavf (net_iavfbe ↔ net_iavf_client) vs DPDK (net_vhost ↔ net_virtio_user), two processes: ${machine()}`,
);
console.log(`64-byte packets, ${SAMPLES} one-second samples after ${WARMUP} of warm-up; medians (range)\n`);
console.log("| setup | queue pairs | emu Mpps | DPDK 22.11 Mpps | emu / DPDK |");
console.log("| --- | --- | --- | --- | --- |");
for (const queues of [1, 2]) {
  for (const kind of Object.keys(MODES) as Kind[]) {
    const e = await emu(kind, queues);
    const d = hasDpdk ? await dpdk(kind, queues) : [];
    const ratio = !hasDpdk
      ? "dpdk-testpmd not installed"
      : d.length > 0
        ? (median(e) / median(d)).toFixed(3)
        : "DPDK gave no samples";
    console.log(`| ${kind} | ${queues} | ${mpps(e)}${mppsRange(e)} | ${mpps(d)}${mppsRange(d)} | ${ratio} |`);
  }
}
