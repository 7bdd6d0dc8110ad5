// `pnpm --filter @emu/app-testpmd soak [--minutes N] [--sample-s S] [--warmup-s W] [--queues Q] [--node-flags=F]`:
// two emu-testpmd processes forwarding flowgen both ways through the emulated NIC for N minutes (default 5, Q = 2
// queue pairs; test/fixtures/soak.ts), memory sampled in both every S seconds. At the end the counters must agree
// exactly, and from the end of the warm-up (W, default 60 s) each process's native memory and tenured V8 heap must be
// flat (test/fixtures/memory.ts, README "Reliability"). Exits 1 otherwise. F: node options for both processes (after an equals sign), e.g.
// "--min-semi-space-size=16" (a young generation grown from the start).
import { parseArgs } from "node:util";
import { flatAfterWarmup } from "../test/fixtures/memory.js";
import { runSoak, type SoakSide } from "../test/fixtures/soak.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    "sample-s": { type: "string", default: "10" },
    "warmup-s": { type: "string", default: "60" },
    queues: { type: "string", default: "2" },
    "node-flags": { type: "string", default: "" },
  },
});
const warmup = Number(values["warmup-s"]);
const r = await runSoak({
  seconds: Number(values.minutes) * 60,
  sampleSeconds: Number(values["sample-s"]),
  queues: Number(values.queues),
  node: values["node-flags"].split(" ").filter((f) => f !== ""),
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
