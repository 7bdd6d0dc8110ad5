import { EventEmitter } from "node:events";
import {
  closeFds,
  EventFd,
  isSysError,
  MAX_FDS_PER_MESSAGE,
  MAX_MAPPING_LENGTH,
  type Mapping,
  memfdCreate,
  mmap,
  pageSize,
  UnixSocket,
} from "@emu/sys";
import type {
  DeviceInfo,
  DmaBuffer,
  InterruptListener,
  IrqBinding,
  IrqInfo,
  MappedArea,
  RegionInfo,
  RegionMapping,
  SetIrqsRequest,
  VfioDevice,
  VfioUserAddress,
} from "@emu/vfio-device";
import { mappableAreas, toDeviceInfo, toIrqInfo, toRegionInfo } from "@emu/vfio-device";
import {
  Command,
  commandName,
  DeviceFeature,
  type DeviceFeatureData,
  DeviceFeatureFlags,
  type DmaLoggingRange,
  DmaMapFlags,
  decodeBody,
  dirtyBitmapSize,
  type EffectiveCapabilities,
  effectiveCapabilities,
  encodeMessage,
  type Frame,
  HEADER_SIZE,
  type Header,
  HeaderFlags,
  IrqSetFlags,
  isProtoError,
  type Message,
  type MessageKind,
  type MessageOf,
  MigrationState,
  maxMessageSizeFor,
  REGION_INFO_SIZE,
  type RegionWriteMultiEntry,
  type RequestMessage,
  type SubRegionIoFd,
  type VersionCapabilities,
} from "@emu/vfio-user-proto";
import { errnoName, invalid, VfioUserClientError } from "./errors.js";
import { type CommandChannel, Connection, type ConnectionStats } from "./internal/connection.js";
import { type DmaEntry, DmaTable } from "./internal/dma-table.js";

/** The protocol version this client proposes. */
export const CLIENT_VERSION = { major: 0, minor: 2 } as const;

/** Linux errno numbers this client puts in its error replies to server commands. */
const EPERM = 1;
const EFAULT = 14;
const EINVAL = 22;

const LE = true;
const EMPTY = new Uint8Array(0);
const U64_MAX = (1n << 64n) - 1n;

export interface VfioUserConnectOptions {
  /** Offer `twin_socket`: server → client commands then travel on a socket of their own. Default false. */
  readonly twinSocket?: boolean;
  /**
   * Our `max_data_xfer_size`: the largest `count` the server may put in a DMA_READ/DMA_WRITE to us, and (with the
   * server's) the largest piece of a region or migration-data transfer. Default 1 MiB.
   */
  readonly maxDataXferSize?: number;
  /** Our `max_msg_fds`: most fds we accept with one message. Default 16 (1 to 253). */
  readonly maxMsgFds?: number;
  /** Offer `write_multiple` (REGION_WRITE_MULTI). Default true. */
  readonly writeMultiple?: boolean;
  /** The version to propose. Default 0.2 ({@link CLIENT_VERSION}). */
  readonly version?: { readonly major: number; readonly minor: number };
  /** How long to retry connect() while the server's backlog is full. Default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /** How long to wait for the VERSION reply. Default 10 000 ms. */
  readonly negotiationTimeoutMs?: number;
}

/** What VERSION settled. */
export interface NegotiatedSession {
  readonly major: number;
  readonly minor: number;
  /** The server's capabilities as sent. */
  readonly serverCapabilities: VersionCapabilities;
  /** The server's capabilities with the spec's defaults for the absent ones. */
  readonly server: EffectiveCapabilities;
  /** The server's VERSION JSON text as received (null when it sent none). */
  readonly serverJson: string | null;
  /** What we offered. */
  readonly offered: VersionCapabilities;
  /** Server commands come on a socket of their own. */
  readonly twinSocket: boolean;
  /** REGION_WRITE_MULTI may be used. */
  readonly writeMultiple: boolean;
  /** Largest data piece we send in one REGION_WRITE / MIG_DATA_WRITE (and ask for in one read). */
  readonly maxTransfer: number;
}

/** A memory access the server made with a DMA_READ/DMA_WRITE message (the `dma` event). */
export interface ServerDmaAccess {
  readonly op: "read" | "write";
  readonly address: bigint;
  readonly count: bigint;
  /** Set when we refused it (EFAULT outside what we mapped, EPERM against the mapping's access). */
  readonly errno?: number;
  /** It came on the twin socket. */
  readonly twin: boolean;
}

/** Events of a {@link VfioUserClient}. */
export interface VfioUserClientEvents {
  /** The server went away (or broke the protocol): every pending request has failed with `err`. A device failure. */
  disconnected: [err: VfioUserClientError];
  /** An eventfd of `enableIrqs` fired: IRQ `index`, `vector`, and the eventfd counter read. */
  interrupt: [index: number, vector: number, count: bigint];
  /** The server read or wrote our memory with a DMA_READ/DMA_WRITE message. */
  dma: [access: ServerDmaAccess];
}

/** A DMA buffer of this client: a {@link DmaBuffer} plus how the server reaches it. */
export interface ClientDmaBuffer extends DmaBuffer {
  /** Mapped without an fd: the server uses DMA_READ/DMA_WRITE messages. */
  readonly messageBased: boolean;
}

/** Options of {@link VfioUserClient.dmaMap} beyond the access bits. */
export interface DmaMapOptions {
  readonly read?: boolean;
  readonly write?: boolean;
  /** Send no fd: the server must use DMA_READ/DMA_WRITE messages for this memory. Default false. */
  readonly messageBased?: boolean;
}

/** The reply to {@link VfioUserClient.rawRequest}. */
export interface RawReply {
  readonly header: Header;
  /** A copy of the payload. */
  readonly payload: Uint8Array;
  /** fds that came with the reply: yours to close. */
  readonly fds: readonly number[];
}

/** GET_REGION_IO_FDS result. The fds are yours (close them); `subRegions[i].fdIndex` indexes `fds`. */
export interface RegionIoFds {
  readonly index: number;
  readonly subRegions: readonly SubRegionIoFd[];
  readonly fds: readonly number[];
}

interface CachedRegion {
  readonly info: RegionInfo;
  /** The region fd that came with the full reply (MMAP regions). */
  readonly fd: number | undefined;
}

interface LiveArea {
  readonly mapping: Mapping;
  live: boolean;
}

function u32(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw invalid(`${what} must be an integer from 0 to 2^32-1, got ${String(v)}`);
  return v;
}

function u64(v: unknown, what: string): bigint {
  if (typeof v !== "bigint" || v < 0n || v > U64_MAX) throw invalid(`${what} must be a bigint from 0 to 2^64-1`);
  return v;
}

function length(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw invalid(`${what} must be a non-negative integer, got ${String(v)}`);
  return v;
}

const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** Below this an offset plus any safe-integer length stays within 2^64 (no bigint arithmetic on the hot path). */
const SAFE_END = U64_MAX + 1n - (1n << 53n);

/** True if offset + len (a safe integer) passes 2^64. */
function overflows64(offset: bigint, len: number): boolean {
  return offset > SAFE_END && offset + BigInt(len) > U64_MAX + 1n;
}

/** Encodes a request with msg_id 0 (the connection assigns it). */
function frameOf(message: RequestMessage): Uint8Array {
  return encodeMessage(message, { msgId: 0 });
}

/**
 * A vfio-user device, consumed over a UNIX socket: the {@link VfioDevice} of `@emu/vfio-device`, plus what only
 * vfio-user has (migration over DEVICE_FEATURE and MIG_DATA_READ/WRITE, DMA logging, REGION_WRITE_MULTI,
 * GET_REGION_IO_FDS, raw requests).
 *
 * Requests are pipelined: call as many methods as you like without awaiting; replies are matched in arrival order by
 * msg_id and command, and the messages queued in one tick leave in one sendmsg. Data transfers are split to the
 * server's `max_data_xfer_size`. DMA memory is allocated here (memfd, passed to the server unless `messageBased`), and
 * DMA_READ/DMA_WRITE commands from the server are served from it on the main or the twin socket. Every failure is a
 * {@link VfioUserClientError}; a lost connection fails every pending request and emits `disconnected`.
 *
 * ```ts
 * const dev = await VfioUserClient.connect("/run/emu/dev0.sock");
 * const cfg = await dev.regionRead(PciRegion.CONFIG, 0n, 64);
 * const buf = await dev.dmaMap(0x10000n, 0x10000n);          // memfd, mapped by the server
 * await dev.enableIrqs(PciIrq.MSIX, 0, 1, (v) => console.log("vector", v));
 * await dev.close();
 * ```
 */
export class VfioUserClient extends EventEmitter<VfioUserClientEvents> implements VfioDevice {
  readonly address: VfioUserAddress;
  private readonly conn: Connection;
  private readonly ourMaxXfer: number;
  private readonly ourMaxFds: number;
  private session: NegotiatedSession | undefined;
  private closed = false;
  private readonly regions = new Map<number, Promise<CachedRegion>>();
  private readonly areas = new Set<LiveArea>();
  private readonly irqFds = new Map<number, EventFd[]>();
  private readonly dma = new DmaTable();
  private loggingPageSize = 0n;
  /** While DMA logging runs: pages the server wrote with DMA_WRITE messages (the client tracks those, see README). */
  private messageDirty: Set<bigint> | undefined;

  private constructor(socket: UnixSocket, socketPath: string, maxXfer: number, maxFds: number) {
    super();
    this.address = { kind: "vfio-user", socketPath };
    this.ourMaxXfer = maxXfer;
    this.ourMaxFds = maxFds;
    this.conn = new Connection(socket, maxFds, {
      onCommand: (frame, channel) => this.onServerCommand(frame, channel),
      judgeAccess: (frame, count) => this.judgeAccess(frame, count),
      onLost: (err) => {
        if (this.listenerCount("disconnected") > 0) this.emit("disconnected", err);
      },
    });
  }

  /**
   * Connects to the vfio-user server listening at `socketPath` and negotiates VERSION. Rejects with a
   * VfioUserClientError: "Disconnected" (with `code`, e.g. ENOENT or ECONNREFUSED) when nobody listens there,
   * "Negotiation" when the server's VERSION reply is not acceptable.
   */
  static async connect(socketPath: string, options: VfioUserConnectOptions = {}): Promise<VfioUserClient> {
    if (typeof socketPath !== "string" || socketPath === "") throw invalid("socketPath must be a non-empty string");
    let socket: UnixSocket;
    try {
      socket = await UnixSocket.connect(socketPath, { timeoutMs: options.connectTimeoutMs ?? 10_000 });
    } catch (e) {
      throw new VfioUserClientError("Disconnected", `cannot connect to ${socketPath}: ${(e as Error).message}`, {
        ...(isSysError(e) ? { code: e.code } : {}),
        cause: e,
      });
    }
    return VfioUserClient.open(socket, socketPath, options);
  }

  /** Negotiates over a socket that is already connected (e.g. one inherited as `--fd`); the client owns it. */
  static async open(
    socket: UnixSocket,
    socketPath: string,
    options: VfioUserConnectOptions = {},
  ): Promise<VfioUserClient> {
    const maxXfer = options.maxDataXferSize ?? 1048576;
    const maxFds = options.maxMsgFds ?? 16;
    if (!Number.isSafeInteger(maxXfer) || maxXfer < 1 || maxXfer > 0xffffffff - 64) {
      socket.close();
      throw invalid(`maxDataXferSize ${String(maxXfer)} is not a positive 32-bit size`);
    }
    if (!Number.isInteger(maxFds) || maxFds < 0 || maxFds > MAX_FDS_PER_MESSAGE) {
      socket.close();
      throw invalid(`maxMsgFds ${String(maxFds)} is not in 0..${MAX_FDS_PER_MESSAGE}`);
    }
    const client = new VfioUserClient(socket, socketPath, maxXfer, maxFds);
    try {
      await client.negotiate(options);
    } catch (e) {
      await client.close();
      throw e;
    }
    return client;
  }

  private async negotiate(options: VfioUserConnectOptions): Promise<void> {
    const version = options.version ?? CLIENT_VERSION;
    const offered: VersionCapabilities = {
      maxMsgFds: this.ourMaxFds,
      maxDataXferSize: this.ourMaxXfer,
      ...(options.twinSocket === true ? { twinSocket: { supported: true } } : {}),
      ...((options.writeMultiple ?? true) ? { writeMultiple: true } : {}),
    };
    const frame = encodeMessage(
      { kind: "VersionRequest", major: version.major, minor: version.minor, capabilities: offered },
      { msgId: 0 },
    );
    const timeoutMs = options.negotiationTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new VfioUserClientError("Negotiation", `no VERSION reply within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    let reply: Frame;
    try {
      reply = await Promise.race([this.conn.request(frame), timeout]);
    } catch (e) {
      if ((e as VfioUserClientError).reason === "ErrorReply") {
        const err = e as VfioUserClientError;
        throw new VfioUserClientError("Negotiation", `the server refused VERSION: ${err.code}`, {
          errno: err.errno ?? 0,
          cause: e,
        });
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
    const fds = [...reply.fds];
    try {
      const m = this.decode(reply, "VersionReply");
      if (m.major !== version.major)
        throw new VfioUserClientError("Negotiation", `the server speaks major version ${m.major}, we ${version.major}`);
      if (m.minor > version.minor)
        throw new VfioUserClientError(
          "Negotiation",
          `the server answered minor version ${m.minor}, above the ${version.minor} we proposed`,
        );
      const caps = m.capabilities;
      const server = effectiveCapabilities(caps);
      if (server.writeMultiple && offered.writeMultiple !== true)
        throw new VfioUserClientError("Negotiation", "the server enabled write_multiple, which we did not offer");
      let twin = false;
      if (caps.twinSocket?.supported === true) {
        if (offered.twinSocket === undefined)
          throw new VfioUserClientError("Negotiation", "the server enabled twin_socket, which we did not offer");
        const i = caps.twinSocket.fdIndex;
        if (i === undefined || i >= fds.length)
          throw new VfioUserClientError(
            "Negotiation",
            `twin_socket fd_index ${String(i)} but the VERSION reply carried ${fds.length} fd(s)`,
          );
        const fd = fds[i]!;
        fds.splice(i, 1);
        let twinSocket: UnixSocket;
        try {
          twinSocket = UnixSocket.adopt(fd);
        } catch (e) {
          closeFds([fd]);
          throw new VfioUserClientError("Negotiation", `the twin_socket fd is not a socket: ${(e as Error).message}`, {
            cause: e,
          });
        }
        this.conn.adoptTwin(twinSocket, this.ourMaxFds);
        twin = true;
      }
      this.conn.maxMessageSize = maxMessageSizeFor(this.ourMaxXfer);
      this.session = {
        major: m.major,
        minor: m.minor,
        serverCapabilities: caps,
        server,
        serverJson: m.jsonText ?? null,
        offered,
        twinSocket: twin,
        writeMultiple: server.writeMultiple && offered.writeMultiple === true,
        maxTransfer: Math.max(1, Math.min(server.maxDataXferSize, this.ourMaxXfer)),
      };
    } finally {
      closeFds(fds);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // State

  /** What VERSION settled. */
  get negotiated(): NegotiatedSession {
    if (this.session === undefined) throw new VfioUserClientError("Closed", "not negotiated");
    return this.session;
  }

  /** True until the connection is lost or closed. */
  get connected(): boolean {
    return !this.closed && this.conn.failure === undefined;
  }

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    return this.conn.inFlight;
  }

  /** Message counters (for tests and benchmarks). */
  get stats(): Readonly<ConnectionStats> {
    return this.conn.stats;
  }

  private live(): void {
    if (this.closed) throw new VfioUserClientError("Closed", `${this.describe()} is closed`);
    const lost = this.conn.failure;
    if (lost) throw lost;
  }

  private describe(): string {
    return `vfio-user device ${this.address.socketPath}`;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Requests

  /** Sends a request and decodes the reply as `kind` (a "Protocol" error otherwise). The reply's fds are closed. */
  private async call<K extends MessageKind>(
    message: RequestMessage,
    kind: K,
    fds?: readonly number[],
  ): Promise<MessageOf<K>> {
    this.live();
    const reply = await this.conn.request(frameOf(message), fds);
    try {
      return this.decode(reply, kind);
    } finally {
      closeFds(reply.fds);
    }
  }

  private decode<K extends MessageKind>(frame: Frame, kind: K): MessageOf<K> {
    let m: Message;
    try {
      m = decodeBody(frame.header, frame.payload);
    } catch (e) {
      if (!isProtoError(e)) throw e;
      throw new VfioUserClientError("Protocol", `${commandName(frame.header.command)} reply: ${e.message}`, {
        command: frame.header.command,
        cause: e,
      });
    }
    if (m.kind !== kind)
      throw new VfioUserClientError("Protocol", `expected a ${kind}, got a ${m.kind}`, {
        command: frame.header.command,
      });
    return m as MessageOf<K>;
  }

  /**
   * Sends a whole frame as it is (only its msg_id is replaced) and returns the reply, for diagnostics and tests of a
   * server's error handling. An error reply rejects with an "ErrorReply" error. The reply's fds are yours.
   */
  async rawRequest(frame: Uint8Array, fds?: readonly number[]): Promise<RawReply> {
    this.live();
    if (!(frame instanceof Uint8Array) || frame.length < 4) throw invalid("a raw request needs at least 4 bytes");
    const reply = await this.conn.request(frame.slice(), fds);
    return { header: reply.header, payload: reply.payload.slice(), fds: reply.fds };
  }

  /** Resolves once the server has processed everything sent before (NO_REPLY writes included). */
  async sync(): Promise<void> {
    await this.call({ kind: "DeviceGetInfoRequest", argsz: 16 }, "DeviceGetInfoReply");
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Device and regions

  async getInfo(): Promise<DeviceInfo> {
    return toDeviceInfo(await this.call({ kind: "DeviceGetInfoRequest", argsz: 16 }, "DeviceGetInfoReply"));
  }

  /**
   * Region info with its capability chain: asks with argsz 32 and, when the reply says it needs more (the
   * capabilities did not fit), asks again with that argsz. Cached; the region fd of an mmappable region is kept
   * for `mapRegion` until `close()`.
   */
  getRegionInfo(index: number): Promise<RegionInfo> {
    try {
      this.live();
      u32(index, "region index");
    } catch (e) {
      return Promise.reject(e);
    }
    return this.region(index).then((r) => r.info);
  }

  private region(index: number): Promise<CachedRegion> {
    let p = this.regions.get(index);
    if (p === undefined) {
      p = this.fetchRegion(index);
      this.regions.set(index, p);
      p.catch(() => this.regions.delete(index));
    }
    return p;
  }

  private async fetchRegion(index: number): Promise<CachedRegion> {
    let argsz = REGION_INFO_SIZE;
    for (let attempt = 0; attempt < 8; attempt++) {
      this.live();
      const reply = await this.conn.request(frameOf({ kind: "DeviceGetRegionInfoRequest", argsz, index }));
      const fds = [...reply.fds];
      try {
        const m = this.decode(reply, "DeviceGetRegionInfoReply");
        if (m.argsz > argsz) {
          // Truncated to the fixed part (no capabilities, no fd): ask again with room for everything.
          argsz = m.argsz;
          continue;
        }
        if (m.index !== index)
          throw new VfioUserClientError("Protocol", `asked for region ${index}, got the info of region ${m.index}`, {
            command: Command.DEVICE_GET_REGION_INFO,
          });
        const info = toRegionInfo(m);
        const fd = info.mmappable ? fds.shift() : undefined;
        if (this.closed) {
          if (fd !== undefined) closeFds([fd]);
          throw new VfioUserClientError("Closed", `${this.describe()} is closed`);
        }
        return { info, fd };
      } finally {
        closeFds(fds);
      }
    }
    throw new VfioUserClientError("Protocol", `region ${index}: the server kept asking for a larger argsz`, {
      command: Command.DEVICE_GET_REGION_INFO,
    });
  }

  /**
   * REGION_READ, split into pieces of the negotiated transfer size (sent together). Bounds are the server's to check:
   * a bad region, offset or size comes back as an "ErrorReply" error (EINVAL).
   */
  regionRead(index: number, offset: bigint, len: number): Promise<Uint8Array> {
    try {
      this.live();
      u32(index, "region index");
      u64(offset, "offset");
      length(len, "length");
      if (overflows64(offset, len)) throw invalid("offset + length overflows 64 bits");
    } catch (e) {
      return Promise.reject(e);
    }
    const max = this.session?.maxTransfer ?? 1048576;
    if (len <= max) return this.readPiece(index, offset, len);
    const pieces: Promise<Uint8Array>[] = [];
    for (let at = 0; at < len; at += max)
      pieces.push(this.readPiece(index, offset + BigInt(at), Math.min(max, len - at)));
    return Promise.all(pieces).then((parts) => {
      const out = new Uint8Array(len);
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    });
  }

  private readPiece(index: number, offset: bigint, count: number): Promise<Uint8Array> {
    // The hot path: the request is written straight into the send arena, the reply's data is a view of it.
    return this.conn.requestAccess(Command.REGION_READ, offset, index, count, undefined, false) as Promise<Uint8Array>;
  }

  /** A reply to REGION_READ/WRITE that is not the plain one (see Connection.requestAccess): decoded and judged. */
  private judgeAccess(reply: Frame, count: number): Uint8Array | undefined {
    closeFds(reply.fds);
    if (reply.header.command === Command.REGION_WRITE) {
      this.decode(reply, "RegionWriteReply");
      return undefined;
    }
    const m = this.decode(reply, "RegionReadReply");
    if (m.data.length !== count && !(count === 0 && m.bare === true))
      throw new VfioUserClientError("Protocol", `REGION_READ of ${count} byte(s) returned ${m.data.length}`, {
        command: Command.REGION_READ,
      });
    return m.data;
  }

  /**
   * REGION_WRITE, split into pieces of the negotiated transfer size. With `noReply` the messages carry NO_REPLY: the
   * promise resolves once they are queued and a failure is never reported (use `sync()` as a barrier).
   */
  regionWrite(
    index: number,
    offset: bigint,
    data: Uint8Array,
    options?: { readonly noReply?: boolean },
  ): Promise<void> {
    try {
      this.live();
      u32(index, "region index");
      u64(offset, "offset");
      if (!(data instanceof Uint8Array)) throw invalid("data must be a Uint8Array");
      if (overflows64(offset, data.length)) throw invalid("offset + length overflows 64 bits");
    } catch (e) {
      return Promise.reject(e);
    }
    const noReply = options?.noReply === true;
    const max = this.session?.maxTransfer ?? 1048576;
    if (data.length <= max) return this.writePiece(index, offset, data, noReply);
    const pieces: Promise<void>[] = [];
    for (let at = 0; at < data.length; at += max)
      pieces.push(
        this.writePiece(index, offset + BigInt(at), data.subarray(at, Math.min(data.length, at + max)), noReply),
      );
    return Promise.all(pieces).then(() => undefined);
  }

  private writePiece(index: number, offset: bigint, data: Uint8Array, noReply: boolean): Promise<void> {
    const p = this.conn.requestAccess(Command.REGION_WRITE, offset, index, data.length, data, noReply);
    return p === undefined ? Promise.resolve() : (p as Promise<unknown> as Promise<void>);
  }

  /** REGION_WRITE_MULTI (only when `write_multiple` was negotiated): up to 8 bytes per write. Resolves with wr_cnt. */
  async regionWriteMulti(writes: readonly RegionWriteMultiEntry[]): Promise<bigint> {
    this.live();
    if (!this.negotiated.writeMultiple)
      throw new VfioUserClientError("Unsupported", "the server did not enable write_multiple", {
        command: Command.REGION_WRITE_MULTI,
      });
    if (!Array.isArray(writes) || writes.length === 0) throw invalid("regionWriteMulti needs at least one write");
    for (const w of writes) {
      u32(w.region, "region index");
      u64(w.offset, "offset");
      if (!(w.data instanceof Uint8Array) || w.data.length > 8) throw invalid("each write carries 0 to 8 bytes");
    }
    const r = await this.call({ kind: "RegionWriteMultiRequest", writes }, "RegionWriteMultiReply");
    return r.wrCnt;
  }

  /**
   * mmaps the mappable areas of a region (its sparse areas, or all of it) from the fd the server passed with the
   * region info. A region the server did not pass an fd for gives a mapping without areas (the slow path still
   * works). After `unmap()` (or `close()`) the areas' `bytes` read as empty.
   */
  async mapRegion(index: number): Promise<RegionMapping> {
    this.live();
    u32(index, "region index");
    const { info, fd } = await this.region(index);
    const areas = fd === undefined ? [] : mappableAreas(info);
    const done: { live: LiveArea; area: MappedArea }[] = [];
    try {
      for (const a of areas) {
        const fileOffset = info.offset + a.offset;
        if (fileOffset % BigInt(pageSize) !== 0n)
          throw new VfioUserClientError(
            "Unsupported",
            `region ${index}: area at 0x${a.offset.toString(16)} is not page-aligned in the region fd`,
          );
        if (a.offset + a.size > info.size || a.size > BigInt(MAX_MAPPING_LENGTH))
          throw new VfioUserClientError(
            "Unsupported",
            `region ${index}: area 0x${a.offset.toString(16)}+0x${a.size.toString(16)} runs past the region or is above 4 GiB`,
          );
        let mapping: Mapping;
        try {
          mapping = mmap(fd!, fileOffset, Number(a.size), info.writable ? "rw" : "r");
        } catch (e) {
          throw new VfioUserClientError("Unsupported", `region ${index}: mmap failed: ${(e as Error).message}`, {
            cause: e,
          });
        }
        const live: LiveArea = { mapping, live: true };
        this.areas.add(live);
        const bytes = new Uint8Array(mapping.buffer);
        done.push({
          live,
          area: {
            offset: a.offset,
            size: a.size,
            get bytes() {
              return live.live ? bytes : EMPTY;
            },
          },
        });
      }
    } catch (e) {
      for (const d of done) this.unmapArea(d.live);
      throw e;
    }
    return {
      index,
      areas: done.map((d) => d.area),
      unmap: () => {
        for (const d of done) this.unmapArea(d.live);
      },
    };
  }

  private unmapArea(a: LiveArea): void {
    if (!a.live) return;
    a.live = false;
    this.areas.delete(a);
    a.mapping.unmap();
  }

  /** GET_REGION_IO_FDS (with argsz retry). The returned fds are yours. */
  async getRegionIoFds(index: number): Promise<RegionIoFds> {
    this.live();
    u32(index, "region index");
    let argsz = 16 + 8 * 48;
    for (let attempt = 0; attempt < 8; attempt++) {
      this.live();
      const reply = await this.conn.request(frameOf({ kind: "DeviceGetRegionIoFdsRequest", argsz, index }));
      const fds = [...reply.fds];
      let keep = false;
      try {
        const m = this.decode(reply, "DeviceGetRegionIoFdsReply");
        if (m.argsz > argsz) {
          argsz = m.argsz;
          continue;
        }
        for (const s of m.subRegions)
          if (s.fdIndex >= fds.length)
            throw new VfioUserClientError("Protocol", `sub-region fd_index ${s.fdIndex} but ${fds.length} fd(s) came`, {
              command: Command.DEVICE_GET_REGION_IO_FDS,
            });
        keep = true;
        return { index: m.index, subRegions: m.subRegions, fds };
      } finally {
        if (!keep) closeFds(fds);
      }
    }
    throw new VfioUserClientError("Protocol", `region ${index}: GET_REGION_IO_FDS kept asking for a larger argsz`);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Interrupts

  async getIrqInfo(index: number): Promise<IrqInfo> {
    u32(index, "IRQ index");
    const r = await this.call({ kind: "DeviceGetIrqInfoRequest", argsz: 16, index }, "DeviceGetIrqInfoReply");
    return toIrqInfo(r);
  }

  /**
   * SET_IRQS. Eventfds in `data` stay yours (the server receives copies). vfio-user cannot carry a -1 fd: vectors
   * given -1 are de-assigned by a separate message without fds, and runs of fds longer than the server's
   * `max_msg_fds` are split over several messages.
   */
  async setIrqs(request: SetIrqsRequest): Promise<void> {
    this.live();
    const index = u32(request.index, "IRQ index");
    const start = u32(request.start, "start");
    const count = u32(request.count, "count");
    const action =
      request.action === "mask"
        ? IrqSetFlags.ACTION_MASK
        : request.action === "unmask"
          ? IrqSetFlags.ACTION_UNMASK
          : request.action === "trigger"
            ? IrqSetFlags.ACTION_TRIGGER
            : undefined;
    if (action === undefined) throw invalid(`unknown IRQ action ${String(request.action)}`);
    const data = request.data;
    const send = async (flags: number, s: number, c: number, bytes?: Uint8Array, fds?: readonly number[]) => {
      await this.call(
        {
          kind: "DeviceSetIrqsRequest",
          argsz: 20 + (bytes?.length ?? 0),
          flags: flags | action,
          index,
          start: s,
          count: c,
          ...(bytes === undefined ? {} : { data: bytes }),
        },
        "DeviceSetIrqsReply",
        fds,
      );
    };
    switch (data?.kind) {
      case "none":
        return send(IrqSetFlags.DATA_NONE, start, count);
      case "bool": {
        if (!Array.isArray(data.values) || data.values.length !== count)
          throw invalid(`DATA_BOOL needs ${count} values, got ${String(data.values?.length)}`);
        return send(
          IrqSetFlags.DATA_BOOL,
          start,
          count,
          Uint8Array.from(data.values, (b) => (b ? 1 : 0)),
        );
      }
      case "eventfd": {
        const fds = data.fds;
        if (!Array.isArray(fds)) throw invalid("DATA_EVENTFD needs an fds array");
        if (fds.length === 0) return send(IrqSetFlags.DATA_EVENTFD, start, count);
        if (fds.length !== count) throw invalid(`DATA_EVENTFD needs ${count} fds (or none), got ${fds.length}`);
        for (const fd of fds)
          if (!Number.isInteger(fd) || fd < -1) throw invalid(`bad eventfd ${String(fd)} (an fd, or -1 to de-assign)`);
        const maxFds = this.negotiated.server.maxMsgFds;
        // Runs of real fds (at most max_msg_fds per message) and runs of -1 (de-assigned, no fds), in order.
        let i = 0;
        while (i < count) {
          let j = i + 1;
          if (fds[i] === -1) {
            while (j < count && fds[j] === -1) j++;
            await send(IrqSetFlags.DATA_EVENTFD, start + i, j - i);
          } else {
            if (maxFds < 1)
              throw new VfioUserClientError("Unsupported", "the server accepts no fds (max_msg_fds 0)", {
                command: Command.DEVICE_SET_IRQS,
              });
            while (j < count && fds[j] !== -1 && j - i < maxFds) j++;
            await send(IrqSetFlags.DATA_EVENTFD, start + i, j - i, undefined, fds.slice(i, j));
          }
          i = j;
        }
        return;
      }
      default:
        throw invalid(`unknown IRQ data kind ${String((data as { kind?: unknown } | undefined)?.kind)}`);
    }
  }

  /**
   * Creates one eventfd per vector, assigns them with ACTION_TRIGGER, and calls `listener` (and emits `interrupt`)
   * whenever the server signals one. Enabling an index again replaces its eventfds. `disable()` de-assigns the index.
   */
  async enableIrqs(index: number, start: number, count: number, listener: InterruptListener): Promise<IrqBinding> {
    this.live();
    u32(index, "IRQ index");
    u32(start, "start");
    u32(count, "count");
    if (typeof listener !== "function") throw invalid("enableIrqs needs a listener function");
    if (this.irqFds.has(index)) await this.disableIrqs(index);
    const efds: EventFd[] = [];
    try {
      for (let i = 0; i < count; i++) efds.push(EventFd.create());
      await this.setIrqs({
        index,
        action: "trigger",
        start,
        count,
        data: { kind: "eventfd", fds: efds.map((e) => e.fd) },
      });
    } catch (e) {
      for (const f of efds) f.close();
      throw e;
    }
    this.irqFds.set(index, efds);
    efds.forEach((f, i) => {
      const vector = start + i;
      f.watch(
        (n) => {
          listener(vector, n);
          if (this.listenerCount("interrupt") > 0) this.emit("interrupt", index, vector, n);
        },
        { onError: () => undefined },
      );
    });
    return { index, start, count, disable: () => this.disableIrqs(index) };
  }

  /** De-assigns every vector of `index` (count 0, DATA_NONE, ACTION_TRIGGER) and closes our eventfds for it. */
  async disableIrqs(index: number): Promise<void> {
    u32(index, "IRQ index");
    const efds = this.irqFds.get(index);
    this.irqFds.delete(index);
    try {
      if (this.connected) await this.setIrqs({ index, action: "trigger", start: 0, count: 0, data: { kind: "none" } });
    } finally {
      for (const f of efds ?? []) f.close();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // DMA

  /**
   * Allocates `size` bytes (a memfd mapped here) and maps them for the device at `iova` with DMA_MAP. The fd goes
   * with the message (the server maps the same pages) unless `messageBased`: then the server reaches the memory only
   * with DMA_READ/DMA_WRITE messages, which this client serves from it. Sizes above 4 GiB are refused.
   */
  async dmaMap(iova: bigint, size: bigint, access?: DmaMapOptions): Promise<ClientDmaBuffer> {
    this.live();
    u64(iova, "iova");
    u64(size, "size");
    if (size === 0n || size > BigInt(MAX_MAPPING_LENGTH))
      throw invalid(`DMA size 0x${size.toString(16)} is not in 1..4 GiB`);
    if (iova + size > U64_MAX + 1n) throw invalid("iova + size overflows 64 bits");
    const clash = this.dma.overlaps(iova, size);
    if (clash)
      throw invalid(
        `DMA range 0x${iova.toString(16)}+0x${size.toString(16)} overlaps 0x${clash.iova.toString(16)}+0x${clash.size.toString(16)}`,
      );
    const readable = access?.read ?? true;
    const writable = access?.write ?? true;
    const messageBased = access?.messageBased === true;
    const fd = memfdCreate(`emu-dma-${iova.toString(16)}`, size);
    let mapping: Mapping;
    try {
      mapping = mmap(fd, 0, Number(size), "rw");
    } catch (e) {
      closeFds([fd]);
      throw new VfioUserClientError(
        "InvalidArgument",
        `cannot map ${size} bytes of DMA memory: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    const entry: DmaEntry = {
      iova,
      size,
      end: iova + size,
      bytes: new Uint8Array(mapping.buffer),
      readable,
      writable,
      messageBased,
      mapping,
    };
    this.dma.add(entry);
    try {
      const flags = (readable ? DmaMapFlags.READ : 0) | (writable ? DmaMapFlags.WRITE : 0);
      const frame = frameOf({ kind: "DmaMapRequest", argsz: 32, flags, offset: 0n, address: iova, size });
      let sent: Promise<Frame>;
      try {
        sent = this.conn.request(frame, messageBased ? undefined : [fd]);
      } finally {
        closeFds([fd]); // the message left with its copy of the fd; our mapping does not need it
      }
      const reply = await sent;
      closeFds(reply.fds);
      this.decode(reply, "DmaMapReply");
    } catch (e) {
      this.dma.remove(entry);
      mapping.unmap();
      throw e;
    }
    return {
      iova,
      size,
      bytes: entry.bytes,
      readable,
      writable,
      messageBased,
    };
  }

  /** DMA_UNMAP of a range mapped before (exactly). Our memory for it is released after the server's reply. */
  async dmaUnmap(iova: bigint, size: bigint): Promise<void> {
    this.live();
    u64(iova, "iova");
    u64(size, "size");
    await this.call({ kind: "DmaUnmapRequest", argsz: 24, flags: 0, address: iova, size }, "DmaUnmapReply");
    const e = this.dma.find(iova, size);
    if (e) {
      this.dma.remove(e);
      e.mapping.unmap();
    }
  }

  /** The DMA buffers currently mapped. */
  dmaBuffers(): readonly ClientDmaBuffer[] {
    return this.dma.list().map((e) => ({
      iova: e.iova,
      size: e.size,
      bytes: e.bytes,
      readable: e.readable,
      writable: e.writable,
      messageBased: e.messageBased,
    }));
  }

  /** A DMA_READ or DMA_WRITE from the server (main or twin socket): served from our DMA table. */
  private onServerCommand(frame: Frame, channel: CommandChannel): void {
    closeFds(frame.fds);
    const { msgId, command, flags } = frame.header;
    const noReply = (flags & HeaderFlags.NO_REPLY) !== 0;
    const fail = (errno: number): void => {
      if (!noReply) channel.send(encodeMessage({ kind: "ErrorReply", command, errno }, { msgId }));
    };
    if (command !== Command.DMA_READ && command !== Command.DMA_WRITE) {
      fail(EINVAL);
      return;
    }
    const op = command === Command.DMA_READ ? "read" : "write";
    let m: Message;
    try {
      m = decodeBody(frame.header, frame.payload);
    } catch {
      fail(EINVAL);
      return;
    }
    const address = (m as { address: bigint }).address;
    const count = m.kind === "DmaReadRequest" ? m.count : m.kind === "DmaWriteRequest" ? BigInt(m.data.length) : 0n;
    let errno = 0;
    const entry = count > BigInt(this.ourMaxXfer) ? undefined : this.dma.lookup(address, count);
    if (count > BigInt(this.ourMaxXfer)) errno = EINVAL;
    else if (entry === undefined) errno = EFAULT;
    else if (op === "read" ? !entry.readable : !entry.writable) errno = EPERM;
    if (this.listenerCount("dma") > 0)
      this.emit(
        "dma",
        errno === 0 ? { op, address, count, twin: channel.twin } : { op, address, count, errno, twin: channel.twin },
      );
    if (errno !== 0 || entry === undefined) {
      fail(errno);
      return;
    }
    const at = Number(address - entry.iova);
    if (m.kind === "DmaReadRequest") {
      if (noReply) return;
      const n = Number(count);
      const head = new Uint8Array(HEADER_SIZE + 16);
      const v = new DataView(head.buffer);
      v.setUint16(0, msgId, LE);
      v.setUint16(2, command, LE);
      v.setUint32(4, HEADER_SIZE + 16 + n, LE);
      v.setUint32(8, HeaderFlags.TYPE_REPLY, LE);
      v.setBigUint64(16, address, LE);
      v.setBigUint64(24, count, LE);
      // Gathered into one sendmsg with the data straight from our memory.
      channel.send(n === 0 ? head : [head, entry.bytes.subarray(at, at + n)]);
      return;
    }
    if (m.kind === "DmaWriteRequest") {
      entry.bytes.set(m.data, at);
      const dirty = this.messageDirty;
      if (dirty !== undefined && count > 0n) {
        const ps = this.loggingPageSize;
        for (let p = address / ps; p <= (address + count - 1n) / ps; p++) dirty.add(p);
      }
      if (noReply) return;
      channel.send(encodeMessage({ kind: "DmaWriteReply", address, count }, { msgId }));
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Reset, migration

  async reset(): Promise<void> {
    await this.call({ kind: "DeviceResetRequest" }, "DeviceResetReply");
  }

  private feature(flags: number, argsz: number, data: DeviceFeatureData): Promise<MessageOf<"DeviceFeatureReply">> {
    return this.call({ kind: "DeviceFeatureRequest", argsz, flags, data }, "DeviceFeatureReply");
  }

  /**
   * DEVICE_FEATURE PROBE: true when the server supports `feature` with the ops named (GET/SET bits of
   * {@link DeviceFeatureFlags}), false when it refuses (any error reply).
   */
  async probeFeature(feature: number, ops = 0): Promise<boolean> {
    u32(feature, "feature");
    const flags = ((feature & DeviceFeatureFlags.MASK) | ops | DeviceFeatureFlags.PROBE) >>> 0;
    try {
      await this.feature(flags, 8, { type: "None" });
      return true;
    } catch (e) {
      if ((e as VfioUserClientError).reason === "ErrorReply") return false;
      throw e;
    }
  }

  /** GET MIGRATION: the `MigrationFlags` bits (STOP_COPY, P2P, PRE_COPY). */
  async getMigrationFlags(): Promise<bigint> {
    const r = await this.feature(DeviceFeature.MIGRATION | DeviceFeatureFlags.GET, 16, { type: "None" });
    if (r.data.type !== "Migration") throw new VfioUserClientError("Protocol", "GET MIGRATION reply without flags");
    return r.data.flags;
  }

  /** GET MIG_DEVICE_STATE. */
  async getMigrationState(): Promise<MigrationState> {
    const r = await this.feature(DeviceFeature.MIG_DEVICE_STATE | DeviceFeatureFlags.GET, 16, { type: "None" });
    if (r.data.type !== "MigDeviceState")
      throw new VfioUserClientError("Protocol", "GET MIG_DEVICE_STATE reply without a state");
    return r.data.deviceState as MigrationState;
  }

  /** SET MIG_DEVICE_STATE (the server walks the arcs; complete when this resolves). */
  async setMigrationState(state: MigrationState): Promise<void> {
    u32(state, "migration state");
    await this.feature(DeviceFeature.MIG_DEVICE_STATE | DeviceFeatureFlags.SET, 16, {
      type: "MigDeviceState",
      deviceState: state,
      dataFd: -1,
    });
  }

  /**
   * One MIG_DATA_READ of up to `max` bytes (clipped to the negotiated transfer size). Fewer bytes (or none) mean "no
   * more data for now". The reply's `size` is trusted, not its length (libvfio-user pads).
   */
  async readMigrationData(max?: number): Promise<Uint8Array> {
    this.live();
    const size = Math.min(length(max ?? this.negotiated.maxTransfer, "max"), this.negotiated.maxTransfer);
    const r = await this.call({ kind: "MigDataReadRequest", argsz: 8 + size, size }, "MigDataReadReply");
    if (r.data.length > size)
      throw new VfioUserClientError("Protocol", `MIG_DATA_READ of ${size} returned ${r.data.length} byte(s)`);
    return r.data.slice();
  }

  /** Reads migration data until the device has no more for now; the pieces concatenated. */
  async readAllMigrationData(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let total = 0;
    const max = this.negotiated.maxTransfer;
    for (;;) {
      const p = await this.readMigrationData(max);
      parts.push(p);
      total += p.length;
      if (p.length < max) break;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** MIG_DATA_WRITE, split into pieces of the negotiated transfer size (RESUMING state). */
  async writeMigrationData(data: Uint8Array): Promise<void> {
    this.live();
    if (!(data instanceof Uint8Array)) throw invalid("data must be a Uint8Array");
    const max = this.negotiated.maxTransfer;
    const pieces: Promise<unknown>[] = [];
    for (let at = 0; at < data.length || (at === 0 && data.length === 0); at += max) {
      const piece = data.subarray(at, Math.min(data.length, at + max));
      pieces.push(
        this.call({ kind: "MigDataWriteRequest", argsz: 8 + piece.length, data: piece }, "MigDataWriteReply"),
      );
      if (data.length === 0) break;
    }
    await Promise.all(pieces);
  }

  /** DMA_LOGGING_START; resolves with the page size the server chose (from its reply). `ranges` empty = all. */
  async startDmaLogging(pageSize: bigint, ranges: readonly DmaLoggingRange[] = []): Promise<bigint> {
    u64(pageSize, "page size");
    const r = await this.feature(
      DeviceFeature.DMA_LOGGING_START | DeviceFeatureFlags.SET,
      8 + 16 + 16 * ranges.length,
      {
        type: "DmaLogging",
        pageSize,
        ranges,
      },
    );
    const chosen = r.data.type === "DmaLogging" && r.data.pageSize > 0n ? r.data.pageSize : pageSize;
    this.loggingPageSize = chosen > 0n ? chosen : 4096n;
    this.messageDirty = new Set();
    return chosen;
  }

  async stopDmaLogging(): Promise<void> {
    this.messageDirty = undefined;
    await this.feature(DeviceFeature.DMA_LOGGING_STOP | DeviceFeatureFlags.SET, 24, {
      type: "DmaLogging",
      pageSize: this.loggingPageSize,
      ranges: [],
    });
  }

  /**
   * DMA_LOGGING_REPORT for [iova, iova + length) at `pageSize` pages: the bitmap (u64 words, bit n = page n, see
   * `isPageDirty` of @emu/vfio-user-proto). Reading it clears it on the server. Pages the server wrote with
   * DMA_WRITE messages since logging started are ORed in (the client tracks those) and cleared too.
   */
  async reportDirtyPages(iova: bigint, len: bigint, pageSize: bigint): Promise<Uint8Array> {
    u64(iova, "iova");
    u64(len, "length");
    u64(pageSize, "page size");
    let bytes: number;
    try {
      bytes = dirtyBitmapSize(len, pageSize);
    } catch (e) {
      throw invalid((e as Error).message);
    }
    const r = await this.feature(DeviceFeature.DMA_LOGGING_REPORT | DeviceFeatureFlags.GET, 8 + 24 + bytes, {
      type: "DmaLoggingReport",
      iova,
      length: len,
      pageSize,
    });
    if (r.data.type !== "DmaLoggingReport" || r.data.bitmap === undefined)
      throw new VfioUserClientError("Protocol", "DMA_LOGGING_REPORT reply without a bitmap");
    const bitmap = r.data.bitmap.slice();
    const dirty = this.messageDirty;
    if (dirty !== undefined && dirty.size > 0 && len > 0n) {
      // Our pages are loggingPageSize pages; the report's may be larger or smaller.
      const ps = this.loggingPageSize;
      for (const p of [...dirty]) {
        const start = p * ps;
        const end = start + ps;
        if (end <= iova || start >= iova + len) continue;
        dirty.delete(p);
        const from = (start > iova ? start - iova : 0n) / pageSize;
        const to = (minBig(end, iova + len) - iova - 1n) / pageSize;
        for (let b = from; b <= to; b++) {
          const i = Number(b >> 3n);
          if (i < bitmap.length) bitmap[i] = bitmap[i]! | (1 << Number(b & 7n));
        }
      }
    }
    return bitmap;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Close

  /**
   * Disconnects and releases everything of ours: IRQ eventfds, region mappings and fds, DMA memory. Pending
   * requests fail with a "Closed" error. The server drops our DMA mappings and eventfds when we go (spec). Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.conn.close(new VfioUserClientError("Closed", `${this.describe()} was closed`));
    for (const efds of this.irqFds.values()) for (const f of efds) f.close();
    this.irqFds.clear();
    for (const a of [...this.areas]) this.unmapArea(a);
    for (const e of this.dma.clear()) e.mapping.unmap();
    const regions = [...this.regions.values()];
    this.regions.clear();
    for (const p of regions) {
      try {
        const r = await p;
        if (r.fd !== undefined) closeFds([r.fd]);
      } catch {
        // failed lookups hold no fd
      }
    }
  }
}

/** The migration states, re-exported for convenience. */
/** errno name of a number, as used in error messages. */
export { errnoName, MigrationState };
