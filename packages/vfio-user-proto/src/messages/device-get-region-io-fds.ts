import { Command } from "../command.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";
import { indexQueryCodec } from "../internal/index-query.js";

/** Sub-region `type` values (`VFIO_USER_IO_FD_TYPE_*`). */
export const IoFdType = {
  IOEVENTFD: 0,
  IOREGIONFD: 1,
  /** libvfio-user only, experimental (`-Dshadow-ioeventfd`); uses the 48-byte entry's shadow fields. */
  IOEVENTFD_SHADOW: 2,
} as const;

/** Sub-region `flags` for ioeventfds (`KVM_IOEVENTFD_FLAG_*`). */
export const IoeventfdFlags = {
  DATAMATCH: 1 << 0,
  PIO: 1 << 1,
  VIRTIO_CCW_NOTIFY: 1 << 3,
} as const;

/** Sub-region `flags` for ioregionfds (`KVM_IOREGION_*`, from the proposed KVM API). */
export const IoregionfdFlags = {
  PIO: 1 << 0,
  POSTED_WRITES: 1 << 1,
} as const;

/**
 * The two sub-region entry layouts in use: the spec's 40 bytes and libvfio-user's 48 bytes (see
 * {@link SubRegionIoFd}). Decoding picks the one implied by `(argsz - 16) / count`; encoding uses the reply's
 * `entrySize`.
 */
export const SubRegionLayout = {
  SPEC: 40,
  LIBVFIO_USER: 48,
} as const;
/** 40 (spec) or 48 (libvfio-user): the size of one sub-region entry. */
export type SubRegionEntrySize = (typeof SubRegionLayout)[keyof typeof SubRegionLayout];

/** Size of the request and of the reply head. */
export const REGION_IO_FDS_HEAD_SIZE = 16;

/**
 * One sub-region of a GET_REGION_IO_FDS reply.
 *
 * | Offset | Size | spec (40 bytes) | libvfio-user (48 bytes) |
 * |---|---|---|---|
 * | 0 | 8 | offset | offset |
 * | 8 | 8 | size | size |
 * | 16 | 4 | fd_index | fd_index |
 * | 20 | 4 | type | type |
 * | 24 | 4 | flags | flags |
 * | 28 | 4 | padding | shadow_mem_fd_index |
 * | 32 | 8 | datamatch / user_data | shadow_offset |
 * | 40 | 8 | — | datamatch |
 */
export interface SubRegionIoFd {
  readonly offset: bigint;
  /** 0 = any access size. */
  readonly size: bigint;
  /** Index into the reply's fds. */
  readonly fdIndex: number;
  /** {@link IoFdType}. */
  readonly type: number;
  /** {@link IoeventfdFlags} or {@link IoregionfdFlags}. */
  readonly flags: number;
  /** ioeventfd `datamatch`, or ioregionfd `user_data`. */
  readonly datamatch: bigint;
  /** 48-byte layout only (decoded always, 0 unless IOEVENTFD_SHADOW); ignored by the 40-byte layout. */
  readonly shadowMemFdIndex?: number;
  /** 48-byte layout only; ignored by the 40-byte layout. */
  readonly shadowOffset?: bigint;
}

/**
 * VFIO_USER_DEVICE_GET_REGION_IO_FDS (6) request: `argsz` u32 @0 (max reply, ≥ 16), `flags` u32 @4 (0), `index` u32
 * @8, `count` u32 @12 (0; other values decode as `flags` / `count`, for the server to refuse).
 */
export interface DeviceGetRegionIoFdsRequest {
  readonly kind: "DeviceGetRegionIoFdsRequest";
  readonly argsz: number;
  readonly index: number;
  /** `flags`, present only when not 0 (the spec requires 0): decoded so a server can refuse it. */
  readonly flags?: number;
  /** `count`, present only when not 0 (the spec requires 0): decoded so a server can refuse it. */
  readonly count?: number;
  /** Bytes after the 16-byte request; kept only for byte-exact re-encoding. */
  readonly trailing?: Uint8Array;
}

/**
 * GET_REGION_IO_FDS reply: the 16-byte head (`argsz` = 16 + count × entry size, `flags` 0, `index`, `count`), then
 * `count` sub-regions; ≥ 1 fd travels with it when there are sub-regions. If the request's `argsz` was too small the
 * reply is the head alone, with the needed `argsz` and `count` and no entries (`subRegions` empty).
 */
export interface DeviceGetRegionIoFdsReply {
  readonly kind: "DeviceGetRegionIoFdsReply";
  readonly argsz: number;
  readonly flags: number;
  readonly index: number;
  readonly count: number;
  /** Entry layout. Decoded from `(argsz - 16) / count` when that is 40 or 48, else 40. */
  readonly entrySize: SubRegionEntrySize;
  readonly subRegions: readonly SubRegionIoFd[];
}

/** @internal */
export const deviceGetRegionIoFdsRequestCodec: MessageCodec<DeviceGetRegionIoFdsRequest> = indexQueryCodec(
  "DeviceGetRegionIoFdsRequest",
  Command.DEVICE_GET_REGION_IO_FDS,
  "DEVICE_GET_REGION_IO_FDS request",
);

function impliedEntrySize(argsz: number, count: number): number | undefined {
  if (count === 0 || argsz < REGION_IO_FDS_HEAD_SIZE) return undefined;
  const n = (argsz - REGION_IO_FDS_HEAD_SIZE) / count;
  return Number.isInteger(n) ? n : undefined;
}

/** @internal */
export const deviceGetRegionIoFdsReplyCodec: MessageCodec<DeviceGetRegionIoFdsReply> = {
  kind: "DeviceGetRegionIoFdsReply",
  command: Command.DEVICE_GET_REGION_IO_FDS,
  reply: true,
  context: "DEVICE_GET_REGION_IO_FDS reply",
  read(r) {
    const argsz = r.u32("argsz");
    const flags = r.u32("flags");
    const index = r.u32("index");
    const count = r.u32("count");
    const implied = impliedEntrySize(argsz, count);
    if (r.remaining === 0) {
      // Complete reply without sub-regions, or a truncated one (head only, argsz/count say what is needed).
      const entrySize = implied === SubRegionLayout.LIBVFIO_USER ? SubRegionLayout.LIBVFIO_USER : SubRegionLayout.SPEC;
      return { kind: "DeviceGetRegionIoFdsReply", argsz, flags, index, count, entrySize, subRegions: [] };
    }
    const entrySize: SubRegionEntrySize =
      implied === SubRegionLayout.SPEC || implied === SubRegionLayout.LIBVFIO_USER
        ? implied
        : r.fail(
            "BadSize",
            `argsz ${argsz} and count ${count} imply ${implied ?? "no whole"} byte(s) per sub-region, not 40 or 48`,
          );
    if (r.remaining !== count * entrySize) {
      r.fail("CountMismatch", `count ${count} × ${entrySize} bytes but ${r.remaining} byte(s) of sub-regions`);
    }
    const subRegions: SubRegionIoFd[] = [];
    for (let i = 0; i < count; i++) {
      const offset = r.u64("offset");
      const size = r.u64("size");
      const fdIndex = r.u32("fd_index");
      const type = r.u32("type");
      const subFlags = r.u32("flags");
      if (entrySize === SubRegionLayout.SPEC) {
        r.u32("padding");
        subRegions.push({ offset, size, fdIndex, type, flags: subFlags, datamatch: r.u64("datamatch") });
      } else {
        const shadowMemFdIndex = r.u32("shadow_mem_fd_index");
        const shadowOffset = r.u64("shadow_offset");
        const datamatch = r.u64("datamatch");
        subRegions.push({ offset, size, fdIndex, type, flags: subFlags, datamatch, shadowMemFdIndex, shadowOffset });
      }
    }
    return { kind: "DeviceGetRegionIoFdsReply", argsz, flags, index, count, entrySize, subRegions };
  },
  write(w, m) {
    w.u32(m.argsz, "argsz");
    w.u32(m.flags, "flags");
    w.u32(m.index, "index");
    w.u32(m.count, "count");
    for (const s of m.subRegions) {
      w.u64(s.offset, "offset");
      w.u64(s.size, "size");
      w.u32(s.fdIndex, "fd_index");
      w.u32(s.type, "type");
      w.u32(s.flags, "flags");
      if (m.entrySize === SubRegionLayout.SPEC) {
        w.u32(0, "padding");
        w.u64(s.datamatch, "datamatch");
      } else {
        w.u32(s.shadowMemFdIndex ?? 0, "shadow_mem_fd_index");
        w.u64(s.shadowOffset ?? 0n, "shadow_offset");
        w.u64(s.datamatch, "datamatch");
      }
    }
  },
  sizeHint: (m) => REGION_IO_FDS_HEAD_SIZE + m.subRegions.length * 48,
};

/** The reply `argsz` for `count` sub-regions in the given layout: 16 + count × entrySize. */
export function regionIoFdsSize(count: number, entrySize: SubRegionEntrySize): number {
  return REGION_IO_FDS_HEAD_SIZE + count * entrySize;
}

/**
 * The payload of a `DeviceGetRegionIoFdsRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDeviceGetRegionIoFdsRequest(m: Body<DeviceGetRegionIoFdsRequest>): Uint8Array {
  return encodePayload(deviceGetRegionIoFdsRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadArgsz`). */
export function decodeDeviceGetRegionIoFdsRequest(payload: Uint8Array): DeviceGetRegionIoFdsRequest {
  return decodePayload(deviceGetRegionIoFdsRequestCodec, payload);
}
/** Encodes in the layout named by `entrySize` ({@link SubRegionLayout}); `argsz` and `count` are written as given. */
export function encodeDeviceGetRegionIoFdsReply(m: Body<DeviceGetRegionIoFdsReply>): Uint8Array {
  return encodePayload(deviceGetRegionIoFdsReplyCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadSize`, `CountMismatch`). */
export function decodeDeviceGetRegionIoFdsReply(payload: Uint8Array): DeviceGetRegionIoFdsReply {
  return decodePayload(deviceGetRegionIoFdsReplyCodec, payload);
}
