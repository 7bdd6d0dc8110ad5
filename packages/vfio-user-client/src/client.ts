import { EventEmitter } from "node:events";
import { isSysError, UnixSocket } from "@emu/sys";
import type {
  DeviceInfo,
  InterruptListener,
  IrqBinding,
  IrqInfo,
  RegionInfo,
  RegionMapping,
  SetIrqsRequest,
  VfioDevice,
  VfioUserAddress,
} from "@emu/vfio-device";
import { toDeviceInfo } from "@emu/vfio-device";
import type { DmaLoggingRange, Header, MigrationState, RegionWriteMultiEntry } from "@emu/vfio-user-proto";
import { DirtyLog } from "./dirty-log.js";
import { type ClientDmaBuffer, type DmaMapOptions, DmaMemory } from "./dma-memory.js";
import { DmaService, type ServerDmaAccess } from "./dma-service.js";
import { invalid, VfioUserClientError } from "./errors.js";
import { Connection, type ConnectionStats } from "./internal/connection.js";
import { ClientSession } from "./internal/session.js";
import { Irqs } from "./irqs.js";
import { Migration } from "./migration.js";
import {
  type NegotiatedSession,
  negotiate,
  type OurLimits,
  ourLimits,
  type VfioUserConnectOptions,
} from "./negotiation.js";
import { RegionAccess } from "./region-access.js";
import { RegionInfoCache, type RegionIoFds } from "./region-info.js";
import { RegionMappings } from "./region-mapping.js";

/** Events of a {@link VfioUserClient}. */
export interface VfioUserClientEvents {
  /** The server went away (or broke the protocol): every pending request has failed with `err`. A device failure. */
  disconnected: [err: VfioUserClientError];
  /** An eventfd of `enableIrqs` fired: IRQ `index`, `vector`, and the eventfd counter read. */
  interrupt: [index: number, vector: number, count: bigint];
  /** The server read or wrote our memory with a DMA_READ/DMA_WRITE message. */
  dma: [access: ServerDmaAccess];
}

/** The reply to {@link VfioUserClient.rawRequest}. */
export interface RawReply {
  readonly header: Header;
  /** A copy of the payload. */
  readonly payload: Uint8Array;
  /** fds that came with the reply: yours to close. */
  readonly fds: readonly number[];
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
  private readonly session: ClientSession;
  private readonly regionInfo: RegionInfoCache;
  private readonly access: RegionAccess;
  private readonly mappings: RegionMappings;
  private readonly irqs: Irqs;
  private readonly memory: DmaMemory;
  private readonly dirtyLog: DirtyLog;
  private readonly migration: Migration;
  private readonly dmaService: DmaService;

  private constructor(socket: UnixSocket, socketPath: string, limits: OurLimits) {
    super();
    this.address = { kind: "vfio-user", socketPath };
    const conn = new Connection(socket, limits.maxFds, {
      onCommand: (frame, channel) => this.dmaService.serve(frame, channel),
      onLost: (err) => {
        if (this.listenerCount("disconnected") > 0) this.emit("disconnected", err);
      },
    });
    const session = new ClientSession(conn, socketPath);
    this.session = session;
    this.regionInfo = new RegionInfoCache(session);
    this.access = new RegionAccess(session);
    this.mappings = new RegionMappings(session, this.regionInfo);
    this.irqs = new Irqs(session, (index, vector, n) => {
      if (this.listenerCount("interrupt") > 0) this.emit("interrupt", index, vector, n);
    });
    this.memory = new DmaMemory(session);
    this.dirtyLog = new DirtyLog(session);
    this.migration = new Migration(session);
    this.dmaService = new DmaService(this.memory.table, limits.maxXfer, this.dirtyLog, {
      wanted: () => this.listenerCount("dma") > 0,
      seen: (access) => this.emit("dma", access),
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
    let limits: OurLimits;
    try {
      limits = ourLimits(options);
    } catch (e) {
      socket.close();
      throw e;
    }
    const client = new VfioUserClient(socket, socketPath, limits);
    try {
      client.session.settled = await negotiate(client.session.conn, limits, options);
    } catch (e) {
      await client.close();
      throw e;
    }
    return client;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // State

  /** What VERSION settled. */
  get negotiated(): NegotiatedSession {
    return this.session.negotiated;
  }

  /** True until the connection is lost or closed. */
  get connected(): boolean {
    return this.session.connected;
  }

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    return this.session.conn.inFlight;
  }

  /** Message counters (for tests and benchmarks). */
  get stats(): Readonly<ConnectionStats> {
    return this.session.conn.stats;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Requests

  /**
   * Sends a whole frame as it is (only its msg_id is replaced) and returns the reply, for diagnostics and tests of a
   * server's error handling. An error reply rejects with an "ErrorReply" error. The reply's fds are yours.
   */
  async rawRequest(frame: Uint8Array, fds?: readonly number[]): Promise<RawReply> {
    this.session.live();
    if (!(frame instanceof Uint8Array) || frame.length < 4) throw invalid("a raw request needs at least 4 bytes");
    const reply = await this.session.conn.request(frame.slice(), fds);
    return { header: reply.header, payload: reply.payload.slice(), fds: reply.fds };
  }

  /** Resolves once the server has processed everything sent before (NO_REPLY writes included). */
  async sync(): Promise<void> {
    await this.session.call({ kind: "DeviceGetInfoRequest", argsz: 16 }, "DeviceGetInfoReply");
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Device and regions

  async getInfo(): Promise<DeviceInfo> {
    return toDeviceInfo(await this.session.call({ kind: "DeviceGetInfoRequest", argsz: 16 }, "DeviceGetInfoReply"));
  }

  /**
   * Region info with its capability chain: asks with argsz 32 and, when the reply says it needs more (the
   * capabilities did not fit), asks again with that argsz. Cached; the region fd of an mmappable region is kept
   * for `mapRegion` until `close()`.
   */
  getRegionInfo(index: number): Promise<RegionInfo> {
    return this.regionInfo.getRegionInfo(index);
  }

  /**
   * REGION_READ, split into pieces of the negotiated transfer size (sent together). Bounds are the server's to check:
   * a bad region, offset or size comes back as an "ErrorReply" error (EINVAL).
   */
  regionRead(index: number, offset: bigint, len: number): Promise<Uint8Array> {
    return this.access.regionRead(index, offset, len);
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
    return this.access.regionWrite(index, offset, data, options?.noReply === true);
  }

  /** REGION_WRITE_MULTI (only when `write_multiple` was negotiated): up to 8 bytes per write. Resolves with wr_cnt. */
  regionWriteMulti(writes: readonly RegionWriteMultiEntry[]): Promise<bigint> {
    return this.access.regionWriteMulti(writes);
  }

  /**
   * mmaps the mappable areas of a region (its sparse areas, or all of it) from the fd the server passed with the
   * region info. A region the server did not pass an fd for gives a mapping without areas (the slow path still
   * works). After `unmap()` (or `close()`) the areas' `bytes` read as empty.
   */
  mapRegion(index: number): Promise<RegionMapping> {
    return this.mappings.mapRegion(index);
  }

  /** GET_REGION_IO_FDS (with argsz retry). The returned fds are yours. */
  getRegionIoFds(index: number): Promise<RegionIoFds> {
    return this.regionInfo.getRegionIoFds(index);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Interrupts

  getIrqInfo(index: number): Promise<IrqInfo> {
    return this.irqs.getIrqInfo(index);
  }

  /**
   * SET_IRQS. Eventfds in `data` stay yours (the server receives copies). vfio-user cannot carry a -1 fd: vectors
   * given -1 are de-assigned by a separate message without fds, and runs of fds longer than the server's
   * `max_msg_fds` are split over several messages.
   */
  setIrqs(request: SetIrqsRequest): Promise<void> {
    return this.irqs.setIrqs(request);
  }

  /**
   * Creates one eventfd per vector, assigns them with ACTION_TRIGGER, and calls `listener` (and emits `interrupt`)
   * whenever the server signals one. Enabling an index again replaces its eventfds. `disable()` de-assigns the index.
   */
  enableIrqs(index: number, start: number, count: number, listener: InterruptListener): Promise<IrqBinding> {
    return this.irqs.enableIrqs(index, start, count, listener);
  }

  /** De-assigns every vector of `index` (count 0, DATA_NONE, ACTION_TRIGGER) and closes our eventfds for it. */
  disableIrqs(index: number): Promise<void> {
    return this.irqs.disableIrqs(index);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // DMA

  /**
   * Allocates `size` bytes (a memfd mapped here) and maps them for the device at `iova` with DMA_MAP. The fd goes
   * with the message (the server maps the same pages) unless `messageBased`: then the server reaches the memory only
   * with DMA_READ/DMA_WRITE messages, which this client serves from it. With `file`, the caller's file range is
   * mapped and sent instead (with its offset; the fd stays the caller's). Our own memfd stays open until the unmap, so
   * the buffer's `file` lets a worker thread map the same memory. Sizes above 4 GiB are refused.
   */
  dmaMap(iova: bigint, size: bigint, access?: DmaMapOptions): Promise<ClientDmaBuffer> {
    return this.memory.dmaMap(iova, size, access);
  }

  /** DMA_UNMAP of a range mapped before (exactly). Our memory for it is released after the server's reply. */
  dmaUnmap(iova: bigint, size: bigint): Promise<void> {
    return this.memory.dmaUnmap(iova, size);
  }

  /** The DMA buffers currently mapped. */
  dmaBuffers(): readonly ClientDmaBuffer[] {
    return this.memory.dmaBuffers();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Reset, migration

  async reset(): Promise<void> {
    await this.session.call({ kind: "DeviceResetRequest" }, "DeviceResetReply");
  }

  /**
   * DEVICE_FEATURE PROBE: true when the server supports `feature` with the ops named (GET/SET bits of
   * {@link DeviceFeatureFlags}), false when it refuses (any error reply).
   */
  probeFeature(feature: number, ops = 0): Promise<boolean> {
    return this.migration.probeFeature(feature, ops);
  }

  /** GET MIGRATION: the `MigrationFlags` bits (STOP_COPY, P2P, PRE_COPY). */
  getMigrationFlags(): Promise<bigint> {
    return this.migration.getMigrationFlags();
  }

  /** GET MIG_DEVICE_STATE. */
  getMigrationState(): Promise<MigrationState> {
    return this.migration.getMigrationState();
  }

  /** SET MIG_DEVICE_STATE (the server walks the arcs; complete when this resolves). */
  setMigrationState(state: MigrationState): Promise<void> {
    return this.migration.setMigrationState(state);
  }

  /**
   * One MIG_DATA_READ of up to `max` bytes (clipped to the negotiated transfer size). Fewer bytes (or none) mean "no
   * more data for now". The reply's `size` is trusted, not its length (libvfio-user pads).
   */
  readMigrationData(max?: number): Promise<Uint8Array> {
    return this.migration.readMigrationData(max);
  }

  /** Reads migration data until the device has no more for now; the pieces concatenated. */
  readAllMigrationData(): Promise<Uint8Array> {
    return this.migration.readAllMigrationData();
  }

  /** MIG_DATA_WRITE, split into pieces of the negotiated transfer size (RESUMING state). */
  writeMigrationData(data: Uint8Array): Promise<void> {
    return this.migration.writeMigrationData(data);
  }

  /** DMA_LOGGING_START; resolves with the page size the server chose (from its reply). `ranges` empty = all. */
  startDmaLogging(pageSize: bigint, ranges: readonly DmaLoggingRange[] = []): Promise<bigint> {
    return this.dirtyLog.start(pageSize, ranges);
  }

  stopDmaLogging(): Promise<void> {
    return this.dirtyLog.stop();
  }

  /**
   * DMA_LOGGING_REPORT for [iova, iova + length) at `pageSize` pages: the bitmap (u64 words, bit n = page n, see
   * `isPageDirty` of @emu/vfio-user-proto). Reading it clears it on the server. Pages the server wrote with
   * DMA_WRITE messages since logging started are ORed in (the client tracks those) and cleared too.
   */
  reportDirtyPages(iova: bigint, len: bigint, pageSize: bigint): Promise<Uint8Array> {
    return this.dirtyLog.report(iova, len, pageSize);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Close

  /**
   * Disconnects and releases everything of ours: IRQ eventfds, region mappings and fds, DMA memory. Pending
   * requests fail with a "Closed" error. The server drops our DMA mappings and eventfds when we go (spec). Idempotent.
   */
  async close(): Promise<void> {
    const session = this.session;
    if (session.closed) return;
    session.closed = true;
    session.conn.close(new VfioUserClientError("Closed", `${session.describe()} was closed`));
    this.irqs.close();
    this.mappings.close();
    this.memory.close();
    await this.regionInfo.close();
  }

  /**
   * Disconnects as `close()` does, but leaves our DMA memory mapped in this process, its memfds open: the caller's
   * until it calls `release()`. What a VMM needs after a live migration: the guest's memory outlives the source's
   * connection (the destination mapped the same files), and buffers carved from it stay where the driver uses them.
   */
  async closeKeepingMemory(): Promise<KeptDmaMemory> {
    const release = this.session.closed ? () => undefined : this.memory.keep();
    await this.close();
    return { release };
  }
}

/** DMA memory a closed client left mapped (`closeKeepingMemory`): `release()` unmaps it and closes its memfds. */
export interface KeptDmaMemory {
  release(): void;
}
