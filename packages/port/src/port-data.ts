// A port's data half as a worker thread runs it: the driver's data module loaded from the port's description, bursts
// counted into the port's shared statistics, and a guard that a thread only touches the queues it was given.
import type { DriverCounter, PortDataDriver, PortDataEnv, PortDataFactory } from "./driver.js";
import { PortError } from "./errors.js";
import { MBUF_LEN, MBUF_META_WORDS, MbufPool } from "./mbuf-pool.js";
import type { PortDataDescription } from "./port.js";
import { STAT_BYTES, STAT_ERRORS, STAT_MISSED, STAT_NOMBUF, STAT_PACKETS, StatsBlock } from "./stats.js";

export interface OpenPortDataOptions {
  /** RX queues this thread serves (default: all). */
  readonly rxQueues?: readonly number[];
  /** TX queues this thread serves (default: all). */
  readonly txQueues?: readonly number[];
  /** This thread's view of the port's pool, when it has one already (else one is attached and closed with the port). */
  readonly pool?: MbufPool;
}

function queues(list: readonly number[] | undefined, count: number, what: string, port: string): number[] {
  const out = list === undefined ? Array.from({ length: count }, (_, i) => i) : [...list];
  for (const q of out)
    if (!Number.isInteger(q) || q < 0 || q >= count)
      throw new PortError("InvalidValue", `${port}: no ${what} queue ${q} (it has ${count})`);
  return out;
}

/** A port's data half in this thread. */
export class PortData {
  readonly name: string;
  readonly pool: MbufPool;
  readonly #driver: PortDataDriver;
  readonly #stats: Float64Array;
  readonly #meta: Uint32Array;
  /** Per queue: its first stats slot, or -1 when this thread does not serve it. */
  readonly #rxSlot: Int32Array;
  readonly #txSlot: Int32Array;
  readonly #ownPool: boolean;
  #closed = false;

  private constructor(
    name: string,
    driver: PortDataDriver,
    pool: MbufPool,
    ownPool: boolean,
    stats: Float64Array,
    rx: Int32Array,
    tx: Int32Array,
  ) {
    this.name = name;
    this.#driver = driver;
    this.pool = pool;
    this.#ownPool = ownPool;
    this.#stats = stats;
    this.#meta = pool.meta;
    this.#rxSlot = rx;
    this.#txSlot = tx;
  }

  static async open(desc: PortDataDescription, options: OpenPortDataOptions = {}): Promise<PortData> {
    const servedRx = queues(options.rxQueues, desc.rxQueues, "RX", desc.port);
    const servedTx = queues(options.txQueues, desc.txQueues, "TX", desc.port);
    const shared = options.pool !== undefined && options.pool.id === desc.pool.id;
    const pool = shared ? options.pool! : MbufPool.attach(desc.pool);
    try {
      const stats = new Float64Array(desc.stats);
      const rx = new Int32Array(desc.rxQueues).fill(-1);
      const tx = new Int32Array(desc.txQueues).fill(-1);
      for (const q of servedRx) rx[q] = StatsBlock.rxSlot(q);
      for (const q of servedTx) tx[q] = StatsBlock.txSlot(desc.rxQueues, q);
      const env: PortDataEnv = {
        port: desc.port,
        pool,
        rxQueues: desc.rxQueues,
        txQueues: desc.txQueues,
        rxDesc: desc.rxDesc,
        txDesc: desc.txDesc,
        servedRx,
        servedTx,
        count(counter: DriverCounter, queue: number, n: number) {
          const isRx = counter !== "oerrors";
          const base = (isRx ? rx : tx)[queue];
          if (base === undefined || base < 0) return;
          const slot =
            counter === "ierrors" || counter === "oerrors"
              ? STAT_ERRORS
              : counter === "imissed"
                ? STAT_MISSED
                : STAT_NOMBUF;
          stats[base + slot] = stats[base + slot]! + n;
        },
      };
      const mod = (await import(desc.module)) as { openPortData?: PortDataFactory };
      if (typeof mod.openPortData !== "function")
        throw new PortError("InvalidValue", `${desc.port}: ${desc.module} does not export openPortData`);
      const driver = await mod.openPortData(desc.params, env);
      return new PortData(desc.port, driver, pool, !shared, stats, rx, tx);
    } catch (e) {
      if (!shared) pool.close();
      throw e;
    }
  }

  /** Receives up to n packets into bufs[0..k) (the caller owns them); counts them. */
  rxBurst(queue: number, bufs: Uint32Array, n: number): number {
    const slot = this.#rxSlot[queue];
    if (slot === undefined || slot < 0) throw this.#notServed("RX", queue);
    const k = this.#driver.rxBurst(queue, bufs, n);
    if (k > 0) {
      const meta = this.#meta;
      let bytes = 0;
      for (let i = 0; i < k; i++) bytes += meta[bufs[i]! * MBUF_META_WORDS + MBUF_LEN]!;
      const s = this.#stats;
      s[slot + STAT_PACKETS] = s[slot + STAT_PACKETS]! + k;
      s[slot + STAT_BYTES] = s[slot + STAT_BYTES]! + bytes;
    }
    return k;
  }

  /** Sends bufs[0..k) (the port owns them now; k ≤ n); bufs[k..n) stay the caller's. Counts what was taken. */
  txBurst(queue: number, bufs: Uint32Array, n: number): number {
    const slot = this.#txSlot[queue];
    if (slot === undefined || slot < 0) throw this.#notServed("TX", queue);
    const meta = this.#meta;
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += meta[bufs[i]! * MBUF_META_WORDS + MBUF_LEN]!;
    const k = this.#driver.txBurst(queue, bufs, n);
    for (let i = k; i < n; i++) bytes -= meta[bufs[i]! * MBUF_META_WORDS + MBUF_LEN]!;
    if (k > 0) {
      const s = this.#stats;
      s[slot + STAT_PACKETS] = s[slot + STAT_PACKETS]! + k;
      s[slot + STAT_BYTES] = s[slot + STAT_BYTES]! + bytes;
    }
    return k;
  }

  /** Pushes out what the driver buffers (call when idle). */
  flush(): void {
    this.#driver.flush?.();
  }

  /** Flushes and closes the data half in this thread; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#driver.flush?.();
      this.#driver.close();
    } finally {
      if (this.#ownPool) this.pool.close();
    }
  }

  #notServed(what: string, queue: number): PortError {
    return new PortError("BadState", `${this.name}: this thread does not serve ${what} queue ${queue}`);
  }
}

/** Opens a port's data half in this thread (see PortData). */
export function openPortData(desc: PortDataDescription, options?: OpenPortDataOptions): Promise<PortData> {
  return PortData.open(desc, options);
}
