// The queue requests of the PF side: CONFIG_VSI_QUEUES (and the single-queue CONFIG_TX/RX_QUEUE), CONFIG_IRQ_MAP,
// ENABLE_QUEUES and DISABLE_QUEUES. What they set becomes emudev queue state (ring IOVA, size, vector, enabled) for
// the provider, plus the RX settings in the NIC state. A request is checked whole before anything is applied.
import {
  type ConfigIrqMap,
  type ConfigVsiQueues,
  type DisableQueues,
  type EnableQueues,
  type RxQueueInfo,
  type TxQueueInfo,
  VfCap,
} from "@emu/iavf-common";
import { checkVsi, OK, type PfContext, type PfReply, queuesBeyond, refuse } from "./pf-context.js";
import { queueOf, rxQueueId, txQueueId } from "./queue-ids.js";

/** Ring lengths ice accepts (0 = not configured; 32..8160 in steps of 32 — ice's minimum is 64, VPP uses 32). */
const RING_MIN = 32;
const RING_MAX = 8160;
const RING_MULTIPLE = 32;
/** RX buffer and frame limits ice checks. */
const RX_BUF_MIN = 1024;
const RX_BUF_MAX = 16 * 1024 - 128;
const RX_FRAME_MIN = 64;
const RX_FRAME_MAX = 16 * 1024 - 1;

function ringLenProblem(what: string, n: number): string | undefined {
  if (n === 0 || (n >= RING_MIN && n <= RING_MAX && n % RING_MULTIPLE === 0)) return undefined;
  return `${what} ring_len ${n} is not 0 or ${RING_MIN}..${RING_MAX} in steps of ${RING_MULTIPLE}`;
}

function txProblem(ctx: PfContext, q: TxQueueInfo): string | undefined {
  if (q.vsiId !== ctx.vsiId) return `txq vsi_id ${q.vsiId} is not ${ctx.vsiId}`;
  if (q.queueId >= ctx.queuePairs) return `txq queue_id ${q.queueId} beyond the VF's ${ctx.queuePairs} queues`;
  if (q.headwbEnabled !== 0) return `txq ${q.queueId}: head write-back is not supported`;
  if (q.ringLen > 0 && q.dmaRingAddr === 0n) return `txq ${q.queueId}: ring address 0`;
  return ringLenProblem(`txq ${q.queueId}`, q.ringLen);
}

function rxProblem(ctx: PfContext, q: RxQueueInfo): string | undefined {
  if (q.vsiId !== ctx.vsiId) return `rxq vsi_id ${q.vsiId} is not ${ctx.vsiId}`;
  if (q.queueId >= ctx.queuePairs) return `rxq queue_id ${q.queueId} beyond the VF's ${ctx.queuePairs} queues`;
  const len = ringLenProblem(`rxq ${q.queueId}`, q.ringLen);
  if (len !== undefined || q.ringLen === 0) return len;
  if (q.dmaRingAddr === 0n) return `rxq ${q.queueId}: ring address 0`;
  if (q.databufferSize < RX_BUF_MIN || q.databufferSize > RX_BUF_MAX)
    return `rxq ${q.queueId}: databuffer_size ${q.databufferSize} not in ${RX_BUF_MIN}..${RX_BUF_MAX}`;
  if (q.maxPktSize < RX_FRAME_MIN || q.maxPktSize > RX_FRAME_MAX)
    return `rxq ${q.queueId}: max_pkt_size ${q.maxPktSize} not in ${RX_FRAME_MIN}..${RX_FRAME_MAX}`;
  return undefined;
}

function applyTx(ctx: PfContext, q: TxQueueInfo): void {
  ctx.state.txq[q.queueId] = q.ringLen === 0 ? undefined : { ringLen: q.ringLen, dmaRingAddr: q.dmaRingAddr };
  const id = txQueueId(q.queueId);
  ctx.host.setQueue(id, { base: q.ringLen === 0 ? 0n : q.dmaRingAddr, size: q.ringLen, doorbell: id });
}

function applyRx(ctx: PfContext, q: RxQueueInfo): void {
  const keepCrc = (ctx.granted & VfCap.OFFLOAD_CRC) !== 0 && q.crcDisable !== 0;
  ctx.state.rxq[q.queueId] =
    q.ringLen === 0
      ? undefined
      : {
          ringLen: q.ringLen,
          dmaRingAddr: q.dmaRingAddr,
          databufferSize: q.databufferSize,
          maxPktSize: q.maxPktSize,
          crcStrip: !keepCrc,
          rxdid: q.rxdid,
        };
  const id = rxQueueId(q.queueId);
  ctx.host.setQueue(id, { base: q.ringLen === 0 ? 0n : q.dmaRingAddr, size: q.ringLen, doorbell: id });
}

export function configVsiQueues(ctx: PfContext, m: ConfigVsiQueues): PfReply {
  const bad = checkVsi(ctx, m.vsiId);
  if (bad) return bad;
  if (m.queuePairs.length > ctx.queuePairs)
    return refuse(`${m.queuePairs.length} queue pairs, the VF has ${ctx.queuePairs}`);
  for (const p of m.queuePairs) {
    const why = txProblem(ctx, p.txq) ?? rxProblem(ctx, p.rxq);
    if (why !== undefined) return refuse(why);
    if (p.txq.queueId !== p.rxq.queueId) return refuse(`pair with txq ${p.txq.queueId} and rxq ${p.rxq.queueId}`);
  }
  for (const p of m.queuePairs) {
    applyTx(ctx, p.txq);
    applyRx(ctx, p.rxq);
  }
  return OK;
}

export function configTxQueue(ctx: PfContext, q: TxQueueInfo): PfReply {
  const why = txProblem(ctx, q);
  if (why !== undefined) return refuse(why);
  applyTx(ctx, q);
  return OK;
}

export function configRxQueue(ctx: PfContext, q: RxQueueInfo): PfReply {
  const why = rxProblem(ctx, q);
  if (why !== undefined) return refuse(why);
  applyRx(ctx, q);
  return OK;
}

/**
 * Each listed vector takes the queues of its maps (a queue left out of a listed vector's new map loses that
 * vector); queues of vectors not listed keep theirs.
 */
export function configIrqMap(ctx: PfContext, m: ConfigIrqMap): PfReply {
  for (const v of m.vectors) {
    const bad = checkVsi(ctx, v.vsiId);
    if (bad) return bad;
    if (v.vectorId >= ctx.vectors) return refuse(`vector_id ${v.vectorId} beyond the VF's ${ctx.vectors} vectors`);
    const beyond = queuesBeyond(ctx, v.rxqMap | v.txqMap);
    if (beyond !== 0) return refuse(`vector ${v.vectorId} maps queues 0x${beyond.toString(16)} the VF does not have`);
    if (v.rxitrIdx > 3 || v.txitrIdx > 3) return refuse(`vector ${v.vectorId}: ITR index above 3`);
  }
  for (const v of m.vectors) {
    for (let q = 0; q < ctx.queuePairs; q++) {
      mapQueue(ctx, rxQueueId(q), v.vectorId, (v.rxqMap >>> q) & 1);
      mapQueue(ctx, txQueueId(q), v.vectorId, (v.txqMap >>> q) & 1);
      if ((v.rxqMap >>> q) & 1) ctx.state.rxItr[q] = v.rxitrIdx;
      if ((v.txqMap >>> q) & 1) ctx.state.txItr[q] = v.txitrIdx;
    }
  }
  ctx.host.attributeChanged("irqMap"); // a data path that follows the vectors (a delegate's IRQ map) hears of it
  return OK;
}

function mapQueue(ctx: PfContext, id: number, vector: number, mapped: number): void {
  if (mapped) ctx.host.setQueue(id, { irqVector: vector });
  else if (ctx.host.queue(id).irqVector === vector) ctx.host.setQueue(id, { irqVector: -1 });
}

function selection(ctx: PfContext, m: EnableQueues | DisableQueues): { ids: number[] } | PfReply {
  const bad = checkVsi(ctx, m.vsiId);
  if (bad) return bad;
  if (m.rxQueues === 0 && m.txQueues === 0) return refuse("no queue selected");
  const beyond = queuesBeyond(ctx, m.rxQueues | m.txQueues);
  if (beyond !== 0) return refuse(`queues 0x${beyond.toString(16)} the VF does not have`);
  const ids: number[] = [];
  for (let q = 0; q < ctx.queuePairs; q++) {
    if ((m.rxQueues >>> q) & 1) ids.push(rxQueueId(q));
    if ((m.txQueues >>> q) & 1) ids.push(txQueueId(q));
  }
  return { ids };
}

export function enableQueues(ctx: PfContext, m: EnableQueues): PfReply {
  const sel = selection(ctx, m);
  if (!("ids" in sel)) return sel;
  const unconfigured = sel.ids.filter((id) => ctx.host.queue(id).size === 0);
  if (unconfigured.length > 0) {
    const names = unconfigured.map((id) => `${queueOf(id).dir} ${queueOf(id).pair}`);
    return refuse(`queues ${names.join(", ")} are not configured`);
  }
  for (const id of sel.ids) ctx.host.setQueue(id, { enabled: true });
  ctx.host.ready();
  return { ...OK, linkEvent: true };
}

export function disableQueues(ctx: PfContext, m: DisableQueues): PfReply {
  const sel = selection(ctx, m);
  if (!("ids" in sel)) return sel;
  for (const id of sel.ids) ctx.host.setQueue(id, { enabled: false });
  return OK;
}
