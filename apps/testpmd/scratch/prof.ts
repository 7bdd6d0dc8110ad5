// scratch: profile process A (device) in a two-process run; not committed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnTestpmd } from "../src/index.js";

const mode = process.argv[2] ?? "rx";
const queues = Number(process.argv[3] ?? 1);
const profA = process.argv.includes("--prof");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rxPps = (t: string) => [...t.matchAll(/Rx-pps: +(\d+)/g)].map((m) => Number(m[1]));
const dir = mkdtempSync(join(tmpdir(), "prof-"));
const sock = join(dir, "nic.sock");
const q = [`--rxq=${queues}`, `--txq=${queues}`, "--txpkts=64", ...(queues > 1 ? ["--txonly-multi-flow"] : [])];
const a = await spawnTestpmd(["--vdev", `emu_iavf0,sock=${sock},queues=${queues}`, "--", "-i", ...q], {
  wrap: ["taskset", "-c", "1"],
  node: profA ? ["--cpu-prof", "--cpu-prof-dir=/tmp/prof/a"] : [],
});
await a.ask("port attach net_iavfbe,emu=emu_iavf0");
await a.ask("port start 0");
const b = await spawnTestpmd(["--vdev", `net_iavf_client0,path=${sock}`, "--no-pci", "--", "-i", ...q], {
  wrap: ["taskset", "-c", "0"],
});
const modes: Record<string, [string, string, "a" | "b"]> = { rx: ["txonly", "rxonly", "b"], tx: ["rxonly", "txonly", "a"], io: ["io", "io", "a"] };
const [am, bm, meas] = modes[mode]!;
await a.ask(`set fwd ${am}`);
await b.ask(`set fwd ${bm}`);
const [first, second] = meas === "a" ? [a, b] : [b, a];
await first.ask("start");
await second.ask(mode === "io" ? "start tx_first" : "start");
const m = meas === "a" ? a : b;
await m.ask("show port stats 0");
const s: number[] = [];
for (let i = 0; i < 8; i++) {
  await sleep(1000);
  s.push(...rxPps(await m.ask("show port stats 0")));
}
console.log(mode, queues, s.slice(2).map((x) => (x / 1e6).toFixed(2)).join(" "));
await b.quit();
await a.quit();
rmSync(dir, { recursive: true, force: true });
