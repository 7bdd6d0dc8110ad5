// `pnpm --filter @emu/app-testpmd soak [--minutes N] [--sample-s S]`: the emulated NIC forwarding both ways at the
// rate its two processes reach, for N minutes (default 5); memory sampled in both, its slope after the first minute
// reported; at the end the counters must agree exactly (test/fixtures/soak.ts). Exits 1 if they do not.
import { parseArgs } from "node:util";
import { runSoak, type SoakSide } from "../test/fixtures/soak.js";

const { values } = parseArgs({
  options: { minutes: { type: "string", default: "5" }, "sample-s": { type: "string", default: "10" } },
});
const minutes = Number(values.minutes);
const r = await runSoak({
  seconds: minutes * 60,
  sampleSeconds: Number(values["sample-s"]),
  warmupSeconds: Math.min(60, (minutes * 60) / 3),
  log: (l) => console.log(l),
});
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
const show = (name: string, s: SoakSide) => {
  const first = s.samples[0];
  const last = s.samples.at(-1);
  console.log(
    `${name}: sent ${s.sent}, received ${s.received}, discards ${s.discards}; RSS ${mib(first?.rss ?? 0)} -> ${mib(last?.rss ?? 0)} (slope ${mib(s.rssSlope)}/min), V8 heap ${mib(first?.heapUsed ?? 0)} -> ${mib(last?.heapUsed ?? 0)} (slope ${mib(s.heapSlope)}/min)`,
  );
};
console.log(`soak: ${r.seconds.toFixed(0)} s, ${r.guest.sent + r.device.sent} packets sent in all`);
show("device (emu_iavf0 + net_iavfbe)", r.device);
show("guest (net_iavf_client)", r.guest);
console.log(r.disagreements.length === 0 ? "counters agree exactly" : `DISAGREE: ${r.disagreements.join("; ")}`);
process.exit(r.disagreements.length === 0 ? 0 : 1);
