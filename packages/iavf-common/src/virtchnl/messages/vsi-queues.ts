/**
 * CONFIG_TX_QUEUE (4), CONFIG_RX_QUEUE (5) and CONFIG_VSI_QUEUES (6): `virtchnl_txq_info` (24 bytes),
 * `virtchnl_rxq_info` (40 bytes) and `virtchnl_vsi_queue_config_info` (8-byte header + 64-byte queue pairs).
 */
import { checkInt, checkU64, getU64, LE, U8, U16, U32, viewOf } from "../../internal/bytes.js";
import {
  checkFixedLength,
  checkListLength,
  checkMinLength,
  checkNonZero,
  legacyListLength,
} from "../../internal/lengths.js";
import { VirtchnlOp } from "../opcodes.js";

/** `struct virtchnl_txq_info`. */
export interface TxQueueInfo {
  readonly vsiId: number;
  readonly queueId: number;
  /** Descriptor count. */
  readonly ringLen: number;
  /** Deprecated; kept for a faithful round trip. */
  readonly headwbEnabled: number;
  readonly dmaRingAddr: bigint;
  /** Deprecated. */
  readonly dmaHeadwbAddr: bigint;
}

/** `struct virtchnl_rxq_info`. */
export interface RxQueueInfo {
  readonly vsiId: number;
  readonly queueId: number;
  /** Descriptor count (u32). */
  readonly ringLen: number;
  readonly hdrSize: number;
  /** Deprecated. */
  readonly splithdrEnabled: number;
  readonly databufferSize: number;
  readonly maxPktSize: number;
  /** Honoured only if the CRC offload was granted. */
  readonly crcDisable: number;
  /** Meaningful only with RX_FLEX_DESC; otherwise the ring uses the 32-byte legacy format. */
  readonly rxdid: number;
  /** Modern Linux: bit 0 asks for PTP Rx timestamps. */
  readonly flags: number;
  readonly dmaRingAddr: bigint;
  /** Deprecated (signed). */
  readonly rxSplitPos: number;
}

/** `struct virtchnl_queue_pair_info`: txq @0, rxq @24. */
export interface QueuePairInfo {
  readonly txq: TxQueueInfo;
  readonly rxq: RxQueueInfo;
}

export interface ConfigTxQueue {
  readonly kind: "ConfigTxQueue";
  readonly txq: TxQueueInfo;
}
export interface ConfigRxQueue {
  readonly kind: "ConfigRxQueue";
  readonly rxq: RxQueueInfo;
}
export interface ConfigVsiQueues {
  readonly kind: "ConfigVsiQueues";
  readonly vsiId: number;
  /** `num_queue_pairs` is this list's length (at least 1). */
  readonly queuePairs: readonly QueuePairInfo[];
}

const TXQ = 24;
const RXQ = 40;
const PAIR = TXQ + RXQ;
const HEADER = 8;

function readTxq(v: DataView, at: number): TxQueueInfo {
  return {
    vsiId: v.getUint16(at, LE),
    queueId: v.getUint16(at + 2, LE),
    ringLen: v.getUint16(at + 4, LE),
    headwbEnabled: v.getUint16(at + 6, LE),
    dmaRingAddr: getU64(v, at + 8),
    dmaHeadwbAddr: getU64(v, at + 16),
  };
}

function writeTxq(v: DataView, at: number, q: TxQueueInfo, op: number): void {
  v.setUint16(at, checkInt(q.vsiId, U16, "txq vsiId", op), LE);
  v.setUint16(at + 2, checkInt(q.queueId, U16, "txq queueId", op), LE);
  v.setUint16(at + 4, checkInt(q.ringLen, U16, "txq ringLen", op), LE);
  v.setUint16(at + 6, checkInt(q.headwbEnabled, U16, "txq headwbEnabled", op), LE);
  v.setBigUint64(at + 8, checkU64(q.dmaRingAddr, "txq dmaRingAddr", op), LE);
  v.setBigUint64(at + 16, checkU64(q.dmaHeadwbAddr, "txq dmaHeadwbAddr", op), LE);
}

function readRxq(v: DataView, at: number): RxQueueInfo {
  return {
    vsiId: v.getUint16(at, LE),
    queueId: v.getUint16(at + 2, LE),
    ringLen: v.getUint32(at + 4, LE),
    hdrSize: v.getUint16(at + 8, LE),
    splithdrEnabled: v.getUint16(at + 10, LE),
    databufferSize: v.getUint32(at + 12, LE),
    maxPktSize: v.getUint32(at + 16, LE),
    crcDisable: v.getUint8(at + 20),
    rxdid: v.getUint8(at + 21),
    flags: v.getUint8(at + 22),
    dmaRingAddr: getU64(v, at + 24),
    rxSplitPos: v.getInt32(at + 32, LE),
  };
}

function writeRxq(v: DataView, at: number, q: RxQueueInfo, op: number): void {
  v.setUint16(at, checkInt(q.vsiId, U16, "rxq vsiId", op), LE);
  v.setUint16(at + 2, checkInt(q.queueId, U16, "rxq queueId", op), LE);
  v.setUint32(at + 4, checkInt(q.ringLen, U32, "rxq ringLen", op), LE);
  v.setUint16(at + 8, checkInt(q.hdrSize, U16, "rxq hdrSize", op), LE);
  v.setUint16(at + 10, checkInt(q.splithdrEnabled, U16, "rxq splithdrEnabled", op), LE);
  v.setUint32(at + 12, checkInt(q.databufferSize, U32, "rxq databufferSize", op), LE);
  v.setUint32(at + 16, checkInt(q.maxPktSize, U32, "rxq maxPktSize", op), LE);
  v.setUint8(at + 20, checkInt(q.crcDisable, U8, "rxq crcDisable", op));
  v.setUint8(at + 21, checkInt(q.rxdid, U8, "rxq rxdid", op));
  v.setUint8(at + 22, checkInt(q.flags, U8, "rxq flags", op));
  v.setBigUint64(at + 24, checkU64(q.dmaRingAddr, "rxq dmaRingAddr", op), LE);
  v.setInt32(at + 32, checkInt(q.rxSplitPos, 0x7fff_ffff, "rxq rxSplitPos", op, -0x8000_0000), LE);
}

export function decodeConfigTxQueue(bytes: Uint8Array): ConfigTxQueue {
  checkFixedLength(VirtchnlOp.CONFIG_TX_QUEUE, bytes.length, TXQ);
  return { kind: "ConfigTxQueue", txq: readTxq(viewOf(bytes), 0) };
}

export function encodeConfigTxQueue(m: ConfigTxQueue): Uint8Array {
  const out = new Uint8Array(TXQ);
  writeTxq(viewOf(out), 0, m.txq, VirtchnlOp.CONFIG_TX_QUEUE);
  return out;
}

export function decodeConfigRxQueue(bytes: Uint8Array): ConfigRxQueue {
  checkFixedLength(VirtchnlOp.CONFIG_RX_QUEUE, bytes.length, RXQ);
  return { kind: "ConfigRxQueue", rxq: readRxq(viewOf(bytes), 0) };
}

export function encodeConfigRxQueue(m: ConfigRxQueue): Uint8Array {
  const out = new Uint8Array(RXQ);
  writeRxq(viewOf(out), 0, m.rxq, VirtchnlOp.CONFIG_RX_QUEUE);
  return out;
}

const VSIQ = VirtchnlOp.CONFIG_VSI_QUEUES;

export function decodeConfigVsiQueues(bytes: Uint8Array): ConfigVsiQueues {
  checkMinLength(VSIQ, bytes.length, HEADER);
  const v = viewOf(bytes);
  const n = v.getUint16(2, LE);
  checkNonZero(VSIQ, n, "num_queue_pairs");
  checkListLength(VSIQ, bytes.length, HEADER, PAIR, n);
  const queuePairs: QueuePairInfo[] = [];
  for (let i = 0; i < n; i++) {
    const at = HEADER + i * PAIR;
    queuePairs.push({ txq: readTxq(v, at), rxq: readRxq(v, at + TXQ) });
  }
  return { kind: "ConfigVsiQueues", vsiId: v.getUint16(0, LE), queuePairs };
}

/** Encodes at the legacy length 72 + 64·n (a zeroed pair after the last). */
export function encodeConfigVsiQueues(m: ConfigVsiQueues): Uint8Array {
  const n = checkInt(m.queuePairs.length, U16, "num_queue_pairs", VSIQ, 1);
  const out = new Uint8Array(legacyListLength(HEADER, PAIR, n));
  const v = viewOf(out);
  v.setUint16(0, checkInt(m.vsiId, U16, "vsiId", VSIQ), LE);
  v.setUint16(2, n, LE);
  m.queuePairs.forEach((p, i) => {
    writeTxq(v, HEADER + i * PAIR, p.txq, VSIQ);
    writeRxq(v, HEADER + i * PAIR + TXQ, p.rxq, VSIQ);
  });
  return out;
}
