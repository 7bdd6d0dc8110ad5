// The guest's queue configuration translated for the delegate: what the front device's guest configured and enabled
// (ring IOVAs, lengths, RX buffer sizes, vectors) compared with what the delegate was last given, as the virtchnl
// requests that bring the delegate there — DISABLE_QUEUES for pairs that change or stop, CONFIG_VSI_QUEUES with the
// guest's ring addresses for pairs that change, CONFIG_IRQ_MAP, ENABLE_QUEUES. A pair that did not change is not
// touched: the delegate keeps its ring position. The IRQ map puts each queue on the guest's own vector number when the
// delegate's vectors are handed the guest's eventfds (`direct`, irq-direct.ts), else each pair on a vector of the
// delegate's own, round robin (irq-relay.ts).
import type { EmudevResources } from "@emu/emudev";
import type { ConfigIrqMap, ConfigVsiQueues, QueuePairInfo, VectorMap } from "@emu/iavf-common";
import { type IavfNic, rxQueueId, txQueueId } from "@emu/iavf-emu";
import { delegateVector } from "./irq-relay.js";

/** One queue pair as the guest configured it (ring 0 and length 0: that direction is not configured). */
export interface PairConfig {
  readonly rxBase: bigint;
  readonly rxLen: number;
  readonly rxBuf: number;
  readonly rxMax: number;
  readonly txBase: bigint;
  readonly txLen: number;
  readonly rxOn: boolean;
  readonly txOn: boolean;
  /** The guest's MSI-X vector of each direction (-1: none). */
  readonly rxVec: number;
  readonly txVec: number;
}

/** A pair neither configured nor enabled. */
export const OFF_PAIR: PairConfig = {
  rxBase: 0n,
  rxLen: 0,
  rxBuf: 0,
  rxMax: 0,
  txBase: 0n,
  txLen: 0,
  rxOn: false,
  txOn: false,
  rxVec: -1,
  txVec: -1,
};

/** What the guest configured, pair by pair (`pairs` of them). */
export function guestPairs(dev: EmudevResources, nic: IavfNic, pairs: number): PairConfig[] {
  const out: PairConfig[] = [];
  for (let q = 0; q < pairs; q++) {
    const rx = nic.rxQueue(q);
    const tx = nic.txQueue(q);
    if (!dev.ready || (rx === undefined && tx === undefined)) {
      out.push(OFF_PAIR);
      continue;
    }
    const rq = dev.queue(rxQueueId(q));
    const tq = dev.queue(txQueueId(q));
    out.push({
      rxBase: rx?.dmaRingAddr ?? 0n,
      rxLen: rx?.ringLen ?? 0,
      rxBuf: rx?.databufferSize ?? 0,
      rxMax: rx?.maxPktSize ?? 0,
      txBase: tx?.dmaRingAddr ?? 0n,
      txLen: tx?.ringLen ?? 0,
      rxOn: rq.enabled && (rx?.ringLen ?? 0) > 0,
      txOn: tq.enabled && (tx?.ringLen ?? 0) > 0,
      rxVec: rq.irqVector,
      txVec: tq.irqVector,
    });
  }
  return out;
}

const sameRings = (a: PairConfig, b: PairConfig): boolean =>
  a.rxBase === b.rxBase &&
  a.rxLen === b.rxLen &&
  a.rxBuf === b.rxBuf &&
  a.rxMax === b.rxMax &&
  a.txBase === b.txBase &&
  a.txLen === b.txLen;

/** The steps from `applied` to `wanted`, as bit masks of pairs and the messages to send. */
export interface QueuePlan {
  readonly disable: { readonly rx: number; readonly tx: number };
  readonly configure: ConfigVsiQueues | undefined;
  readonly irqMap: ConfigIrqMap | undefined;
  readonly enable: { readonly rx: number; readonly tx: number };
}

/**
 * The vectors of the configured pairs are the guest's own and the delegate has them all (1..vectors-1; the mailbox's,
 * 0, is the delegate driver's): the IRQ map can put each queue on the guest's vector number.
 */
export function guestVectorsFit(pairs: readonly PairConfig[], vectors: number): boolean {
  const used = queueVectors(pairs);
  return used.length > 0 && used.every((v) => v >= 1 && v < vectors);
}

/** The guest's vectors of the configured queues, ascending, each once. */
export function queueVectors(pairs: readonly PairConfig[]): number[] {
  const used = new Set<number>();
  for (const p of pairs) {
    if (p.rxLen > 0) used.add(p.rxVec);
    if (p.txLen > 0) used.add(p.txVec);
  }
  return [...used].sort((a, b) => a - b);
}

/**
 * `vectors`: the delegate's MSI-X vectors, for its CONFIG_IRQ_MAP; `direct`: each queue on the guest's vector number
 * (else each pair on one of the delegate's, round robin); `remap`: send the IRQ map even if no ring changed (the
 * path changed).
 */
export function planQueues(
  vsiId: number,
  applied: readonly PairConfig[],
  wanted: readonly PairConfig[],
  vectors: number,
  direct = false,
  remap = false,
): QueuePlan {
  let disRx = 0;
  let disTx = 0;
  let enRx = 0;
  let enTx = 0;
  const configure: QueuePairInfo[] = [];
  let vectorsMoved = false;
  wanted.forEach((w, q) => {
    const a = applied[q] ?? OFF_PAIR;
    if (direct && (a.rxVec !== w.rxVec || a.txVec !== w.txVec)) vectorsMoved = true;
    const rings = !sameRings(a, w);
    const bit = 1 << q;
    // A pair whose rings change is stopped (both directions: CONFIG_VSI_QUEUES configures the pair) and set up again.
    if (a.rxOn && (rings || !w.rxOn)) disRx |= bit;
    if (a.txOn && (rings || !w.txOn)) disTx |= bit;
    if (rings && (w.rxLen > 0 || w.txLen > 0)) configure.push(pairInfo(vsiId, q, w));
    if (w.rxOn && (rings || !a.rxOn)) enRx |= bit;
    if (w.txOn && (rings || !a.txOn)) enTx |= bit;
  });
  return {
    disable: { rx: disRx, tx: disTx },
    configure: configure.length > 0 ? { kind: "ConfigVsiQueues", vsiId, queuePairs: configure } : undefined,
    irqMap: configure.length > 0 || vectorsMoved || remap ? irqMap(vsiId, wanted, vectors, direct) : undefined,
    enable: { rx: enRx, tx: enTx },
  };
}

function pairInfo(vsiId: number, q: number, w: PairConfig): QueuePairInfo {
  return {
    txq: { vsiId, queueId: q, ringLen: w.txLen, headwbEnabled: 0, dmaRingAddr: w.txBase, dmaHeadwbAddr: 0n },
    rxq: {
      vsiId,
      queueId: q,
      ringLen: w.rxLen,
      hdrSize: 0,
      splithdrEnabled: 0,
      databufferSize: w.rxBuf,
      maxPktSize: w.rxMax,
      crcDisable: 0,
      rxdid: 0,
      flags: 0,
      dmaRingAddr: w.rxBase,
      rxSplitPos: 0,
    },
  };
}

/**
 * CONFIG_IRQ_MAP of every configured pair: each queue on the guest's vector (`direct`) or each pair on its delegate
 * vector (vector 0, the mailbox, listed with empty maps).
 */
function irqMap(vsiId: number, wanted: readonly PairConfig[], vectors: number, direct: boolean): ConfigIrqMap {
  const rx = new Map<number, number>();
  const tx = new Map<number, number>();
  const add = (m: Map<number, number>, v: number, q: number) => m.set(v, (m.get(v) ?? 0) | (1 << q));
  wanted.forEach((w, q) => {
    if (w.rxLen <= 0 && w.txLen <= 0) return;
    if (!direct) {
      const v = delegateVector(q, vectors);
      add(rx, v, q);
      add(tx, v, q);
      return;
    }
    if (w.rxLen > 0) add(rx, w.rxVec, q);
    if (w.txLen > 0) add(tx, w.txVec, q);
  });
  const ids = [...new Set([...rx.keys(), ...tx.keys()])].sort((a, b) => a - b);
  const maps: VectorMap[] = ids.map((vectorId) => ({
    vsiId,
    vectorId,
    rxqMap: rx.get(vectorId) ?? 0,
    txqMap: tx.get(vectorId) ?? 0,
    rxitrIdx: 0,
    txitrIdx: 1,
  }));
  maps.push({ vsiId, vectorId: 0, rxqMap: 0, txqMap: 0, rxitrIdx: 0, txitrIdx: 0 });
  return { kind: "ConfigIrqMap", vectors: maps };
}
