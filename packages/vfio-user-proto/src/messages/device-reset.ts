import { Command } from "../command.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";

/** VFIO_USER_DEVICE_RESET (13) request: no payload. May take arbitrarily long. */
export interface DeviceResetRequest {
  readonly kind: "DeviceResetRequest";
}

/** DEVICE_RESET reply: no payload. */
export interface DeviceResetReply {
  readonly kind: "DeviceResetReply";
}

/** @internal */
export const deviceResetRequestCodec: MessageCodec<DeviceResetRequest> = {
  kind: "DeviceResetRequest",
  command: Command.DEVICE_RESET,
  reply: false,
  context: "DEVICE_RESET request",
  read(r) {
    r.end();
    return { kind: "DeviceResetRequest" };
  },
  write() {},
};

/** @internal */
export const deviceResetReplyCodec: MessageCodec<DeviceResetReply> = {
  kind: "DeviceResetReply",
  command: Command.DEVICE_RESET,
  reply: true,
  context: "DEVICE_RESET reply",
  read(r) {
    r.end();
    return { kind: "DeviceResetReply" };
  },
  write() {},
};

/**
 * The payload of a `DeviceResetRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDeviceResetRequest(m: Body<DeviceResetRequest> = {}): Uint8Array {
  return encodePayload(deviceResetRequestCodec, m);
}
/** Throws `ProtoError("BadSize")` if the payload is not empty. */
export function decodeDeviceResetRequest(payload: Uint8Array): DeviceResetRequest {
  return decodePayload(deviceResetRequestCodec, payload);
}
/**
 * The payload of a `DeviceResetReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDeviceResetReply(m: Body<DeviceResetReply> = {}): Uint8Array {
  return encodePayload(deviceResetReplyCodec, m);
}
/** Throws `ProtoError("BadSize")` if the payload is not empty. */
export function decodeDeviceResetReply(payload: Uint8Array): DeviceResetReply {
  return decodePayload(deviceResetReplyCodec, payload);
}
