import { Command } from "../command.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";
import type { Reader } from "../internal/reader.js";
import type { Writer } from "../internal/writer.js";
import { DeviceFeature, DeviceFeatureFlags } from "../vfio/device-feature.js";

/** Size of the DEVICE_FEATURE head (argsz, flags). */
export const DEVICE_FEATURE_HEAD_SIZE = 8;

/** One IOVA range to log: `iova` u64, `length` u64. */
export interface DmaLoggingRange {
  readonly iova: bigint;
  readonly length: bigint;
}

/**
 * The `data` of a DEVICE_FEATURE message, interpreted from the feature index, the op (PROBE/GET/SET) and the direction:
 *
 * | type | when | layout |
 * |---|---|---|
 * | `None` | no data (PROBE; GET requests of MIGRATION and MIG_DEVICE_STATE) | — |
 * | `Migration` | GET MIGRATION reply | flags u64 ({@link MigrationFlags}) |
 * | `MigDeviceState` | SET MIG_DEVICE_STATE request/reply, GET reply | device_state u32 @0 ({@link MigrationState}), data_fd s32 @4 (unused; clients send -1) |
 * | `DmaLogging` | SET DMA_LOGGING_START/STOP request/reply | page_size u64 @0, num_ranges u32 @8, reserved u32 @12, ranges @16 |
 * | `DmaLoggingReport` | GET DMA_LOGGING_REPORT request; reply adds `bitmap` @24 | iova u64, length u64, page_size u64 |
 * | `Raw` | anything else (unknown feature or op, data where none is defined) | the bytes, kept |
 */
export type DeviceFeatureData =
  | { readonly type: "None" }
  | { readonly type: "Migration"; readonly flags: bigint }
  | { readonly type: "MigDeviceState"; readonly deviceState: number; readonly dataFd: number }
  | { readonly type: "DmaLogging"; readonly pageSize: bigint; readonly ranges: readonly DmaLoggingRange[] }
  | {
      readonly type: "DmaLoggingReport";
      readonly iova: bigint;
      readonly length: bigint;
      readonly pageSize: bigint;
      /** Reply only: u64 words, one bit per page, bit n = byte n>>3 bit n&7; a view of the frame. See {@link isPageDirty}. */
      readonly bitmap?: Uint8Array;
    }
  | { readonly type: "Raw"; readonly bytes: Uint8Array };

/**
 * VFIO_USER_DEVICE_FEATURE (16) request: `argsz` u32 @0 (max reply payload, ≥ 8), `flags` u32 @4 (feature index in
 * bits 0–15 plus GET/SET/PROBE, see {@link deviceFeatureFlags}), data @8.
 */
export interface DeviceFeatureRequest {
  readonly kind: "DeviceFeatureRequest";
  readonly argsz: number;
  readonly flags: number;
  readonly data: DeviceFeatureData;
}

/**
 * DEVICE_FEATURE reply: for SET and PROBE the request echoed; for GET the head with `argsz` grown by the data, then
 * the data.
 */
export interface DeviceFeatureReply {
  readonly kind: "DeviceFeatureReply";
  readonly argsz: number;
  readonly flags: number;
  readonly data: DeviceFeatureData;
}

const NONE: DeviceFeatureData = { type: "None" };

function readData(r: Reader, flags: number, reply: boolean): DeviceFeatureData {
  if (r.remaining === 0) return NONE;
  const feature = flags & DeviceFeatureFlags.MASK;
  const op = flags & (DeviceFeatureFlags.GET | DeviceFeatureFlags.SET | DeviceFeatureFlags.PROBE);
  const get = op === DeviceFeatureFlags.GET;
  const set = op === DeviceFeatureFlags.SET;
  switch (feature) {
    case DeviceFeature.MIGRATION:
      if (get && reply) {
        const m = { type: "Migration", flags: r.u64("migration flags") } as const;
        r.end();
        return m;
      }
      break;
    case DeviceFeature.MIG_DEVICE_STATE:
      if (set || (get && reply)) {
        const m = { type: "MigDeviceState", deviceState: r.u32("device_state"), dataFd: r.i32("data_fd") } as const;
        r.end();
        return m;
      }
      break;
    case DeviceFeature.DMA_LOGGING_START:
    case DeviceFeature.DMA_LOGGING_STOP:
      if (set) {
        const pageSize = r.u64("page_size");
        const numRanges = r.u32("num_ranges");
        r.u32("reserved");
        if (r.remaining !== numRanges * 16)
          r.fail("CountMismatch", `num_ranges ${numRanges} but ${r.remaining} byte(s) of ranges`);
        const ranges: DmaLoggingRange[] = [];
        for (let i = 0; i < numRanges; i++) ranges.push({ iova: r.u64("iova"), length: r.u64("length") });
        return { type: "DmaLogging", pageSize, ranges };
      }
      break;
    case DeviceFeature.DMA_LOGGING_REPORT:
      if (get) {
        const iova = r.u64("iova");
        const length = r.u64("length");
        const pageSize = r.u64("page_size");
        if (!reply) {
          r.end();
          return { type: "DmaLoggingReport", iova, length, pageSize };
        }
        return { type: "DmaLoggingReport", iova, length, pageSize, bitmap: r.rest() };
      }
      break;
  }
  return { type: "Raw", bytes: r.rest() };
}

function writeData(w: Writer, d: DeviceFeatureData): void {
  switch (d.type) {
    case "None":
      return;
    case "Migration":
      w.u64(d.flags, "migration flags");
      return;
    case "MigDeviceState":
      w.u32(d.deviceState, "device_state");
      w.i32(d.dataFd, "data_fd");
      return;
    case "DmaLogging":
      w.u64(d.pageSize, "page_size");
      w.u32(d.ranges.length, "num_ranges");
      w.u32(0, "reserved");
      for (const range of d.ranges) {
        w.u64(range.iova, "iova");
        w.u64(range.length, "length");
      }
      return;
    case "DmaLoggingReport":
      w.u64(d.iova, "iova");
      w.u64(d.length, "length");
      w.u64(d.pageSize, "page_size");
      if (d.bitmap !== undefined) w.bytes(d.bitmap);
      return;
    case "Raw":
      w.bytes(d.bytes);
      return;
  }
}

function dataSize(d: DeviceFeatureData): number {
  switch (d.type) {
    case "DmaLogging":
      return 16 + 16 * d.ranges.length;
    case "DmaLoggingReport":
      return 24 + (d.bitmap?.length ?? 0);
    case "Raw":
      return d.bytes.length;
    default:
      return 8;
  }
}

/** @internal */
export const deviceFeatureRequestCodec: MessageCodec<DeviceFeatureRequest> = {
  kind: "DeviceFeatureRequest",
  command: Command.DEVICE_FEATURE,
  reply: false,
  context: "DEVICE_FEATURE request",
  read(r) {
    const argsz = r.u32("argsz");
    if (argsz < DEVICE_FEATURE_HEAD_SIZE) r.fail("BadArgsz", `argsz ${argsz} < ${DEVICE_FEATURE_HEAD_SIZE}`);
    const flags = r.u32("flags");
    return { kind: "DeviceFeatureRequest", argsz, flags, data: readData(r, flags, false) };
  },
  write: writeMessage,
  sizeHint: (m) => DEVICE_FEATURE_HEAD_SIZE + dataSize(m.data),
};

/** @internal */
export const deviceFeatureReplyCodec: MessageCodec<DeviceFeatureReply> = {
  kind: "DeviceFeatureReply",
  command: Command.DEVICE_FEATURE,
  reply: true,
  context: "DEVICE_FEATURE reply",
  read(r) {
    const argsz = r.u32("argsz");
    const flags = r.u32("flags");
    return { kind: "DeviceFeatureReply", argsz, flags, data: readData(r, flags, true) };
  },
  write: writeMessage,
  sizeHint: (m) => DEVICE_FEATURE_HEAD_SIZE + dataSize(m.data),
};

function writeMessage(
  w: Writer,
  m: { readonly argsz: number; readonly flags: number; readonly data: DeviceFeatureData },
): void {
  w.u32(m.argsz, "argsz");
  w.u32(m.flags, "flags");
  writeData(w, m.data);
}

/** The size of the data part, i.e. what a GET reply adds to `argsz` beyond the 8-byte head. */
export function deviceFeatureDataSize(data: DeviceFeatureData): number {
  return data.type === "None" ? 0 : dataSize(data);
}

/**
 * The payload of a `DeviceFeatureRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDeviceFeatureRequest(m: Body<DeviceFeatureRequest>): Uint8Array {
  return encodePayload(deviceFeatureRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadArgsz`, `BadSize`, `CountMismatch`). */
export function decodeDeviceFeatureRequest(payload: Uint8Array): DeviceFeatureRequest {
  return decodePayload(deviceFeatureRequestCodec, payload);
}
/**
 * The payload of a `DeviceFeatureReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDeviceFeatureReply(m: Body<DeviceFeatureReply>): Uint8Array {
  return encodePayload(deviceFeatureReplyCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadSize`, `CountMismatch`). */
export function decodeDeviceFeatureReply(payload: Uint8Array): DeviceFeatureReply {
  return decodePayload(deviceFeatureReplyCodec, payload);
}
