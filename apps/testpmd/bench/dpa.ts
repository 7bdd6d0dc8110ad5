import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "@emu/bench-kit";
import { type RemoteTestpmd, spawnTestpmd } from "../src/index.js";
import { machine, mpps, mppsRange } from "./report.js";
import { type Kind, pin, sampleRates } from "./two-sides.js";

const quick = process.argv.includes("--quick");
const SAMPLES = quick ? 3 : 6;
const WARMUP = 2;
const TRIALS = quick ? 1 : 2;
const APP = ["--", "-i", "--txpkts=64"];

/** The directions compared (the io loop is the NIC benchmark's). */
const KINDS: readonly Kind[] = ["guest TX", "guest RX"];

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
    return await sampleRates(backend, guest, kind, SAMPLES, WARMUP);
  } finally {
    for (const t of started.reverse()) await t.quit().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`\nThe delegated data path beside the software one (three processes against two): ${machine()}`);
console.log(
  `64-byte packets, 1 queue pair, ${SAMPLES} one-second samples after ${WARMUP} of warm-up, ${TRIALS} trial(s)`,
);
console.log("alternating the two paths; medians (range)\n");
console.log("| direction | software path Mpps | delegated path Mpps | delegated / software |");
console.log("| --- | --- | --- | --- |");
for (const kind of KINDS) {
  const soft: number[] = [];
  const dele: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    soft.push(...(await run(kind, false)));
    dele.push(...(await run(kind, true)));
  }
  const ratio = (median(dele) / median(soft)).toFixed(2);
  console.log(`| ${kind} | ${mpps(soft)}${mppsRange(soft)} | ${mpps(dele)}${mppsRange(dele)} | ${ratio} |`);
}
