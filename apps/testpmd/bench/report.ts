// How testpmd's benchmarks print: the machine a run was measured on, and a set of per-second rates as its median and
// range in Mpps.
import { cpus, loadavg } from "node:os";
import { median } from "@emu/bench-kit";

/** "2 CPUs, load 1.52 1.61 1.70": the machine at the start of a run, for the heading. */
export const machine = (): string =>
  `${cpus().length} CPUs, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`;

/** The median of packets-per-second samples in Mpps with `digits` decimals; "-" without samples. */
export const mpps = (xs: readonly number[], digits = 2): string =>
  xs.length === 0 ? "-" : (median(xs) / 1e6).toFixed(digits);

/** " (min-max)" of packets-per-second samples in Mpps with `digits` decimals; "" without samples. */
export const mppsRange = (xs: readonly number[], digits = 2): string =>
  xs.length === 0 ? "" : ` (${(Math.min(...xs) / 1e6).toFixed(digits)}-${(Math.max(...xs) / 1e6).toFixed(digits)})`;
