// One burst of each forwarding mode on one stream, as testpmd's engines do it. Each returns the packets it moved
// (0 when idle) and keeps the stream's counters: received, sent, dropped (sent but not taken by the TX queue, then
// freed). Packets are never copied: forwarding hands the buffer indices on; mac and macswap rewrite the header in
// place; txonly/flowgen copy the template into fresh buffers (one native call per burst).
import type { MbufPool, PortData } from "@emu/port/data";
import { MBUF_LEN, MBUF_META_WORDS, MBUF_OFF } from "@emu/port/data";
import type { CopyBatch } from "@emu/sys";
import type { FwdMode } from "./modes-list.js";
import type { FlowFrames } from "./packets.js";

export const STREAM_RX = 0;
export const STREAM_TX = 1;
export const STREAM_DROPPED = 2;
export const STREAM_SLOTS = 4;

export interface StreamRun {
  readonly rx: PortData;
  readonly rxQueue: number;
  readonly tx: PortData;
  readonly txQueue: number;
  readonly pool: MbufPool;
  readonly bufs: Uint32Array;
  readonly burst: number;
  /** Counters: STREAM_SLOTS per stream, this stream's at `slot`. */
  readonly stats: Float64Array;
  readonly slot: number;
  /** The TX port's MAC (mac mode's source) and the peer's (mac mode's destination). */
  readonly txMac: Uint8Array;
  readonly peerMac: Uint8Array;
  /** The frame txonly and flowgen send. */
  readonly template: Uint8Array;
  /** The burst's template copies, made in one call. */
  readonly copies: CopyBatch;
  /** The template's flows by source: txonly varies the source address (--txonly-multi-flow); else undefined. */
  readonly sources: FlowFrames | undefined;
  /** The template's flows by destination, which flowgen varies (undefined in other modes). */
  readonly destinations: FlowFrames | undefined;
  nextFlow: number;
}

/** Sends bufs[0..n), frees what the queue did not take; counts both. Returns the packets the queue took. */
function send(s: StreamRun, n: number): number {
  const sent = s.tx.txBurst(s.txQueue, s.bufs, n);
  const st = s.stats;
  st[s.slot + STREAM_TX] = st[s.slot + STREAM_TX]! + sent;
  if (sent < n) {
    s.pool.free(s.bufs, n - sent, sent);
    st[s.slot + STREAM_DROPPED] = st[s.slot + STREAM_DROPPED]! + n - sent;
  }
  return sent;
}

function receive(s: StreamRun): number {
  const k = s.rx.rxBurst(s.rxQueue, s.bufs, s.burst);
  if (k > 0) s.stats[s.slot + STREAM_RX] = s.stats[s.slot + STREAM_RX]! + k;
  return k;
}

function io(s: StreamRun): number {
  const k = receive(s);
  if (k > 0) send(s, k);
  return k;
}

function start(pool: MbufPool, b: number): number {
  return b * pool.bufSize + pool.meta[b * MBUF_META_WORDS + MBUF_OFF]!;
}

function mac(s: StreamRun): number {
  const k = receive(s);
  if (k === 0) return 0;
  const bytes = s.pool.bytes;
  const d = s.peerMac;
  const m = s.txMac;
  for (let i = 0; i < k; i++) {
    const at = start(s.pool, s.bufs[i]!);
    for (let j = 0; j < 6; j++) {
      bytes[at + j] = d[j]!;
      bytes[at + 6 + j] = m[j]!;
    }
  }
  send(s, k);
  return k;
}

function macswap(s: StreamRun): number {
  const k = receive(s);
  if (k === 0) return 0;
  const bytes = s.pool.bytes;
  for (let i = 0; i < k; i++) {
    const at = start(s.pool, s.bufs[i]!);
    for (let j = 0; j < 6; j++) {
      const t = bytes[at + j]!;
      bytes[at + j] = bytes[at + 6 + j]!;
      bytes[at + 6 + j] = t;
    }
  }
  send(s, k);
  return k;
}

function rxonly(s: StreamRun): number {
  const k = receive(s);
  if (k > 0) s.pool.free(s.bufs, k);
  return k;
}

/**
 * Fills a burst of fresh buffers with the template (flowgen: one destination per flow; txonly with
 * --txonly-multi-flow: one source per flow), copied in one call; 0 when the pool is empty.
 */
function generate(s: StreamRun, flows: FlowFrames | undefined): number {
  const n = s.burst;
  const pool = s.pool;
  if (pool.alloc(s.bufs, n) === 0) return 0;
  const t = s.template;
  const len = t.length;
  const bytes = pool.bytes;
  const meta = pool.meta;
  const copies = s.copies;
  if (flows === undefined) {
    for (let i = 0; i < n; i++) {
      const b = s.bufs[i]!;
      copies.add(bytes, start(pool, b), t, 0, len);
      meta[b * MBUF_META_WORDS + MBUF_LEN] = len;
    }
  } else {
    // Each packet from its flow's head, and the template's rest when the frame is longer than the head.
    const from = flows.bytes;
    const head = flows.head;
    let f = s.nextFlow;
    for (let i = 0; i < n; i++) {
      const b = s.bufs[i]!;
      const at = start(pool, b);
      copies.add(bytes, at, from, flows.headAt(f), head);
      if (len > head) copies.add(bytes, at + head, from, head, len - head);
      meta[b * MBUF_META_WORDS + MBUF_LEN] = len;
      f = f + 1 === flows.flows ? 0 : f + 1;
    }
  }
  copies.run();
  const sent = send(s, n);
  // The next burst starts after the last packet the queue took (as DPDK's txonly and flowgen back out their flow
  // counters): the flows of the packets it did not take come again, and the flows on the wire follow without gaps.
  if (flows !== undefined) s.nextFlow = (s.nextFlow + sent) % flows.flows;
  return n;
}

function txonly(s: StreamRun): number {
  return generate(s, s.sources);
}

function flowgen(s: StreamRun): number {
  rxonly(s);
  return generate(s, s.destinations);
}

export const ENGINES: Readonly<Record<FwdMode, (s: StreamRun) => number>> = {
  io,
  mac,
  macswap,
  rxonly,
  txonly,
  flowgen,
};

/** One burst of txonly packets (start tx_first). */
export function txFirstBurst(s: StreamRun): number {
  return generate(s, s.sources);
}
