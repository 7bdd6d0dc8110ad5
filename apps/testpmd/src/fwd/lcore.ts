// A forwarding lcore: a worker thread that maps the packet-buffer pool itself, opens the data halves of the ports
// its streams use (only their queues), waits for the go, then runs its streams in a loop until told to stop. When a
// whole round finds nothing to do for a while it naps up to 1 ms (a DPDK lcore would spin), so idle forwarding
// does not hold a CPU. First of all it pins itself to its CPUs, as a DPDK lcore runs on its cpuset.
import { readlinkSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { MbufPool, openPortData, type PortData } from "@emu/port/data";
import { CopyBatch, setThreadAffinity, threadAffinity } from "@emu/sys";
import { ENGINES, STREAM_SLOTS, type StreamRun, txFirstBurst } from "./modes.js";
import { FlowFrames, TXONLY_MULTI_FLOWS, udpTemplate } from "./packets.js";
import {
  CTL_STATE,
  type LcoreMessage,
  type LcoreTask,
  type LcoreThread,
  STATE_RUN,
  STATE_STOP,
  STATE_WAIT,
} from "./task.js";

/** Empty rounds between looks at the clock while idle. */
const IDLE_CHECK = 1024;
/**
 * How long (ms) an lcore finds nothing before it naps: longer than a peer process's worker is away when the
 * scheduler runs that process's other threads. A nap after a few thousand empty rounds (~0.4 ms) cost the guest's
 * receive 3% of its rate and lost packets: the device kept filling the ring while the lcore slept.
 */
const IDLE_MS = 10;

async function open(task: LcoreTask, pool: MbufPool): Promise<Map<number, PortData>> {
  const ports = new Map<number, PortData>();
  try {
    for (const p of task.ports)
      ports.set(p.id, await openPortData(p.desc, { pool, rxQueues: p.rxQueues, txQueues: p.txQueues }));
  } catch (e) {
    for (const d of ports.values()) d.close();
    throw e;
  }
  return ports;
}

function streams(task: LcoreTask, pool: MbufPool, ports: Map<number, PortData>): StreamRun[] {
  const stats = new Float64Array(task.streamStats);
  return task.streams.map((s) => {
    const template = udpTemplate(task.txpkts, s.peerMac, s.txMac);
    return {
      rx: ports.get(s.rxPort)!,
      rxQueue: s.rxQueue,
      tx: ports.get(s.txPort)!,
      txQueue: s.txQueue,
      pool,
      bufs: new Uint32Array(task.burst),
      burst: task.burst,
      stats,
      slot: s.index * STREAM_SLOTS,
      txMac: s.txMac,
      peerMac: s.peerMac,
      template,
      copies: new CopyBatch(),
      sources: task.txonlyMultiFlow ? new FlowFrames(template, TXONLY_MULTI_FLOWS, "source") : undefined,
      destinations: task.mode === "flowgen" ? new FlowFrames(template, task.flows, "destination") : undefined,
      nextFlow: 0,
    };
  });
}

function forward(task: LcoreTask, runs: StreamRun[], ports: Map<number, PortData>): void {
  const ctl = new Int32Array(task.control);
  const engine = ENGINES[task.mode];
  for (const s of runs) for (let i = 0; i < task.txFirst; i++) txFirstBurst(s);
  let idle = 0;
  let idleSince = 0;
  let napping = false;
  while (Atomics.load(ctl, CTL_STATE) === STATE_RUN) {
    let moved = 0;
    for (let i = 0; i < runs.length; i++) moved += engine(runs[i]!);
    if (moved > 0) {
      idle = 0;
      napping = false;
      continue;
    }
    if (!napping) {
      if (++idle % IDLE_CHECK !== 0) continue;
      const now = performance.now();
      if (idle === IDLE_CHECK) idleSince = now;
      if (now - idleSince < IDLE_MS) continue;
      napping = true;
    }
    for (const d of ports.values()) d.flush();
    Atomics.wait(ctl, CTL_STATE, STATE_RUN, 1);
  }
}

/**
 * Pins this thread to the task's CPUs. The main thread checked them at startup; should the process's CPUs have
 * shrunk since (cpuset changed), the lcore says why and runs unpinned rather than not at all.
 */
function pin(task: LcoreTask): LcoreThread {
  const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
  let unpinned: string | undefined;
  if (task.cpus.length > 0)
    try {
      setThreadAffinity(task.cpus);
    } catch (e) {
      unpinned = e instanceof Error ? e.message : String(e);
    }
  return { tid, cpus: threadAffinity(), ...(unpinned === undefined ? {} : { unpinned }) };
}

async function main(task: LcoreTask): Promise<void> {
  const post = (m: LcoreMessage) => parentPort!.postMessage(m);
  const thread = pin(task);
  const pool = MbufPool.attach(task.pool);
  let ports: Map<number, PortData> | undefined;
  try {
    ports = await open(task, pool);
    const runs = streams(task, pool, ports);
    post({ kind: "ready", ...thread });
    const ctl = new Int32Array(task.control);
    while (Atomics.load(ctl, CTL_STATE) === STATE_WAIT) Atomics.wait(ctl, CTL_STATE, STATE_WAIT, 100);
    if (Atomics.load(ctl, CTL_STATE) !== STATE_STOP) forward(task, runs, ports);
  } catch (e) {
    post({ kind: "error", message: e instanceof Error ? e.message : String(e) });
  } finally {
    for (const d of ports?.values() ?? []) d.close();
    pool.close(); // gives this lcore's cached buffers back
  }
}

await main(workerData as LcoreTask);
