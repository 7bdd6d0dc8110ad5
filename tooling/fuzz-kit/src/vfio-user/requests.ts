// Client-to-server requests built with the proto codecs: every command, its fields mostly plausible for the device
// under test (its regions, IRQ counts, the DMA ranges mapped so far) and otherwise boundary values or anything, with
// the fds the command takes — or fds where none belong. What a server must refuse cleanly as much as what it serves.
import {
  Command,
  DeviceFeature,
  DeviceFeatureFlags,
  DmaMapFlags,
  DmaUnmapFlags,
  encodeMessage,
  IrqSetFlags,
  type Message,
  type VersionCapabilities,
} from "@emu/vfio-user-proto";
import type { Rng } from "../rng.js";
import type { FdKind } from "./fds.js";

/** What the device under test looks like, so that requests hit it as often as they miss. */
export interface DeviceShape {
  /** Regions by index (0-5 BARs, 6 ROM, 7 config, 8 VGA, 9+ device-specific) and size in bytes. */
  readonly regions: readonly { readonly index: number; readonly size: number }[];
  /** Vectors per IRQ index (INTx, MSI, MSI-X, ERR, REQ). */
  readonly irqs: readonly number[];
  /** Registers worth hitting often: doorbells that start DMA, the MSI-X table, the PBA. */
  readonly hotspots: readonly { readonly region: number; readonly offset: number; readonly size: number }[];
}

/** What the session knows so far. */
export interface RequestState {
  /** DMA ranges mapped so far (the session adds those the server accepted, and drops those it unmapped). */
  readonly mapped: { address: bigint; size: bigint }[];
}

/** A request and the fds to send with it (made by `makeFd`: kind and, for a memfd, its size). */
export interface Request {
  readonly message: Message;
  readonly fds: readonly { readonly kind: FdKind; readonly size?: number }[];
}

const PAGE = 0x1000n;

function capabilities(rng: Rng): VersionCapabilities {
  const c: Record<string, unknown> = {};
  if (rng.chance(0.8)) c.maxMsgFds = rng.chance(0.7) ? rng.pick([1, 8, 16, 32, 253]) : rng.interesting32();
  if (rng.chance(0.8)) c.maxDataXferSize = rng.chance(0.7) ? rng.pick([4096, 65536, 1048576]) : rng.field32(1048576);
  if (rng.chance(0.3)) c.maxDmaMaps = rng.field32(65535);
  if (rng.chance(0.3)) c.pgsizes = rng.field32(4096);
  if (rng.chance(0.3)) c.twinSocket = { supported: rng.chance(0.8) };
  if (rng.chance(0.5)) c.writeMultiple = rng.chance(0.8);
  if (rng.chance(0.2)) c.migration = { pgsize: 4096, maxBitmapSize: rng.field32(256 * 1048576) };
  return c as VersionCapabilities;
}

/** The VERSION a session opens with (usually one a real client would send). */
export function versionRequest(rng: Rng): Message {
  const jsonText = rng.chance(0.05)
    ? rng.pick(['{"capabilities":', "{}", '{"capabilities":{"max_msg_fds":"x"}}', "null", "[]"])
    : undefined;
  return {
    kind: "VersionRequest",
    major: rng.chance(0.95) ? 0 : rng.interesting16(),
    minor: rng.chance(0.9) ? rng.range(0, 2) : rng.interesting16(),
    capabilities: capabilities(rng),
    ...(jsonText === undefined ? {} : { jsonText }),
  };
}

function region(rng: Rng, shape: DeviceShape): { index: number; size: number } {
  if (rng.chance(0.9)) return rng.pick(shape.regions);
  return { index: rng.chance(0.5) ? rng.range(0, 12) : rng.interesting32(), size: 4096 };
}

/** An offset and count inside a region mostly, at its edges sometimes, anywhere rarely. */
function access(rng: Rng, shape: DeviceShape, maxCount: number): { region: number; offset: bigint; count: number } {
  if (shape.hotspots.length > 0 && rng.chance(0.25)) {
    const h = rng.pick(shape.hotspots);
    return { region: h.region, offset: BigInt(h.offset + rng.int(Math.max(1, h.size / 4)) * 4), count: 4 };
  }
  const r = region(rng, shape);
  const count = rng.weighted<() => number>([
    [6, () => rng.pick([1, 2, 4, 8])],
    [2, () => rng.size(Math.min(maxCount, r.size))],
    [1, () => rng.field32(4)],
  ])();
  const offset = rng.weighted<() => bigint>([
    [6, () => BigInt(rng.int(Math.max(1, r.size - Math.min(count, r.size) + 1)))],
    [2, () => BigInt(Math.max(0, r.size - count + rng.range(-8, 8)))],
    [1, () => rng.interesting64()],
  ])();
  return { region: r.index, offset, count: count >>> 0 };
}

function dmaMap(rng: Rng, state: RequestState): Request {
  const size = rng.chance(0.8) ? PAGE * BigInt(rng.range(1, 16)) : rng.field64(PAGE);
  // Over what is mapped now and then (the server must refuse an overlap), else anywhere, aligned mostly.
  const over = state.mapped.length > 0 && rng.chance(0.1) ? rng.pick(state.mapped).address : undefined;
  const address = over ?? (rng.chance(0.8) ? PAGE * BigInt(rng.range(0, 0x400)) : rng.field64(0x100000n));
  const offset = rng.chance(0.9) ? 0n : rng.field64(PAGE);
  const withFd = rng.chance(0.5);
  const flags = rng.chance(0.85) ? DmaMapFlags.READ | DmaMapFlags.WRITE : rng.field32(DmaMapFlags.READ);
  const end = size + offset;
  const fdSize = Number(end <= 0x100000n ? end : PAGE) + (rng.chance(0.1) ? -4096 : 0);
  return {
    message: { kind: "DmaMapRequest", argsz: rng.chance(0.95) ? 32 : rng.field32(32), flags, offset, address, size },
    fds: withFd ? [{ kind: rng.chance(0.9) ? "memfd" : "eventfd", size: Math.max(0, fdSize) }] : [],
  };
}

function dmaUnmap(rng: Rng, state: RequestState): Message {
  const known = state.mapped.length > 0 && rng.chance(0.7) ? rng.pick(state.mapped) : undefined;
  const all = rng.chance(0.05);
  const dirty = rng.chance(0.05);
  return {
    kind: "DmaUnmapRequest",
    argsz: dirty ? 40 : rng.chance(0.95) ? 24 : rng.field32(24),
    flags: (all ? DmaUnmapFlags.ALL : 0) | (dirty ? DmaUnmapFlags.GET_DIRTY_BITMAP : 0),
    address: all ? 0n : (known?.address ?? rng.field64(0x1000n)),
    size: all ? 0n : (known?.size ?? rng.field64(PAGE)),
    ...(dirty ? { bitmap: { pgsize: PAGE, size: rng.field64(8n) } } : {}),
  };
}

function setIrqs(rng: Rng, shape: DeviceShape): Request {
  const index = rng.chance(0.9) ? rng.int(shape.irqs.length) : rng.interesting32();
  const vectors = shape.irqs[index] ?? 1;
  const start = rng.chance(0.85) ? rng.int(Math.max(1, vectors)) : rng.interesting32();
  const count = rng.chance(0.85) ? rng.range(0, Math.max(0, vectors - start)) : rng.interesting32();
  const data = rng.pick([IrqSetFlags.DATA_NONE, IrqSetFlags.DATA_BOOL, IrqSetFlags.DATA_EVENTFD] as const);
  const action = rng.pick([IrqSetFlags.ACTION_MASK, IrqSetFlags.ACTION_UNMASK, IrqSetFlags.ACTION_TRIGGER] as const);
  const flags = rng.chance(0.95) ? data | action : rng.field32(data | action);
  const boolData = data === IrqSetFlags.DATA_BOOL ? rng.bytes(Math.min(count, 64)).map((b) => b & 1) : undefined;
  const nFds = data === IrqSetFlags.DATA_EVENTFD ? (rng.chance(0.8) ? Math.min(count, 16) : rng.range(0, 16)) : 0;
  return {
    message: {
      kind: "DeviceSetIrqsRequest",
      argsz: 20 + (boolData?.length ?? 0),
      flags,
      index,
      start,
      count,
      ...(boolData === undefined ? {} : { data: boolData }),
    },
    fds: Array.from({ length: nFds }, () => ({ kind: rng.chance(0.9) ? ("eventfd" as const) : ("memfd" as const) })),
  };
}

function deviceFeature(rng: Rng, state: RequestState): Message {
  const feature = rng.chance(0.9) ? rng.pick(Object.values(DeviceFeature)) : rng.interesting16();
  const op = rng.pick([DeviceFeatureFlags.GET, DeviceFeatureFlags.SET, DeviceFeatureFlags.PROBE] as const);
  const flags = rng.chance(0.95) ? feature | op : rng.field32(feature | op);
  const range = state.mapped.length > 0 ? rng.pick(state.mapped) : { address: 0n, size: PAGE };
  let data: Extract<Message, { kind: "DeviceFeatureRequest" }>["data"] = { type: "None" };
  if (op === DeviceFeatureFlags.SET && feature === DeviceFeature.MIG_DEVICE_STATE)
    data = { type: "MigDeviceState", deviceState: rng.chance(0.9) ? rng.range(0, 7) : rng.u32(), dataFd: -1 };
  else if (op === DeviceFeatureFlags.SET && feature === DeviceFeature.DMA_LOGGING_START)
    data = {
      type: "DmaLogging",
      pageSize: rng.field64(PAGE),
      ranges: Array.from({ length: rng.range(0, 3) }, () => ({ iova: range.address, length: range.size })),
    };
  else if (op === DeviceFeatureFlags.GET && feature === DeviceFeature.DMA_LOGGING_REPORT)
    data = { type: "DmaLoggingReport", iova: range.address, length: rng.field64(range.size), pageSize: PAGE };
  else if (rng.chance(0.1)) data = { type: "Raw", bytes: rng.bytes(rng.size(64)) };
  return { kind: "DeviceFeatureRequest", argsz: rng.chance(0.9) ? 4096 : rng.field32(16), flags, data };
}

type Maker = (rng: Rng, shape: DeviceShape, state: RequestState) => Message | Request;

const MAKERS: readonly (readonly [number, Maker])[] = [
  [20, (rng, shape) => ({ kind: "RegionReadRequest", ...access(rng, shape, 4096) })],
  [
    20,
    (rng, shape) => {
      const a = access(rng, shape, 4096);
      return {
        kind: "RegionWriteRequest",
        region: a.region,
        offset: a.offset,
        data: rng.bytes(Math.min(a.count, 8192)),
      };
    },
  ],
  [6, (rng, _s, state) => dmaMap(rng, state)],
  [4, (rng, _s, state) => dmaUnmap(rng, state)],
  [2, (rng) => ({ kind: "DeviceGetInfoRequest", argsz: rng.field32(16) })],
  [
    4,
    (rng, shape) => ({
      kind: "DeviceGetRegionInfoRequest",
      argsz: rng.field32(rng.pick([32, 256])),
      index: region(rng, shape).index,
    }),
  ],
  [
    2,
    (rng, shape) => ({
      kind: "DeviceGetRegionIoFdsRequest",
      argsz: rng.field32(1024),
      index: region(rng, shape).index,
    }),
  ],
  [
    3,
    (rng, shape) => ({
      kind: "DeviceGetIrqInfoRequest",
      argsz: rng.field32(16),
      index: rng.chance(0.9) ? rng.int(shape.irqs.length + 1) : rng.interesting32(),
    }),
  ],
  [6, (rng, shape) => setIrqs(rng, shape)],
  [1, () => ({ kind: "DeviceResetRequest" })],
  [
    3,
    (rng, shape) => ({
      kind: "RegionWriteMultiRequest",
      writes: Array.from({ length: rng.range(1, 8) }, () => {
        const a = access(rng, shape, 8);
        return { region: a.region, offset: a.offset, data: rng.bytes(Math.min(8, Math.max(1, a.count))) };
      }),
    }),
  ],
  [5, (rng, _s, state) => deviceFeature(rng, state)],
  [2, (rng) => ({ kind: "MigDataReadRequest", argsz: 8, size: rng.field32(256) })],
  [2, (rng) => ({ kind: "MigDataWriteRequest", argsz: 8, data: rng.bytes(rng.size(512)) })],
  [1, (rng) => ({ kind: "DmaReadRequest", address: rng.field64(0n), count: rng.field64(16n) })],
  [1, (rng) => ({ kind: "DmaWriteRequest", address: rng.field64(0n), data: rng.bytes(rng.size(64)) })],
  [1, (rng) => versionRequest(rng)],
  [
    1,
    (rng) => ({
      kind: "Unknown",
      command: rng.pick([0, 14, 19, 20, 0xffff, Command.DMA_READ]),
      reply: false,
      payload: rng.bytes(rng.size(64)),
    }),
  ],
];

/** A random request (after VERSION). */
export function randomRequest(rng: Rng, shape: DeviceShape, state: RequestState): Request {
  const made = rng.weighted(MAKERS)(rng, shape, state);
  return "message" in made ? made : { message: made, fds: [] };
}

/** Encodes a request; a message the codec refuses (a field out of its range) becomes a DEVICE_GET_INFO. */
export function encodeRequest(message: Message, msgId: number, flags = 0): Uint8Array {
  try {
    return encodeMessage(message, { msgId, flags });
  } catch {
    return encodeMessage({ kind: "DeviceGetInfoRequest", argsz: 16 }, { msgId, flags });
  }
}
