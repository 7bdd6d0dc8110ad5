import { Command } from "../command.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";
import { indexQueryCodec } from "../internal/index-query.js";
import { type IrqInfo, readIrqInfo, writeIrqInfo } from "../vfio/irq-info.js";

/**
 * VFIO_USER_DEVICE_GET_IRQ_INFO (7) request: a 16-byte `vfio_irq_info` with only `argsz` (≥ 16) and `index`
 * meaningful; `flags` and `count` must be zero (other values decode as `flags` / `count`).
 */
export interface DeviceGetIrqInfoRequest {
  readonly kind: "DeviceGetIrqInfoRequest";
  readonly argsz: number;
  readonly index: number;
  /** `flags`, present only when not 0 (the spec requires 0): decoded so a server can refuse it. */
  readonly flags?: number;
  /** `count`, present only when not 0 (the spec requires 0): decoded so a server can refuse it. */
  readonly count?: number;
  /** Bytes after the 16-byte struct; kept only for byte-exact re-encoding. */
  readonly trailing?: Uint8Array;
}

/** DEVICE_GET_IRQ_INFO reply: `vfio_irq_info` ({@link IrqInfo}). */
export interface DeviceGetIrqInfoReply extends IrqInfo {
  readonly kind: "DeviceGetIrqInfoReply";
}

/** @internal */
export const deviceGetIrqInfoRequestCodec: MessageCodec<DeviceGetIrqInfoRequest> = indexQueryCodec(
  "DeviceGetIrqInfoRequest",
  Command.DEVICE_GET_IRQ_INFO,
  "DEVICE_GET_IRQ_INFO request",
);

/** @internal */
export const deviceGetIrqInfoReplyCodec: MessageCodec<DeviceGetIrqInfoReply> = {
  kind: "DeviceGetIrqInfoReply",
  command: Command.DEVICE_GET_IRQ_INFO,
  reply: true,
  context: "DEVICE_GET_IRQ_INFO reply",
  read(r) {
    const info = readIrqInfo(r);
    r.end();
    return { kind: "DeviceGetIrqInfoReply", ...info };
  },
  write: writeIrqInfo,
};

/**
 * The payload of a `DeviceGetIrqInfoRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDeviceGetIrqInfoRequest(m: Body<DeviceGetIrqInfoRequest>): Uint8Array {
  return encodePayload(deviceGetIrqInfoRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadArgsz`). */
export function decodeDeviceGetIrqInfoRequest(payload: Uint8Array): DeviceGetIrqInfoRequest {
  return decodePayload(deviceGetIrqInfoRequestCodec, payload);
}
/**
 * The payload of a `DeviceGetIrqInfoReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDeviceGetIrqInfoReply(m: Body<DeviceGetIrqInfoReply>): Uint8Array {
  return encodePayload(deviceGetIrqInfoReplyCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadSize`). */
export function decodeDeviceGetIrqInfoReply(payload: Uint8Array): DeviceGetIrqInfoReply {
  return decodePayload(deviceGetIrqInfoReplyCodec, payload);
}
