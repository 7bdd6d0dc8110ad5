// Forwarding as the main thread runs it: one worker thread per forwarding lcore, given its streams and the data
// halves of its ports (leased, so no port can stop under it), started together, stopped together.
import { Worker } from "node:worker_threads";
import type { MbufPool, Port, PortLease } from "@emu/port";
import type { FwdConfig } from "./config.js";
import { STREAM_SLOTS } from "./modes.js";
import type { FwdMode } from "./modes-list.js";
import { CTL_STATE, type LcoreMessage, type LcoreTask, type LcoreThread, STATE_RUN, STATE_STOP } from "./task.js";

export interface FwdPlan {
  readonly config: FwdConfig;
  readonly ports: ReadonlyMap<number, Port>;
  readonly pool: MbufPool;
  readonly mode: FwdMode;
  readonly burst: number;
  readonly txpkts: number;
  readonly flows: number;
  readonly txonlyMultiFlow: boolean;
  readonly txFirst: number;
  /** The destination MAC the mac and txonly modes write for packets sent on a port. */
  peerMac(port: number): Uint8Array;
  /** The CPUs an lcore's thread pins itself to (empty: not pinned). */
  cpus(lcore: number): readonly number[];
}

interface Running {
  readonly workers: Worker[];
  readonly exited: Promise<void>[];
  readonly leases: PortLease[];
  readonly control: Int32Array;
  readonly stats: Float64Array;
  readonly errors: string[];
  /** Each started lcore's thread, by lcore id. */
  readonly threads: Map<number, LcoreThread>;
}

/** Per-stream counters, STREAM_SLOTS each (see modes.ts). */
export type StreamCounters = Float64Array;

function task(
  plan: FwdPlan,
  lcore: number,
  streams: FwdConfig["lcores"][number]["streams"],
  leases: Map<number, PortLease>,
  control: SharedArrayBuffer,
  stats: SharedArrayBuffer,
): LcoreTask {
  const rx = new Map<number, Set<number>>();
  const tx = new Map<number, Set<number>>();
  const add = (m: Map<number, Set<number>>, port: number, q: number) => {
    if (!m.has(port)) m.set(port, new Set());
    m.get(port)!.add(q);
  };
  for (const s of streams) {
    add(rx, s.rxPort, s.rxQueue);
    add(tx, s.txPort, s.txQueue);
  }
  const used = [...new Set([...rx.keys(), ...tx.keys()])];
  return {
    lcore,
    cpus: plan.cpus(lcore),
    pool: plan.pool.describe(),
    ports: used.map((id) => ({
      id,
      desc: leases.get(id)!.description,
      rxQueues: [...(rx.get(id) ?? [])],
      txQueues: [...(tx.get(id) ?? [])],
    })),
    streams: streams.map((s) => ({
      ...s,
      txMac: plan.ports.get(s.txPort)!.info().mac,
      peerMac: plan.peerMac(s.txPort),
    })),
    mode: plan.mode,
    burst: plan.burst,
    txpkts: plan.txpkts,
    flows: plan.flows,
    txonlyMultiFlow: plan.txonlyMultiFlow,
    txFirst: plan.txFirst,
    control,
    streamStats: stats,
  };
}

export class FwdEngine {
  #run: Running | undefined;
  /** Called with a message when an lcore fails while forwarding. */
  onError: (message: string) => void = () => {};

  get running(): boolean {
    return this.#run !== undefined;
  }

  /** Where each lcore of the running forwarding runs (thread id, CPUs), by lcore id. */
  get threads(): ReadonlyMap<number, LcoreThread> {
    return this.#run?.threads ?? new Map();
  }

  /** Live per-stream counters of the running forwarding (a view: it changes as the lcores work). */
  get streamStats(): StreamCounters | undefined {
    return this.#run?.stats;
  }

  /** Starts one worker per lcore of the plan; resolves once every one of them runs. */
  async start(plan: FwdPlan): Promise<void> {
    if (this.#run !== undefined) throw new Error("forwarding is running");
    const leases = new Map<number, PortLease>();
    const controlBuf = new SharedArrayBuffer(64);
    const statsBuf = new SharedArrayBuffer(Math.max(1, plan.config.streams.length) * STREAM_SLOTS * 8);
    const run: Running = {
      workers: [],
      exited: [],
      leases: [],
      control: new Int32Array(controlBuf),
      stats: new Float64Array(statsBuf),
      errors: [],
      threads: new Map(),
    };
    try {
      for (const id of plan.config.ports) leases.set(id, plan.ports.get(id)!.lease());
    } catch (e) {
      for (const l of leases.values()) l.release();
      throw e;
    }
    run.leases.push(...leases.values());
    const ready: Promise<void>[] = [];
    for (const l of plan.config.lcores) {
      const w = new Worker(new URL("./lcore.js", import.meta.url), {
        workerData: task(plan, l.lcore, l.streams, leases, controlBuf, statsBuf),
        name: `lcore-${l.lcore}`,
      });
      run.workers.push(w);
      ready.push(this.#watch(w, l.lcore, run));
      run.exited.push(new Promise((resolve) => w.once("exit", () => resolve())));
    }
    this.#run = run;
    try {
      await Promise.all(ready);
    } catch (e) {
      await this.#finish();
      throw e;
    }
    Atomics.store(run.control, CTL_STATE, STATE_RUN);
    Atomics.notify(run.control, CTL_STATE);
  }

  /** Stops every lcore and waits for them (they flush and close their ports); returns the streams' counters. */
  async stop(): Promise<{ streams: StreamCounters; errors: readonly string[] }> {
    const run = this.#run;
    if (run === undefined) throw new Error("forwarding is not running");
    const streams = run.stats;
    await this.#finish();
    return { streams, errors: run.errors };
  }

  async #finish(): Promise<void> {
    const run = this.#run!;
    Atomics.store(run.control, CTL_STATE, STATE_STOP);
    Atomics.notify(run.control, CTL_STATE);
    const timeout = setTimeout(() => {
      for (const w of run.workers) void w.terminate(); // an lcore stuck in a driver: do not hang the prompt
    }, 10_000);
    await Promise.all(run.exited);
    clearTimeout(timeout);
    for (const l of run.leases) l.release();
    this.#run = undefined;
  }

  /** Resolves when the worker is ready; rejects if it fails first. Later failures go to onError. */
  #watch(w: Worker, lcore: number, run: Running): Promise<void> {
    return new Promise((resolve, reject) => {
      let isReady = false;
      const fail = (message: string) => {
        const m = `lcore ${lcore}: ${message}`;
        run.errors.push(m);
        if (isReady) this.onError(m);
        else reject(new Error(m));
      };
      w.on("message", (m: LcoreMessage) => {
        if (m.kind === "ready") {
          isReady = true;
          run.threads.set(lcore, {
            tid: m.tid,
            cpus: m.cpus,
            ...(m.unpinned === undefined ? {} : { unpinned: m.unpinned }),
          });
          resolve();
        } else fail(m.message);
      });
      w.on("error", (e) => fail(e.message));
      w.once("exit", (code) => {
        if (!isReady) fail(`exited (${code}) before it was ready`);
      });
    });
  }
}
