import {
  DeviceFeature,
  type DeviceFeatureData,
  DeviceFeatureFlags,
  type DeviceFeatureRequest,
  dirtyBitmapSize,
  type Header,
  MigrationFlags,
} from "@emu/vfio-user-proto";
import type { MaybePromise } from "../../device.js";
import { refuse } from "../../errno.js";
import { DirtyLog } from "../dirty-log.js";
import type { Session } from "../session.js";

/**
 * DEVICE_FEATURE: the migration features (MIGRATION, MIG_DEVICE_STATE: the state machine) and DMA dirty logging
 * (DMA_LOGGING_START / STOP / REPORT).
 */

const { GET, SET, PROBE, MASK } = DeviceFeatureFlags;
/** The fixed head of a DEVICE_FEATURE payload (argsz, flags) before the feature's data. */
const HEAD = 8;

/** One DEVICE_FEATURE request, its flags taken apart. */
interface FeatureCall {
  readonly s: Session;
  readonly h: Header;
  readonly msg: DeviceFeatureRequest;
  readonly feature: number;
  readonly get: boolean;
}

/** The ops (GET/SET bits) a feature supports on this device; 0: not supported. */
function opsOf(s: Session, feature: number): number {
  const mig = s.host.model.migration !== undefined;
  switch (feature) {
    case DeviceFeature.MIGRATION:
      return mig ? GET : 0;
    case DeviceFeature.MIG_DEVICE_STATE:
      return mig ? GET | SET : 0;
    case DeviceFeature.DMA_LOGGING_START:
    case DeviceFeature.DMA_LOGGING_STOP:
      return SET;
    case DeviceFeature.DMA_LOGGING_REPORT:
      return GET;
    default:
      return 0;
  }
}

/** Refuses flags the spec does not allow, and features or ops the device does not have. */
function checkFlags(s: Session, flags: number): void {
  if ((flags & ~(MASK | GET | SET | PROBE)) !== 0)
    throw refuse("Malformed", `DEVICE_FEATURE flags 0x${flags.toString(16)}`);
  const get = (flags & GET) !== 0;
  const set = (flags & SET) !== 0;
  const probe = (flags & PROBE) !== 0;
  if (!get && !set && !probe) throw refuse("Malformed", "DEVICE_FEATURE without GET, SET or PROBE");
  if (get && set && !probe) throw refuse("Malformed", "DEVICE_FEATURE GET and SET together need PROBE");
  const feature = flags & MASK;
  const ops = opsOf(s, feature);
  if (ops === 0) throw refuse("NoSuchFeature", `device feature ${feature} is not supported`);
  if ((flags & (GET | SET) & ~ops) !== 0)
    throw refuse("Malformed", `device feature ${feature} does not support that op`);
}

export function deviceFeature(s: Session, h: Header, msg: DeviceFeatureRequest): MaybePromise<void> {
  const flags = msg.flags;
  checkFlags(s, flags);
  if ((flags & PROBE) !== 0)
    return s.send(h, { kind: "DeviceFeatureReply", argsz: msg.argsz, flags, data: { type: "None" } });
  const call: FeatureCall = { s, h, msg, feature: flags & MASK, get: (flags & GET) !== 0 };
  switch (call.feature) {
    case DeviceFeature.MIGRATION: {
      const preCopy = s.host.model.migration?.preCopy === true;
      return getReply(
        call,
        { type: "Migration", flags: MigrationFlags.STOP_COPY | (preCopy ? MigrationFlags.PRE_COPY : 0n) },
        8,
      );
    }
    case DeviceFeature.MIG_DEVICE_STATE:
      return migDeviceState(call);
    case DeviceFeature.DMA_LOGGING_START:
      return loggingStart(call);
    case DeviceFeature.DMA_LOGGING_STOP:
      s.host.dma.log = undefined;
      return echo(call, msg.data);
    default:
      return loggingReport(call);
  }
}

/** The reply to a SET: the request's argsz, flags and data (or the data as applied). */
function echo(c: FeatureCall, data: DeviceFeatureData): void {
  c.s.send(c.h, { kind: "DeviceFeatureReply", argsz: c.msg.argsz, flags: c.msg.flags, data });
}

/** The reply to a GET of `size` data bytes: the data, or only the argsz needed when the client's is too small. */
function getReply(c: FeatureCall, data: DeviceFeatureData, size: number): void {
  const argsz = HEAD + size;
  const flags = c.msg.flags;
  if (c.msg.argsz < argsz) c.s.send(c.h, { kind: "DeviceFeatureReply", argsz, flags, data: { type: "None" } });
  else c.s.send(c.h, { kind: "DeviceFeatureReply", argsz, flags, data });
}

function migDeviceState(c: FeatureCall): MaybePromise<void> {
  const host = c.s.host;
  if (c.get) return getReply(c, { type: "MigDeviceState", deviceState: host.migrationState, dataFd: -1 }, 8);
  const d = c.msg.data;
  if (d.type !== "MigDeviceState") throw refuse("Malformed", "SET MIG_DEVICE_STATE needs device_state");
  return host.setMigrationState(d.deviceState).then(() => echo(c, d));
}

function loggingStart(c: FeatureCall): void {
  const d = c.msg.data;
  const dma = c.s.host.dma;
  if (d.type !== "DmaLogging") throw refuse("Malformed", "DMA_LOGGING_START needs page_size and ranges");
  if (dma.log !== undefined) throw refuse("Busy", "DMA logging is already started");
  // page_size is a hint (kernel VFIO: the device picks and returns the page size it tracks at). Below the DMA page
  // size it would cost a tracked page per byte the device writes: the DMA page size then.
  const ps = d.pageSize;
  const floor = dma.pageSize;
  const pageSize = ps >= floor && (ps & (ps - 1n)) === 0n ? ps : floor;
  for (const r of d.ranges) if (r.length === 0n) throw refuse("Malformed", "DMA logging range of length 0");
  dma.log = new DirtyLog(pageSize, d.ranges);
  echo(c, { ...d, pageSize });
}

function loggingReport(c: FeatureCall): void {
  const d = c.msg.data;
  if (d.type !== "DmaLoggingReport") throw refuse("Malformed", "DMA_LOGGING_REPORT needs iova, length, page_size");
  const log = c.s.host.dma.log;
  if (log === undefined) throw refuse("WrongState", "DMA logging is not started");
  const ps = d.pageSize;
  if (ps === 0n || (ps & (ps - 1n)) !== 0n) throw refuse("Malformed", `page_size ${ps} is not a power of two`);
  let size: number;
  try {
    size = dirtyBitmapSize(d.length, ps);
  } catch {
    throw refuse("OutOfRange", "DMA logging report too large");
  }
  if (size > c.s.limits.hardMaxMessageSize - 64) throw refuse("OutOfRange", "DMA logging report too large");
  const argsz = HEAD + 24 + size;
  const flags = c.msg.flags;
  if (c.msg.argsz < argsz) {
    c.s.send(c.h, { kind: "DeviceFeatureReply", argsz, flags, data: { type: "None" } });
    return;
  }
  c.s.host.dma.collectDirty();
  const bitmap = log.report(d.iova, d.length, ps);
  c.s.send(c.h, {
    kind: "DeviceFeatureReply",
    argsz,
    flags,
    data: { type: "DmaLoggingReport", iova: d.iova, length: d.length, pageSize: ps, bitmap },
  });
}
