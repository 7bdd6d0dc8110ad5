/** The GET_STATS (15) reply: `virtchnl_eth_stats`, twelve u64 counters (96 bytes). */
import { checkU64, LE, viewOf } from "../../internal/bytes.js";
import { checkFixedLength } from "../../internal/lengths.js";
import { VirtchnlOp } from "../opcodes.js";

/** `struct virtchnl_eth_stats`, in wire order. */
export interface EthStats {
  readonly rxBytes: bigint;
  readonly rxUnicast: bigint;
  readonly rxMulticast: bigint;
  readonly rxBroadcast: bigint;
  readonly rxDiscards: bigint;
  readonly rxUnknownProtocol: bigint;
  readonly txBytes: bigint;
  readonly txUnicast: bigint;
  readonly txMulticast: bigint;
  readonly txBroadcast: bigint;
  readonly txDiscards: bigint;
  readonly txErrors: bigint;
}

export interface GetStatsReply {
  readonly kind: "GetStatsReply";
  readonly stats: EthStats;
}

/** The counters in wire order (each at 8·index). */
export const ETH_STATS_FIELDS = [
  "rxBytes",
  "rxUnicast",
  "rxMulticast",
  "rxBroadcast",
  "rxDiscards",
  "rxUnknownProtocol",
  "txBytes",
  "txUnicast",
  "txMulticast",
  "txBroadcast",
  "txDiscards",
  "txErrors",
] as const satisfies readonly (keyof EthStats)[];

const OP = VirtchnlOp.GET_STATS;
const ETH_STATS_SIZE = 96;

export function decodeGetStatsReply(bytes: Uint8Array): GetStatsReply {
  checkFixedLength(OP, bytes.length, ETH_STATS_SIZE);
  const v = viewOf(bytes);
  const stats = Object.fromEntries(ETH_STATS_FIELDS.map((f, i) => [f, v.getBigUint64(8 * i, LE)])) as unknown;
  return { kind: "GetStatsReply", stats: stats as EthStats };
}

export function encodeGetStatsReply(m: GetStatsReply): Uint8Array {
  const out = new Uint8Array(ETH_STATS_SIZE);
  const v = viewOf(out);
  ETH_STATS_FIELDS.forEach((f, i) => {
    v.setBigUint64(8 * i, checkU64(m.stats[f], f, OP), LE);
  });
  return out;
}
