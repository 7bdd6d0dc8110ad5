import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "@emu/bench-kit";
import { type RemoteTestpmd, spawnTestpmd } from "../src/index.js";
import { machine } from "./report.js";
import { pin, sleep } from "./two-sides.js";

const quick = process.argv.includes("--quick");
const HOPS = quick ? 4 : 12;
const MAC = "02:00:00:00:00:31";
const APP = ["--", "-i", "--txpkts=64"];
const MOVED = /Port 0 migrated: downtime ([\d.]+) ms, (\d+) bytes of device state, ([\d.]+) ms in all/;

const dir = mkdtempSync(join(tmpdir(), "emu-migration-bench-"));
const started: RemoteTestpmd[] = [];
const hops: { downtime: number; bytes: number; total: number }[] = [];
let txPps: number[] = [];
try {
  const socks = [join(dir, "a.sock"), join(dir, "c.sock")];
  for (const sock of socks) {
    const t = await spawnTestpmd(["--vdev", `emu_iavf0,sock=${sock},queues=1,mac=${MAC}`, ...APP], { wrap: pin(1) });
    started.push(t);
    await t.ask("port attach net_iavfbe,emu=emu_iavf0");
    await t.ask("port start 0");
    await t.ask("set fwd rxonly");
    await t.ask("start");
  }
  const b = await spawnTestpmd(["--vdev", `net_iavf_client0,path=${socks[0]}`, "--no-pci", ...APP], { wrap: pin(0) });
  started.push(b);
  await b.ask("set fwd txonly");
  await b.ask("start");
  await b.ask("show port stats 0");
  await sleep(2000);
  txPps = [...(await b.ask("show port stats 0")).matchAll(/Tx-pps: +(\d+)/g)].map((m) => Number(m[1]));
  for (let i = 0; i < HOPS; i++) {
    const out = await b.ask(`port migrate 0 ${socks[(i + 1) % 2]}`);
    const m = MOVED.exec(out);
    if (m === null) throw new Error(`hop ${i + 1}: ${out}`);
    hops.push({ downtime: Number(m[1]), bytes: Number(m[2]), total: Number(m[3]) });
    await sleep(500); // traffic runs on the destination before the next hop
  }
} finally {
  for (const t of started.reverse()) await t.quit().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

const ms = (xs: number[]) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)})`;
console.log(`\nLive migration under traffic: ${HOPS} hops between two back-end processes, ${machine()}`);
console.log(`the guest sending 64-byte packets at ${(median(txPps) / 1e6).toFixed(2)} Mpps; medians (range)\n`);
console.log("| downtime ms (traffic stopped) | whole move ms | device state bytes |");
console.log("| --- | --- | --- |");
console.log(
  `| ${ms(hops.map((h) => h.downtime))} | ${ms(hops.map((h) => h.total))} | ${median(hops.map((h) => h.bytes))} |`,
);
