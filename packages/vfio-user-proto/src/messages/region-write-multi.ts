import { Command } from "../command.js";
import { ProtoError } from "../errors.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";

/** Each coalesced write carries at most this many data bytes (its data slot is 8 bytes). */
export const REGION_WRITE_MULTI_MAX_DATA = 8;
/** Size of one coalesced write entry. */
export const REGION_WRITE_MULTI_ENTRY_SIZE = 24;
/** QEMU's client sends at most this many writes per message. */
export const REGION_WRITE_MULTI_QEMU_MAX = 200;

/** One coalesced write: `offset` u64 @0, `region` u32 @8, `count` u32 @12 (≤ 8), `data` 8 bytes @16. */
export interface RegionWriteMultiEntry {
  readonly offset: bigint;
  readonly region: number;
  /** The `count` (≤ 8) bytes to write; a view of the frame. The unused rest of the 8-byte slot is written as zero. */
  readonly data: Uint8Array;
}

/**
 * VFIO_USER_REGION_WRITE_MULTI (15) request, only if `write_multiple` was negotiated: `wr_cnt` u64 @0, then `wr_cnt`
 * 24-byte entries @8. QEMU sends it with NO_REPLY. A message with no entries is rejected (`BadSize`).
 */
export interface RegionWriteMultiRequest {
  readonly kind: "RegionWriteMultiRequest";
  readonly writes: readonly RegionWriteMultiEntry[];
}

/** REGION_WRITE_MULTI reply: `wr_cnt` u64, the number of writes completed. */
export interface RegionWriteMultiReply {
  readonly kind: "RegionWriteMultiReply";
  readonly wrCnt: bigint;
}

/** @internal */
export const regionWriteMultiRequestCodec: MessageCodec<RegionWriteMultiRequest> = {
  kind: "RegionWriteMultiRequest",
  command: Command.REGION_WRITE_MULTI,
  reply: false,
  context: "REGION_WRITE_MULTI request",
  read(r) {
    const wrCnt = r.u64("wr_cnt");
    const bytes = r.remaining;
    if (bytes % REGION_WRITE_MULTI_ENTRY_SIZE !== 0)
      r.fail("BadSize", `${bytes} byte(s) of writes is not a multiple of 24`);
    const n = bytes / REGION_WRITE_MULTI_ENTRY_SIZE;
    if (BigInt(n) !== wrCnt) r.fail("CountMismatch", `wr_cnt ${wrCnt} but ${n} write(s)`);
    if (n === 0) r.fail("BadSize", "no writes (wr_cnt 0)");
    const writes: RegionWriteMultiEntry[] = [];
    for (let i = 0; i < n; i++) {
      const offset = r.u64("offset");
      const region = r.u32("region");
      const count = r.u32("count");
      const slot = r.bytesView(REGION_WRITE_MULTI_MAX_DATA, "data");
      if (count > REGION_WRITE_MULTI_MAX_DATA) r.fail("CountMismatch", `write ${i}: count ${count} > 8`);
      writes.push({ offset, region, data: slot.subarray(0, count) });
    }
    return { kind: "RegionWriteMultiRequest", writes };
  },
  write(w, m) {
    w.u64(BigInt(m.writes.length), "wr_cnt");
    for (const e of m.writes) {
      if (e.data.length > REGION_WRITE_MULTI_MAX_DATA) {
        throw new ProtoError("OutOfRange", `REGION_WRITE_MULTI write of ${e.data.length} bytes (max 8)`);
      }
      w.u64(e.offset, "offset");
      w.u32(e.region, "region");
      w.u32(e.data.length, "count");
      w.bytes(e.data);
      w.zeros(REGION_WRITE_MULTI_MAX_DATA - e.data.length);
    }
  },
  sizeHint: (m) => 8 + m.writes.length * REGION_WRITE_MULTI_ENTRY_SIZE,
};

/** @internal */
export const regionWriteMultiReplyCodec: MessageCodec<RegionWriteMultiReply> = {
  kind: "RegionWriteMultiReply",
  command: Command.REGION_WRITE_MULTI,
  reply: true,
  context: "REGION_WRITE_MULTI reply",
  read(r) {
    const wrCnt = r.u64("wr_cnt");
    r.end();
    return { kind: "RegionWriteMultiReply", wrCnt };
  },
  write: (w, m) => w.u64(m.wrCnt, "wr_cnt"),
};

/**
 * The payload of a `RegionWriteMultiRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeRegionWriteMultiRequest(m: Body<RegionWriteMultiRequest>): Uint8Array {
  return encodePayload(regionWriteMultiRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadSize` incl. wr_cnt 0, `CountMismatch`). */
export function decodeRegionWriteMultiRequest(payload: Uint8Array): RegionWriteMultiRequest {
  return decodePayload(regionWriteMultiRequestCodec, payload);
}
/**
 * The payload of a `RegionWriteMultiReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeRegionWriteMultiReply(m: Body<RegionWriteMultiReply>): Uint8Array {
  return encodePayload(regionWriteMultiReplyCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadSize`). */
export function decodeRegionWriteMultiReply(payload: Uint8Array): RegionWriteMultiReply {
  return decodePayload(regionWriteMultiReplyCodec, payload);
}
