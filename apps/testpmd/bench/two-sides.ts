// What the NIC benchmarks share: the two sides of a virtual NIC (the guest and the back-end) each a process pinned to
// its CPU, the forwarding modes of each direction, and the measurement — the receiving side's Rx-pps from testpmd's
// `show port stats`, one sample a second after a warm-up.
import { spawnSync } from "node:child_process";
import type { RemoteTestpmd } from "../src/index.js";

const hasTaskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0;

/** The wrapper that confines a process to `cpu` (none without taskset). */
export const pin = (cpu: number): string[] => (hasTaskset ? ["taskset", "-c", String(cpu)] : []);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The Rx-pps figures of a `show port stats` (or a --stats-period print). */
export const rxPps = (text: string): number[] => [...text.matchAll(/Rx-pps: +(\d+)/g)].map((m) => Number(m[1]));

export type Kind = "guest TX" | "guest RX" | "io loop";

/** Forward modes of the guest side (B / virtio) and the back-end (A / vhost), and which side is measured. */
export const MODES: Record<Kind, { guest: string; backend: string; measure: "guest" | "backend" }> = {
  "guest TX": { guest: "txonly", backend: "rxonly", measure: "backend" },
  "guest RX": { guest: "rxonly", backend: "txonly", measure: "guest" },
  "io loop": { guest: "io", backend: "io", measure: "backend" },
};

/**
 * Sets both sides' modes for `kind`, starts the measured side first (the io loop's guest with tx_first), and returns
 * `samples` one-second Rx-pps figures of the measured side after `warmup` of them.
 */
export async function sampleRates(
  backend: RemoteTestpmd,
  guest: RemoteTestpmd,
  kind: Kind,
  samples: number,
  warmup: number,
): Promise<number[]> {
  const m = MODES[kind];
  await backend.ask(`set fwd ${m.backend}`);
  await guest.ask(`set fwd ${m.guest}`);
  const [first, second] = m.measure === "backend" ? [backend, guest] : [guest, backend];
  await first.ask("start");
  await second.ask(kind === "io loop" ? "start tx_first" : "start");
  const measured = m.measure === "backend" ? backend : guest;
  const out: number[] = [];
  await measured.ask("show port stats 0");
  for (let i = 0; i < samples + warmup; i++) {
    await sleep(1000);
    out.push(...rxPps(await measured.ask("show port stats 0")));
  }
  return out.slice(warmup);
}
