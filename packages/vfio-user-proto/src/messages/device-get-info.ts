import { Command } from "../command.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";
import { DEVICE_INFO_SIZE, type DeviceInfo, readDeviceInfo, writeDeviceInfo } from "../vfio/device-info.js";

/**
 * VFIO_USER_DEVICE_GET_INFO (4) request: a 16-byte `vfio_device_info` with only `argsz` (max reply payload, ≥ 16)
 * meaningful; the other fields must be zero and are written as zero.
 */
export interface DeviceGetInfoRequest {
  readonly kind: "DeviceGetInfoRequest";
  readonly argsz: number;
  /** Bytes after the 16-byte struct (a client may send its whole argsz buffer); kept only for byte-exact re-encoding. */
  readonly trailing?: Uint8Array;
}

/** DEVICE_GET_INFO reply: `vfio_device_info` (argsz = 16, flags {@link DeviceFlags}, num_regions, num_irqs). */
export interface DeviceGetInfoReply extends DeviceInfo {
  readonly kind: "DeviceGetInfoReply";
}

/** @internal */
export const deviceGetInfoRequestCodec: MessageCodec<DeviceGetInfoRequest> = {
  kind: "DeviceGetInfoRequest",
  command: Command.DEVICE_GET_INFO,
  reply: false,
  context: "DEVICE_GET_INFO request",
  read(r) {
    const argsz = r.u32("argsz");
    if (argsz < DEVICE_INFO_SIZE) r.fail("BadArgsz", `argsz ${argsz} < ${DEVICE_INFO_SIZE}`);
    r.bytesView(12, "flags/num_regions/num_irqs");
    const trailing = r.rest();
    return trailing.length > 0
      ? { kind: "DeviceGetInfoRequest", argsz, trailing }
      : { kind: "DeviceGetInfoRequest", argsz };
  },
  write(w, m) {
    w.u32(m.argsz, "argsz");
    w.zeros(12);
    if (m.trailing !== undefined) w.bytes(m.trailing);
  },
};

/** @internal */
export const deviceGetInfoReplyCodec: MessageCodec<DeviceGetInfoReply> = {
  kind: "DeviceGetInfoReply",
  command: Command.DEVICE_GET_INFO,
  reply: true,
  context: "DEVICE_GET_INFO reply",
  read(r) {
    const info = readDeviceInfo(r);
    r.end();
    return { kind: "DeviceGetInfoReply", ...info };
  },
  write: writeDeviceInfo,
};

/**
 * The payload of a `DeviceGetInfoRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDeviceGetInfoRequest(m: Body<DeviceGetInfoRequest>): Uint8Array {
  return encodePayload(deviceGetInfoRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadArgsz`). */
export function decodeDeviceGetInfoRequest(payload: Uint8Array): DeviceGetInfoRequest {
  return decodePayload(deviceGetInfoRequestCodec, payload);
}
/**
 * The payload of a `DeviceGetInfoReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDeviceGetInfoReply(m: Body<DeviceGetInfoReply>): Uint8Array {
  return encodePayload(deviceGetInfoReplyCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadSize`). */
export function decodeDeviceGetInfoReply(payload: Uint8Array): DeviceGetInfoReply {
  return decodePayload(deviceGetInfoReplyCodec, payload);
}
