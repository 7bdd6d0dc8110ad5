// `pnpm --filter @emu/app-testpmd soak [--minutes N] [--sample-s S] [--warmup-s W] [--queues Q]`: two emu-testpmd
// processes forwarding flowgen both ways through the emulated NIC for N minutes (default 5; test/fixtures/soak.ts),
// memory sampled in both; at the end the counters must agree exactly and each process's RSS at the end may exceed
// its RSS at the end of the warm-up (default 60 s) by at most FLAT_RSS (README, "Reliability"). Exits 1 otherwise.
import { parseArgs } from "node:util";
import { flatAfterWarmup } from "../test/fixtures/memory.js";
import { runSoak, type SoakSide } from "../test/fixtures/soak.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    "sample-s": { type: "string", default: "10" },
    "warmup-s": { type: "string", default: "60" },
    queues: { type: "string", default: "2" },
  },
});
const warmup = Number(values["warmup-s"]);
const r = await runSoak({
  seconds: Number(values.minutes) * 60,
  sampleSeconds: Number(values["sample-s"]),
  queues: Number(values.queues),
  log: (l) => console.log(l),
});
const show = (name: string, s: SoakSide) => {
  const f = flatAfterWarmup(s.samples, warmup);
  console.log(
    `${name}: RX ${s.port.rx}, RX-missed ${s.port.missed}, TX ${s.port.tx}; per queue [rx, tx, tx-dropped] ${JSON.stringify(s.queues)}`,
  );
  console.log(`  ${f.summary}`);
  return f.problems;
};
console.log(`soak: ${r.seconds.toFixed(0)} s, ${r.guest.port.tx + r.device.port.tx} packets sent in all`);
const problems = [...show("device (emu_iavf0 + net_iavfbe)", r.device), ...show("guest (net_iavf_client)", r.guest)];
console.log(r.disagreements.length === 0 ? "counters agree exactly" : `DISAGREE: ${r.disagreements.join("; ")}`);
console.log(problems.length === 0 ? "memory flat after the warm-up" : `NOT FLAT: ${problems.join("; ")}`);
process.exit(r.disagreements.length === 0 && problems.length === 0 ? 0 : 1);
