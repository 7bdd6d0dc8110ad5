/**
 * REQUEST_QUEUES (29): `virtchnl_vf_res_request` { num_queue_pairs u16 } in both directions (the PF replies only when
 * it cannot grant, with the count it can give); GET_SUPPORTED_RXDIDS (44): empty request, u64 bitmap reply.
 */
import { checkInt, checkU64, LE, U16, viewOf } from "../../internal/bytes.js";
import { checkFixedLength } from "../../internal/lengths.js";
import { VirtchnlOp } from "../opcodes.js";

export interface RequestQueues {
  readonly kind: "RequestQueues";
  readonly numQueuePairs: number;
}
export interface RequestQueuesReply {
  readonly kind: "RequestQueuesReply";
  readonly numQueuePairs: number;
}
export interface GetSupportedRxdidsRequest {
  readonly kind: "GetSupportedRxdidsRequest";
}
export interface GetSupportedRxdidsReply {
  readonly kind: "GetSupportedRxdidsReply";
  /** Bit n set: RX descriptor id n is supported. */
  readonly rxdids: bigint;
}

const REQ = VirtchnlOp.REQUEST_QUEUES;

function decodeCount(bytes: Uint8Array): number {
  checkFixedLength(REQ, bytes.length, 2);
  return viewOf(bytes).getUint16(0, LE);
}

export const decodeRequestQueues = (b: Uint8Array): RequestQueues => ({
  kind: "RequestQueues",
  numQueuePairs: decodeCount(b),
});
export const decodeRequestQueuesReply = (b: Uint8Array): RequestQueuesReply => ({
  kind: "RequestQueuesReply",
  numQueuePairs: decodeCount(b),
});

export function encodeRequestQueues(m: RequestQueues | RequestQueuesReply): Uint8Array {
  const out = new Uint8Array(2);
  viewOf(out).setUint16(0, checkInt(m.numQueuePairs, U16, "numQueuePairs", REQ), LE);
  return out;
}

const RXDIDS = VirtchnlOp.GET_SUPPORTED_RXDIDS;

export function decodeGetSupportedRxdidsReply(bytes: Uint8Array): GetSupportedRxdidsReply {
  checkFixedLength(RXDIDS, bytes.length, 8);
  return { kind: "GetSupportedRxdidsReply", rxdids: viewOf(bytes).getBigUint64(0, LE) };
}

export function encodeGetSupportedRxdidsReply(m: GetSupportedRxdidsReply): Uint8Array {
  const out = new Uint8Array(8);
  viewOf(out).setBigUint64(0, checkU64(m.rxdids, "rxdids", RXDIDS), LE);
  return out;
}
