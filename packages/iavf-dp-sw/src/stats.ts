// The workers' counters, summed on the main thread: the VF's part goes to the NIC view's statistics in batches (what
// GET_STATS reports), the provider's own reasons for dropping are kept for `counters()` and the port's details.
import type { IavfNic, IavfStatsDelta } from "@emu/iavf-emu";
import { MAX_WORKERS, type SharedBlocks, STAT, STAT_WORDS, type StatName } from "./layout.js";

/** What the data path counted for one device (`iavfDpSw.counters(dev)`). */
export type DataPathCounters = { readonly [K in StatName]: number };

/** Which of our counters is which field of the VF's eth_stats. */
const VF_FIELDS: readonly (readonly [StatName, keyof IavfStatsDelta])[] = [
  ["txBytes", "txBytes"],
  ["txUnicast", "txUnicast"],
  ["txMulticast", "txMulticast"],
  ["txBroadcast", "txBroadcast"],
  ["txErrors", "txErrors"],
  ["rxBytes", "rxBytes"],
  ["rxUnicast", "rxUnicast"],
  ["rxMulticast", "rxMulticast"],
  ["rxBroadcast", "rxBroadcast"],
  ["rxDiscards", "rxDiscards"],
];

export class StatsBook {
  readonly #stats: Float64Array;
  /** What the VF's statistics were given so far, per counter. */
  readonly #given = new Float64Array(STAT_WORDS);

  constructor(
    blocks: SharedBlocks,
    private readonly nic: IavfNic,
  ) {
    this.#stats = new Float64Array(blocks.stats);
  }

  /** The sum over every worker slot (a worker adds only to its own: plain reads, at most one burst behind). */
  totals(): DataPathCounters {
    const out: Record<string, number> = {};
    for (const [name, i] of Object.entries(STAT)) {
      let sum = 0;
      for (let s = 0; s < MAX_WORKERS; s++) sum += this.#stats[s * STAT_WORDS + i]!;
      out[name] = sum;
    }
    return out as DataPathCounters;
  }

  /** Adds what the workers counted since the last flush to the VF's statistics. */
  flush(): void {
    const t = this.totals();
    const delta: Record<string, number> = {};
    let any = false;
    for (const [ours, field] of VF_FIELDS) {
      const i = STAT[ours];
      const d = t[ours] - this.#given[i]!;
      if (d <= 0) continue;
      delta[field] = d;
      this.#given[i] = t[ours];
      any = true;
    }
    if (any) this.nic.addStats(delta as IavfStatsDelta);
  }
}

/** How often the workers' counters reach the VF's statistics. */
const STATS_INTERVAL_MS = 50;
const flushing = new Set<StatsBook>();
let ticker: NodeJS.Timeout | undefined;

/**
 * Flushes `book` every STATS_INTERVAL_MS until the returned function is called. One timer serves every device of the
 * process (a timer each would wake the event loop once per device).
 */
export function flushPeriodically(book: StatsBook): () => void {
  flushing.add(book);
  if (ticker === undefined) {
    ticker = setInterval(() => {
      for (const b of flushing) b.flush();
    }, STATS_INTERVAL_MS);
    ticker.unref();
  }
  return () => {
    if (!flushing.delete(book) || flushing.size > 0) return;
    clearInterval(ticker);
    ticker = undefined;
  };
}
