// pnpm --filter @emu/iavf-emu bench (after index.ts)
//
// Live migration of a configured emu_iavf (4 queue pairs, filters, RSS) back and forth between two device processes,
// driven by `migrateDevice` of @emu/vfio-user-client from this process (the VMM), the guest's memory one memfd of this
// process mapped into both. Prints the downtime (source stopped → destination running) and the bytes of device state,
// median of the hops, beside a virtchnl GET_STATS round trip measured in the same run (the baseline).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "@emu/bench-kit";
import { encodeVirtchnl } from "@emu/iavf-common";
import { closeFds, memfdCreate } from "@emu/sys";
import { migrateDevice, VfioUserClient } from "@emu/vfio-user-client";
import { bringUp, VSI } from "../test/fixtures/bring-up.js";
import { GUEST_SIZE, RawDriver } from "../test/fixtures/raw-driver.js";
import { ready, tsx } from "./processes.js";

const HOPS = process.env.EMU_BENCH_QUICK === "1" ? 6 : 30;
const dir = mkdtempSync(join(tmpdir(), "emu-iavf-mig-bench-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

const socks = [join(dir, "a.sock"), join(dir, "b.sock")];
const servers = await Promise.all(
  socks.map((s) =>
    ready(
      tsx("server.ts", [`emu_iavf0,sock=${s},queues=4,mac=02:00:00:00:00:01,link=up`], ["ignore", "pipe", "inherit"]),
    ),
  ),
);
const fd = memfdCreate("guest", BigInt(GUEST_SIZE));
let drv = await RawDriver.open(socks[0] as string, { file: { fd } });
await bringUp(drv, 4);
await drv.call({ kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 3 });
while (await drv.receive()) {}

const stats = encodeVirtchnl({ kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 });
const rtt: number[] = [];
for (let i = 0; i < 200; i++) {
  const t = performance.now();
  await drv.request(stats.opcode, stats.payload);
  rtt.push(performance.now() - t);
}
const base = median(rtt);

const downtimes: number[] = [];
const totals: number[] = [];
let bytes = 0;
for (let hop = 1; hop <= HOPS; hop++) {
  const t = performance.now();
  const client = await VfioUserClient.connect(socks[hop % 2] as string);
  const next = await drv.moveTo(client);
  const r = await migrateDevice(drv.client, client);
  totals.push(performance.now() - t);
  downtimes.push(r.downtimeMs);
  bytes = r.deviceStateBytes;
  await drv.close(); // the source: its device resets for its next client
  drv = next;
  const check = await drv.request(stats.opcode, stats.payload); // the guest carries on at the destination
  if (check.status !== 0) throw new Error(`GET_STATS after hop ${hop}: status ${check.status}`);
}
await drv.close();
closeFds([fd]);
for (const s of servers) s.kill("SIGTERM");

const ms = (v: number) => `${v.toFixed(2)} ms`;
console.log(`\n| live migration, 4 queue pairs (median of ${HOPS} hops) | value | × GET_STATS round trip |`);
console.log("| --- | --- | --- |");
console.log(`| virtchnl GET_STATS round trip (baseline) | ${ms(base)} | 1.0 |`);
console.log(
  `| downtime: source stopped → destination running | ${ms(median(downtimes))} | ${(median(downtimes) / base).toFixed(1)} |`,
);
console.log(
  `| whole migrateDevice (connect, map, pre-copy, copy, resume) | ${ms(median(totals))} | ${(median(totals) / base).toFixed(1)} |`,
);
console.log(`| bytes of device state (STOP_COPY) | ${bytes} B | |`);
