// Forwarding streams and their lcores, as testpmd sets them up with the "paired" port topology: ports pair up in
// order (0↔1, 2↔3; an odd last port pairs with itself); each RX queue of each port is a stream to the same queue
// of its peer; streams go to the forwarding lcores in order, in equal shares (the last lcores take one more).

export interface FwdPort {
  readonly id: number;
  readonly rxQueues: number;
  readonly txQueues: number;
}

interface Stream {
  /** Index in the configuration (its statistics slot). */
  readonly index: number;
  readonly rxPort: number;
  readonly rxQueue: number;
  readonly txPort: number;
  readonly txQueue: number;
}

interface LcoreStreams {
  readonly lcore: number;
  readonly streams: readonly Stream[];
}

export interface FwdConfig {
  readonly ports: readonly number[];
  readonly streams: readonly Stream[];
  readonly lcores: readonly LcoreStreams[];
  /** An odd number of ports: the last one pairs with itself. */
  readonly oddPorts: boolean;
}

/** The peer of the port at `i` among `n` forwarding ports. */
function peerIndex(i: number, n: number): number {
  if (i % 2 === 1) return i - 1;
  return i + 1 < n ? i + 1 : i;
}

/** Streams for `ports` (in id order) spread over the first `nbCores` of `fwdLcores`. */
export function fwdConfig(ports: readonly FwdPort[], fwdLcores: readonly number[], nbCores: number): FwdConfig {
  const nq = Math.min(...ports.map((p) => p.rxQueues));
  const streams: Stream[] = [];
  for (let q = 0; q < (ports.length === 0 ? 0 : nq); q++)
    for (let i = 0; i < ports.length; i++) {
      const rx = ports[i]!;
      const tx = ports[peerIndex(i, ports.length)]!;
      streams.push({ index: streams.length, rxPort: rx.id, rxQueue: q, txPort: tx.id, txQueue: q % tx.txQueues });
    }
  const nc = Math.min(nbCores, fwdLcores.length, streams.length);
  const lcores: LcoreStreams[] = [];
  const per = nc === 0 ? 0 : Math.floor(streams.length / nc);
  const extra = nc === 0 ? 0 : streams.length % nc;
  let at = 0;
  for (let c = 0; c < nc; c++) {
    const take = c < nc - extra ? per : per + 1;
    lcores.push({ lcore: fwdLcores[c]!, streams: streams.slice(at, at + take) });
    at += take;
  }
  return { ports: ports.map((p) => p.id), streams, lcores, oddPorts: ports.length % 2 === 1 };
}

/**
 * A TX queue used by streams on two lcores would have two writers (rings and counters are single-writer):
 * the first such queue, or undefined.
 */
export function sharedTxQueue(config: FwdConfig): { port: number; queue: number } | undefined {
  const owner = new Map<string, number>();
  for (const l of config.lcores)
    for (const s of l.streams) {
      const key = `${s.txPort}/${s.txQueue}`;
      const o = owner.get(key);
      if (o !== undefined && o !== l.lcore) return { port: s.txPort, queue: s.txQueue };
      owner.set(key, l.lcore);
    }
  return undefined;
}
