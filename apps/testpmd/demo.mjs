#!/usr/bin/env node
// @ts-check
// emu's demo (pnpm demo): packets through the emulated Intel AVF NIC, two processes, unattended, a few seconds.
//
//   A  emu-testpmd --vdev 'emu_iavf0,sock=<tmp>/nic.sock,queues=2' -- -i      the device and its back-end:
//      port attach net_iavfbe,emu=emu_iavf0 / port start                         emu_iavf served over vfio-user,
//                                                                                 iavf-dp-sw moving the packets
//   B  emu-testpmd --vdev 'net_iavf_client0,path=<tmp>/nic.sock' --no-pci -- -i the guest side: the iavf driver
//                                                                                 over the vfio-user socket
// B transmits (txonly) and A receives (rxonly), then the other way round; the live rates are printed as testpmd
// shows them, then each side's forwarding summary. Exits 0 with both processes gone and the directory removed (1 on
// any failure, with the reason).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnTestpmd } from "./dist/index.js";

const dir = mkdtempSync(join(tmpdir(), "emu-nic-demo-"));
const sock = join(dir, "nic.sock");
const QUEUES = 2;
const say = (/** @type {string} */ s) => process.stdout.write(`${s}\n`);
const indent = (/** @type {string} */ tag, /** @type {string} */ text) =>
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => `  ${tag} │ ${l}`)
    .join("\n");
const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
/** @type {import("./dist/index.js").RemoteTestpmd[]} */
const running = [];

/** The Rx-pps / Tx-pps of port 0 from "show port stats 0". */
function rates(/** @type {string} */ text) {
  const n = (/** @type {string} */ label) => Number(new RegExp(`${label}: +(\\d+)`).exec(text)?.[1] ?? 0);
  const mpps = (/** @type {number} */ x) => `${(x / 1e6).toFixed(2)} Mpps`;
  return `rx ${mpps(n("Rx-pps"))}  tx ${mpps(n("Tx-pps"))}  (total rx ${n("RX-packets")}, tx ${n("TX-packets")})`;
}

/** Runs `sender` txonly and `receiver` rxonly for ~2 s, printing live rates, then both forwarding summaries. */
async function stream(
  /** @type {string} */ title,
  /** @type {{ t: import("./dist/index.js").RemoteTestpmd, tag: string }} */ sender,
  /** @type {{ t: import("./dist/index.js").RemoteTestpmd, tag: string }} */ receiver,
) {
  say(`\n── ${title} ──`);
  for (const side of [sender, receiver]) await side.t.ask("clear port stats all");
  await receiver.t.ask("set fwd rxonly");
  await receiver.t.ask("start");
  await sender.t.ask("set fwd txonly");
  await sender.t.ask("start");
  await sender.t.ask("show port stats 0"); // the throughput baseline
  await receiver.t.ask("show port stats 0");
  for (let i = 0; i < 4; i++) {
    await sleep(500);
    say(`  ${sender.tag} sends    ${rates(await sender.t.ask("show port stats 0"))}`);
    say(`  ${receiver.tag} receives ${rates(await receiver.t.ask("show port stats 0"))}`);
  }
  const sent = await sender.t.ask("stop");
  await sleep(200);
  const received = await receiver.t.ask("stop");
  const summary = (/** @type {string} */ s) => s.slice(s.indexOf("  ++++")).replace(/\nDone\.\s*$/, "");
  say(indent(sender.tag, summary(sent)));
  say(indent(receiver.tag, summary(received)));
}

async function main() {
  say("emu demo: the emulated Intel AVF NIC (emu_iavf) between two emu-testpmd processes, over vfio-user\n");
  const a = await spawnTestpmd([
    "--vdev",
    `emu_iavf0,sock=${sock},queues=${QUEUES}`,
    "--",
    "-i",
    `--rxq=${QUEUES}`,
    `--txq=${QUEUES}`,
  ]);
  running.push(a);
  say(`A: emu-testpmd --vdev 'emu_iavf0,sock=${sock},queues=${QUEUES}' -- -i`);
  say(indent("A", a.banner));
  say(
    indent(
      "A",
      `testpmd> port attach net_iavfbe,emu=emu_iavf0\n${await a.ask("port attach net_iavfbe,emu=emu_iavf0")}`,
    ),
  );
  say(indent("A", `testpmd> port start 0\n${await a.ask("port start 0")}`));

  const b = await spawnTestpmd([
    "--vdev",
    `net_iavf_client0,path=${sock}`,
    "--no-pci",
    "--",
    "-i",
    `--rxq=${QUEUES}`,
    `--txq=${QUEUES}`,
  ]);
  running.push(b);
  say(`\nB: emu-testpmd --vdev 'net_iavf_client0,path=${sock}' --no-pci -- -i`);
  say(indent("B", b.banner));
  say(indent("A", `testpmd> show port summary all\n${await a.ask("show port summary all")}`));
  say(indent("B", `testpmd> show port summary all\n${await b.ask("show port summary all")}`));
  const info = await b.ask("show port info 0");
  say(
    indent(
      "B",
      info
        .split("\n")
        .filter((l) => /Driver name|Socket|Virtchnl|Doorbells|Pool|Link status/.test(l))
        .join("\n"),
    ),
  );

  await stream("guest TX: B txonly → A rxonly (through the guest's TX rings)", { t: b, tag: "B" }, { t: a, tag: "A" });
  await stream(
    "guest RX: A txonly → B rxonly (into the guest's RX rings, RSS over 2 queues)",
    { t: a, tag: "A" },
    {
      t: b,
      tag: "B",
    },
  );

  say("\nquit");
  const statusB = await b.quit();
  const statusA = await a.quit();
  running.length = 0;
  if (statusA !== 0 || statusB !== 0) throw new Error(`testpmd exited ${statusA} (A) and ${statusB} (B)`);
  say("both processes exited 0; done.");
}

main()
  .then(() => 0)
  .catch(async (e) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    for (const t of running) t.process.kill("SIGKILL");
    return 1;
  })
  .then((code) => {
    rmSync(dir, { recursive: true, force: true });
    process.exitCode = code;
  });
