import { Command } from "../command.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";
import {
  REGION_INFO_SIZE,
  type RegionInfo,
  readRegionInfo,
  regionInfoSize,
  writeRegionInfo,
} from "../vfio/region-info.js";

/**
 * VFIO_USER_DEVICE_GET_REGION_INFO (5) request: a 32-byte `vfio_region_info` with only `argsz` (max reply payload,
 * ≥ 32) and `index` meaningful; the other fields must be zero and are written as zero.
 */
export interface DeviceGetRegionInfoRequest {
  readonly kind: "DeviceGetRegionInfoRequest";
  readonly argsz: number;
  readonly index: number;
  /**
   * Bytes after the 32-byte struct. libvfio-user's sample client sends its whole `argsz` buffer (e.g. 80 bytes);
   * kept only for byte-exact re-encoding.
   */
  readonly trailing?: Uint8Array;
}

/**
 * DEVICE_GET_REGION_INFO reply: `vfio_region_info` + capability chain ({@link RegionInfo}). With MMAP the reply carries
 * the region's fd. If the request's `argsz` was too small for the capabilities, the reply has the needed `argsz`,
 * no capabilities (and, from libvfio-user, no CAPS flag and no fd): retry — see {@link argszRetry}.
 */
export interface DeviceGetRegionInfoReply extends RegionInfo {
  readonly kind: "DeviceGetRegionInfoReply";
}

/** @internal */
export const deviceGetRegionInfoRequestCodec: MessageCodec<DeviceGetRegionInfoRequest> = {
  kind: "DeviceGetRegionInfoRequest",
  command: Command.DEVICE_GET_REGION_INFO,
  reply: false,
  context: "DEVICE_GET_REGION_INFO request",
  read(r) {
    const argsz = r.u32("argsz");
    if (argsz < REGION_INFO_SIZE) r.fail("BadArgsz", `argsz ${argsz} < ${REGION_INFO_SIZE}`);
    r.u32("flags");
    const index = r.u32("index");
    r.bytesView(20, "cap_offset/size/offset");
    const trailing = r.rest();
    return trailing.length > 0
      ? { kind: "DeviceGetRegionInfoRequest", argsz, index, trailing }
      : { kind: "DeviceGetRegionInfoRequest", argsz, index };
  },
  write(w, m) {
    w.u32(m.argsz, "argsz");
    w.u32(0, "flags");
    w.u32(m.index, "index");
    w.zeros(20);
    if (m.trailing !== undefined) w.bytes(m.trailing);
  },
};

/** @internal */
export const deviceGetRegionInfoReplyCodec: MessageCodec<DeviceGetRegionInfoReply> = {
  kind: "DeviceGetRegionInfoReply",
  command: Command.DEVICE_GET_REGION_INFO,
  reply: true,
  context: "DEVICE_GET_REGION_INFO reply",
  read: (r) => ({ kind: "DeviceGetRegionInfoReply", ...readRegionInfo(r) }),
  write: writeRegionInfo,
  sizeHint: (m) => regionInfoSize(m.capabilities),
};

/**
 * The payload of a `DeviceGetRegionInfoRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDeviceGetRegionInfoRequest(m: Body<DeviceGetRegionInfoRequest>): Uint8Array {
  return encodePayload(deviceGetRegionInfoRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadArgsz`). */
export function decodeDeviceGetRegionInfoRequest(payload: Uint8Array): DeviceGetRegionInfoRequest {
  return decodePayload(deviceGetRegionInfoRequestCodec, payload);
}
/**
 * The payload of a `DeviceGetRegionInfoReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDeviceGetRegionInfoReply(m: Body<DeviceGetRegionInfoReply>): Uint8Array {
  return encodePayload(deviceGetRegionInfoReplyCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadCapabilityChain`). */
export function decodeDeviceGetRegionInfoReply(payload: Uint8Array): DeviceGetRegionInfoReply {
  return decodePayload(deviceGetRegionInfoReplyCodec, payload);
}
