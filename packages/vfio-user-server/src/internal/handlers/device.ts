import {
  DeviceFlags,
  type DeviceGetIrqInfoRequest,
  type DeviceSetIrqsRequest,
  type Header,
} from "@emu/vfio-user-proto";
import type { MaybePromise } from "../../device.js";
import { refuse } from "../../errno.js";
import { isPromise } from "../is-promise.js";
import type { Session } from "../session.js";

/** DEVICE_GET_INFO, DEVICE_GET_IRQ_INFO, DEVICE_SET_IRQS and DEVICE_RESET: the device as a whole. */

export function deviceInfo(s: Session, h: Header): void {
  s.send(h, {
    kind: "DeviceGetInfoReply",
    argsz: 16,
    flags: DeviceFlags.RESET | DeviceFlags.PCI,
    numRegions: s.host.regions.length,
    numIrqs: s.host.numIrqs,
  });
}

export function irqInfo(s: Session, h: Header, msg: DeviceGetIrqInfoRequest): void {
  if (msg.index >= s.host.numIrqs) throw refuse("BadIndex", `IRQ index ${msg.index}`);
  s.send(h, {
    kind: "DeviceGetIrqInfoReply",
    argsz: 16,
    flags: s.host.irq.infoFlags(msg.index),
    index: msg.index,
    count: s.host.irq.count(msg.index),
  });
}

/**
 * DEVICE_SET_IRQS. Takes the fds (the eventfds). The reply waits for the device's change listeners: once the client
 * has it, nobody signals an eventfd it took back.
 */
export function setIrqs(s: Session, h: Header, msg: DeviceSetIrqsRequest, fds: readonly number[]): MaybePromise<void> {
  s.host.irq.setIrqs(msg, fds);
  const followed = s.host.irq.flushChanges();
  if (followed !== undefined) return followed.then(() => s.send(h, { kind: "DeviceSetIrqsReply" }));
  s.send(h, { kind: "DeviceSetIrqsReply" });
}

export function reset(s: Session, h: Header): MaybePromise<void> {
  const r = s.host.reset("client");
  if (isPromise(r)) return r.then(() => s.send(h, { kind: "DeviceResetReply" }));
  s.send(h, { kind: "DeviceResetReply" });
}
