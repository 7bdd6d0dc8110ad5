/**
 * ENABLE_QUEUES (8), DISABLE_QUEUES (9) and the GET_STATS (15) request: `virtchnl_queue_select`
 * { vsi_id u16 @0, pad u16 @2, rx_queues u32 @4, tx_queues u32 @8 } (12 bytes; GET_STATS uses only vsi_id).
 */
import { checkInt, LE, U16, U32, viewOf } from "../../internal/bytes.js";
import { checkFixedLength } from "../../internal/lengths.js";

interface QueueSelectFields {
  readonly vsiId: number;
  /** Bitmap: bit q selects RX queue q. */
  readonly rxQueues: number;
  /** Bitmap: bit q selects TX queue q. */
  readonly txQueues: number;
}

export interface EnableQueues extends QueueSelectFields {
  readonly kind: "EnableQueues";
}
export interface DisableQueues extends QueueSelectFields {
  readonly kind: "DisableQueues";
}
export interface GetStatsRequest extends QueueSelectFields {
  readonly kind: "GetStatsRequest";
}
export type QueueSelectMessage = EnableQueues | DisableQueues | GetStatsRequest;

export function decodeQueueSelect<K extends QueueSelectMessage["kind"]>(
  kind: K,
  opcode: number,
  bytes: Uint8Array,
): QueueSelectFields & { readonly kind: K } {
  checkFixedLength(opcode, bytes.length, 12);
  const v = viewOf(bytes);
  return { kind, vsiId: v.getUint16(0, LE), rxQueues: v.getUint32(4, LE), txQueues: v.getUint32(8, LE) };
}

export function encodeQueueSelect(m: QueueSelectMessage, opcode: number): Uint8Array {
  const out = new Uint8Array(12);
  const v = viewOf(out);
  v.setUint16(0, checkInt(m.vsiId, U16, "vsiId", opcode), LE);
  v.setUint32(4, checkInt(m.rxQueues, U32, "rxQueues", opcode), LE);
  v.setUint32(8, checkInt(m.txQueues, U32, "txQueues", opcode), LE);
  return out;
}
