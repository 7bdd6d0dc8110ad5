// Server-to-client messages built with the proto codecs: the reply a request asks for, with plausible and odd
// contents (regions with sparse areas and fds, IRQ counts, migration data, dirty bitmaps, a twin socket), and the
// commands a server sends (DMA_READ/DMA_WRITE) into what the client mapped, or not.
import {
  Command,
  DeviceFeature,
  DeviceFeatureFlags,
  DeviceFlags,
  encodeMessage,
  IrqInfoFlags,
  type Message,
  MigrationFlags,
  RegionInfoFlags,
  type VersionCapabilities,
} from "@emu/vfio-user-proto";
import type { Rng } from "../rng.js";
import type { FdKind } from "./fds.js";

/** A message to send with the fds to make for it. */
export interface Reply {
  readonly message: Message;
  readonly fds: readonly { readonly kind: FdKind; readonly size?: number }[];
  /** The reply offers a twin socket: the sender passes one end of a socket pair and keeps the other. */
  readonly twin?: boolean;
}

const none = (message: Message): Reply => ({ message, fds: [] });

/** Oddity: each field of a reply is plausible but for a share `p` of boundary values, anything, or near misses. */
class Odd {
  constructor(
    readonly rng: Rng,
    readonly p: number,
  ) {}
  /** This field stays plausible. */
  ok(): boolean {
    return !this.rng.chance(this.p);
  }
  f32(plausible: number): number {
    return this.rng.field32(plausible, this.p);
  }
  f64(plausible: bigint): bigint {
    return this.rng.field64(plausible, this.p);
  }
}

function versionReply(o: Odd, req: Extract<Message, { kind: "VersionRequest" }>): Reply {
  const rng = o.rng;
  const caps: Record<string, unknown> = {};
  if (o.ok()) caps.maxMsgFds = o.f32(16);
  if (o.ok()) caps.maxDataXferSize = o.f32(rng.pick([4096, 65536, 1048576]));
  if (rng.chance(0.3)) caps.maxDmaMaps = o.f32(65535);
  if (rng.chance(0.3)) caps.pgsizes = o.f32(4096);
  if (req.capabilities.writeMultiple === true && rng.chance(0.7)) caps.writeMultiple = true;
  else if (!o.ok()) caps.writeMultiple = true; // not offered: the client must refuse
  const twin = (req.capabilities.twinSocket?.supported === true && rng.chance(0.8)) || rng.chance(o.p / 10);
  if (twin) caps.twinSocket = { supported: true, fdIndex: o.ok() ? 0 : rng.interesting32() };
  return {
    message: {
      kind: "VersionReply",
      major: o.ok() ? req.major : rng.interesting16(),
      minor: o.ok() ? Math.min(req.minor, rng.range(0, 2)) : rng.interesting16(),
      capabilities: caps as VersionCapabilities,
    },
    fds: [],
    twin: twin && o.ok(),
  };
}

function regionInfo(o: Odd, req: Extract<Message, { kind: "DeviceGetRegionInfoRequest" }>): Reply {
  const rng = o.rng;
  const size = rng.weighted<() => bigint>([
    [6, () => BigInt(rng.pick([0x1000, 0x2000, 0x10000, 0x100]))],
    [1, () => 0n],
    [1, () => o.f64(0x1000n)],
  ])();
  const mmap = rng.chance(0.4);
  const sparse = mmap && rng.chance(0.5);
  const capabilities = sparse
    ? [
        {
          kind: "SparseMmap" as const,
          areas: Array.from({ length: rng.range(0, 3) }, () => ({
            offset: o.f64(0x1000n),
            size: o.f64(0x1000n),
          })),
        },
      ]
    : rng.chance(0.1)
      ? [{ kind: "Type" as const, type: rng.u32(), subtype: rng.u32() }]
      : [];
  const flags =
    RegionInfoFlags.READ |
    RegionInfoFlags.WRITE |
    (mmap ? RegionInfoFlags.MMAP : 0) |
    (capabilities.length > 0 ? RegionInfoFlags.CAPS : 0);
  const full = 32 + (capabilities.length > 0 ? 64 : 0);
  return {
    message: {
      kind: "DeviceGetRegionInfoReply",
      argsz: o.ok() ? Math.max(req.argsz, full) : o.f32(full),
      flags: o.ok() ? flags : o.f32(flags),
      index: o.ok() ? req.index : rng.interesting32(),
      size,
      offset: o.f64(0n),
      capabilities: req.argsz < full && rng.chance(0.7) ? [] : capabilities,
    },
    fds:
      mmap && o.ok() ? [{ kind: o.ok() ? "memfd" : "eventfd", size: Number(size > 0x100000n ? 0x1000n : size) }] : [],
  };
}

function deviceFeature(o: Odd, req: Extract<Message, { kind: "DeviceFeatureRequest" }>): Reply {
  const rng = o.rng;
  const feature = req.flags & DeviceFeatureFlags.MASK;
  const get = (req.flags & DeviceFeatureFlags.GET) !== 0;
  let data: Extract<Message, { kind: "DeviceFeatureReply" }>["data"] = req.data;
  if (get && feature === DeviceFeature.MIGRATION)
    data = { type: "Migration", flags: o.ok() ? MigrationFlags.STOP_COPY | MigrationFlags.PRE_COPY : rng.u64() };
  else if (get && feature === DeviceFeature.MIG_DEVICE_STATE)
    data = { type: "MigDeviceState", deviceState: o.ok() ? rng.range(0, 7) : rng.u32(), dataFd: -1 };
  else if (get && feature === DeviceFeature.DMA_LOGGING_REPORT && req.data.type === "DmaLoggingReport") {
    const pages = Number(req.data.pageSize === 0n ? 0n : req.data.length / req.data.pageSize);
    const bytes = o.ok() && pages < 65536 ? Math.ceil(pages / 64) * 8 : rng.size(64);
    data = { ...req.data, bitmap: rng.bytes(bytes) };
  }
  return none({ kind: "DeviceFeatureReply", argsz: o.f32(req.argsz), flags: req.flags, data });
}

/** The reply `req` asks for: each field plausible but for a share `odd` (default 0.1) of odd values. */
export function replyFor(rng: Rng, req: Message, odd = 0.1): Reply {
  const o = new Odd(rng, odd);
  switch (req.kind) {
    case "VersionRequest":
      return versionReply(o, req);
    case "DeviceGetInfoRequest":
      return none({
        kind: "DeviceGetInfoReply",
        argsz: o.f32(16),
        flags: o.f32(DeviceFlags.PCI | DeviceFlags.RESET),
        numRegions: o.f32(9),
        numIrqs: o.f32(5),
      });
    case "DeviceGetRegionInfoRequest":
      return regionInfo(o, req);
    case "DeviceGetIrqInfoRequest":
      return none({
        kind: "DeviceGetIrqInfoReply",
        argsz: 16,
        flags: o.f32(IrqInfoFlags.EVENTFD | IrqInfoFlags.MASKABLE),
        index: o.ok() ? req.index : rng.u32(),
        count: o.f32(4),
      });
    case "DeviceGetRegionIoFdsRequest": {
      const n = rng.range(0, 3);
      const subRegions = Array.from({ length: n }, (_, i) => ({
        offset: o.f64(0x40n),
        size: BigInt(rng.pick([0, 4, 8])),
        fdIndex: o.ok() ? i : rng.interesting32(),
        type: 0,
        flags: 0,
        datamatch: 0n,
      }));
      return {
        message: {
          kind: "DeviceGetRegionIoFdsReply",
          argsz: 16 + 40 * n,
          flags: 0,
          index: req.index,
          count: n,
          entrySize: 40,
          subRegions,
        },
        fds: Array.from({ length: o.ok() ? n : rng.range(0, 4) }, () => ({ kind: "eventfd" as const })),
      };
    }
    case "RegionReadRequest": {
      const count = o.ok() ? req.count : rng.size(2 * req.count + 8);
      return none({
        kind: "RegionReadReply",
        offset: req.offset,
        region: req.region,
        data: rng.bytes(Math.min(count, 1 << 20)),
      });
    }
    case "RegionWriteRequest":
      return none({
        kind: "RegionWriteReply",
        offset: req.offset,
        region: req.region,
        count: o.ok() ? req.data.length : rng.u32(),
      });
    case "DmaMapRequest":
      return none({ kind: "DmaMapReply" });
    case "DmaUnmapRequest":
      return none({ kind: "DmaUnmapReply", argsz: req.argsz, flags: req.flags, address: req.address, size: req.size });
    case "DeviceSetIrqsRequest":
      return none({ kind: "DeviceSetIrqsReply" });
    case "DeviceResetRequest":
      return none({ kind: "DeviceResetReply" });
    case "RegionWriteMultiRequest":
      return none({ kind: "RegionWriteMultiReply", wrCnt: o.ok() ? BigInt(req.writes.length) : rng.u64() });
    case "DeviceFeatureRequest":
      return deviceFeature(o, req);
    case "MigDataReadRequest":
      return none({
        kind: "MigDataReadReply",
        argsz: 8,
        data: rng.bytes(Math.min(o.ok() ? rng.int(req.size + 1) : rng.size(4096), 1 << 20)),
      });
    case "MigDataWriteRequest":
      return none({ kind: "MigDataWriteReply" });
    default:
      return none({ kind: "ErrorReply", command: Command.DEVICE_GET_INFO, errno: 38 });
  }
}

/** A DMA_READ or DMA_WRITE into `ranges` (what the client mapped) mostly, anywhere sometimes. */
export function dmaCommand(rng: Rng, ranges: readonly { address: bigint; size: bigint }[], odd = 0.1): Message {
  const o = new Odd(rng, odd);
  const r = ranges.length > 0 && rng.chance(0.8) ? rng.pick(ranges) : { address: o.f64(0x10000n), size: 0x1000n };
  const span = r.size > 0x10000n ? 0x10000n : r.size;
  const count = o.ok() ? BigInt(rng.size(Number(span))) : o.f64(16n);
  const address = BigInt.asUintN(64, r.address + (span > 0n ? BigInt(rng.int(Number(span))) : 0n));
  if (rng.chance(0.5)) return { kind: "DmaReadRequest", address, count };
  return { kind: "DmaWriteRequest", address, data: rng.bytes(Number(count > 0x10000n ? 16n : count)) };
}

/** Encodes a message; one the codec refuses (a field out of its range) becomes an error reply to `command`. */
export function encodeReply(message: Message, msgId: number, command: number, flags = 0): Uint8Array {
  try {
    return encodeMessage(message, { msgId, flags });
  } catch {
    return encodeMessage({ kind: "ErrorReply", command, errno: 22 }, { msgId });
  }
}
