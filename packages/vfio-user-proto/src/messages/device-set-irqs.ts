import { Command } from "../command.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";
import { IRQ_SET_SIZE, type IrqSet, readIrqSet, writeIrqSet } from "../vfio/irq-set.js";

/**
 * VFIO_USER_DEVICE_SET_IRQS (8) request: `vfio_irq_set` ({@link IrqSet}: argsz, flags, index, start, count @0..16,
 * data @20). `data` is present only with DATA_BOOL (`count` bytes). With DATA_EVENTFD the `count` eventfds travel in
 * SCM_RIGHTS (none = de-assign); there is no inline data. `argsz` is the request size (20 + data).
 */
export interface DeviceSetIrqsRequest extends IrqSet {
  readonly kind: "DeviceSetIrqsRequest";
}

/** SET_IRQS reply: no payload. */
export interface DeviceSetIrqsReply {
  readonly kind: "DeviceSetIrqsReply";
}

/** @internal */
export const deviceSetIrqsRequestCodec: MessageCodec<DeviceSetIrqsRequest> = {
  kind: "DeviceSetIrqsRequest",
  command: Command.DEVICE_SET_IRQS,
  reply: false,
  context: "DEVICE_SET_IRQS request",
  read: (r) => ({ kind: "DeviceSetIrqsRequest", ...readIrqSet(r, false) }),
  write: writeIrqSet,
  sizeHint: (m) => IRQ_SET_SIZE + (m.data?.length ?? 0),
};

/** @internal */
export const deviceSetIrqsReplyCodec: MessageCodec<DeviceSetIrqsReply> = {
  kind: "DeviceSetIrqsReply",
  command: Command.DEVICE_SET_IRQS,
  reply: true,
  context: "DEVICE_SET_IRQS reply",
  read(r) {
    r.end();
    return { kind: "DeviceSetIrqsReply" };
  },
  write() {},
};

/**
 * The payload of a `DeviceSetIrqsRequest`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDeviceSetIrqsRequest(m: Body<DeviceSetIrqsRequest>): Uint8Array {
  return encodePayload(deviceSetIrqsRequestCodec, m);
}
/** Throws `ProtoError` (`Truncated`, `BadArgsz`, `CountMismatch` for DATA_BOOL, `BadSize` for data without DATA_BOOL). */
export function decodeDeviceSetIrqsRequest(payload: Uint8Array): DeviceSetIrqsRequest {
  return decodePayload(deviceSetIrqsRequestCodec, payload);
}
/**
 * The payload of a `DeviceSetIrqsReply`, without the header (`encodeMessage` builds the whole frame).
 * Throws `ProtoError("OutOfRange")` for a value that does not fit its field.
 */
export function encodeDeviceSetIrqsReply(m: Body<DeviceSetIrqsReply> = {}): Uint8Array {
  return encodePayload(deviceSetIrqsReplyCodec, m);
}
/** Throws `ProtoError("BadSize")` if the payload is not empty. */
export function decodeDeviceSetIrqsReply(payload: Uint8Array): DeviceSetIrqsReply {
  return decodePayload(deviceSetIrqsReplyCodec, payload);
}
