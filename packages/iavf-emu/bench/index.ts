// pnpm --filter @emu/iavf-emu bench
//
// emu_iavf served in another process, driven from this one over a real socket by the tests' raw guest driver (memfd
// guest memory DMA-mapped). Rates: median of 5 windows of 500 ms after 300 ms (EMU_BENCH_QUICK=1: 3 × 200 ms), each
// as a percentage of the raw @emu/sys ping-pong with REGION_READ's sizes measured in the same run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { measure, median, rawClient } from "@emu/bench-kit";
import { encodeVirtchnl, qrxTail, Reg } from "@emu/iavf-common";
import { UnixSocket } from "@emu/sys";
import { bringUp, VSI } from "../test/fixtures/bring-up.js";
import { RawDriver } from "../test/fixtures/raw-driver.js";
import { ready, tsx } from "./processes.js";

const QUICK = process.env.EMU_BENCH_QUICK === "1";
const TIMING = QUICK ? { warmupMs: 200, windowMs: 200, windows: 3 } : { warmupMs: 300, windowMs: 500, windows: 5 };
const dir = mkdtempSync(join(tmpdir(), "emu-iavf-bench-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

/** Operations/s of `op` run back to back (one outstanding; the event loop gets a turn every 1024). */
async function rate(op: () => Promise<unknown> | unknown): Promise<number> {
  let n = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      await op();
      if ((++n & 1023) === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  const r = await measure(() => n, TIMING.warmupMs, TIMING.windowMs, TIMING.windows);
  running = false;
  await loop;
  return median(r.rates);
}

const rows: string[] = ["| case | per second | vs raw 32 B → 36 B, 1 in flight |", "| --- | --- | --- |"];
const print = (name: string, perSec: number, base: number) => {
  const row = `| ${name} | ${perSec >= 1e6 ? `${(perSec / 1e6).toFixed(2)}M` : `${(perSec / 1e3).toFixed(1)}k`} | ${((100 * perSec) / base).toFixed(0)}% |`;
  rows.push(row);
  console.log(rows.length === 3 ? rows.join("\n") : row);
};

const [a, b] = UnixSocket.pair();
const peer = await ready(tsx("raw-peer.ts", ["32", "36"], ["ignore", "pipe", "inherit", b.fd]));
b.close();
const raw = median((await rawClient(a, 32, 36, 1, TIMING)).rates);
a.close();
await new Promise((r) => peer.once("exit", r));
print("raw @emu/sys ping-pong 32 B → 36 B", raw, raw);

const sock = join(dir, "iavf.sock");
const server = await ready(
  tsx("server.ts", [`emu_iavf0,sock=${sock},queues=4,mac=02:00:00:00:00:01,link=up`], ["ignore", "pipe", "inherit"]),
);
const drv = await RawDriver.open(sock);
await bringUp(drv, 4);
while (await drv.receive()) {}
print("REGION_READ VFGEN_RSTAT (trapped register)", await rate(() => drv.r32(Reg.VFGEN_RSTAT)), raw);
print(
  "doorbell QRX_TAIL by REGION_WRITE",
  await rate(() => drv.client.regionWrite(0, BigInt(qrxTail(0)), new Uint8Array(4))),
  raw,
);
if (!drv.bar.isMapped(BigInt(qrxTail(0)), 4)) throw new Error("the doorbell page is not mapped");
let t = 0;
print(
  "doorbell QRX_TAIL through the mmapped page",
  await rate(() => drv.bar.write32(BigInt(qrxTail(0)), t++ & 0x1ff)),
  raw,
);
const stats = encodeVirtchnl({ kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 });
print("virtchnl GET_STATS round trip (ATQ → ARQ)", await rate(() => drv.request(stats.opcode, stats.payload)), raw);

// Driver init to link-up: RESET_VF, then the Linux bring-up until the LINK_CHANGE(up) after ENABLE_QUEUES.
const times: number[] = [];
for (let i = 0; i < (QUICK ? 5 : 20); i++) {
  await drv.send(2, new Uint8Array(0));
  const t0 = performance.now();
  await bringUp(drv, 4);
  const link = await drv.next();
  if (link.desc.cookieHigh !== 17) throw new Error("no LINK_CHANGE after ENABLE_QUEUES");
  times.push(performance.now() - t0);
}
console.log(
  `\ndriver init to link-up (RSTAT, admin queues, 7 virtchnl requests, LINK_CHANGE): median ${median(times).toFixed(2)} ms of ${times.length}`,
);
await drv.close();
server.kill("SIGTERM");
