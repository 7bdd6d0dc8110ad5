import { closeFds, type UnixSocket, UnixSocket as UnixSocketClass } from "@emu/sys";
import {
  Command,
  commandName,
  DeviceFeature,
  DeviceFeatureFlags,
  type DeviceFeatureRequest,
  DeviceFlags,
  type DeviceGetRegionInfoRequest,
  type DeviceGetRegionIoFdsRequest,
  DMA_ACCESS_SIZE,
  DMA_UNMAP_SIZE,
  type DmaMessageLayout,
  DmaUnmapFlags,
  type DmaUnmapRequest,
  decodeBody,
  decodeDmaReadReply,
  decodeDmaWriteReply,
  dirtyBitmapSize,
  effectiveCapabilities,
  encodeMessage,
  type Frame,
  FrameParser,
  HEADER_SIZE,
  type Header,
  HeaderFlags,
  IoeventfdFlags,
  IoFdType,
  isProtoError,
  type Message,
  MigrationFlags,
  MigrationState,
  maxMessageSizeFor,
  REGION_ACCESS_SIZE,
  type RegionCapability,
  RegionInfoFlags,
  type RegionReadRequest,
  type RegionWriteMultiRequest,
  type RegionWriteRequest,
  regionInfoSize,
  regionIoFdsSize,
  SubRegionLayout,
  type VersionCapabilities,
  type VersionRequest,
} from "@emu/vfio-user-proto";
import {
  appendDmaReadRequest,
  appendDmaWriteRequest,
  appendRegionReadReply,
  appendRegionWriteReply,
  type DmaAccessHead,
  DmaAccessLayout,
  dmaAccessFrameSize,
  FrameArena,
  frameAt,
  type MutableHeader,
  type RegionAccessHead,
  readDmaAccessAt,
  readHeaderAt,
  readRegionAccessAt,
} from "@emu/vfio-user-proto/wire";
import { errnoOfFailure, isReplyError, refuse } from "../errno.js";
import { DmaError, DmaMapError } from "../errors.js";
import type { DeviceHost } from "./device-host.js";
import { DirtyLog } from "./dirty-log.js";
import type { DmaTransport } from "./dma.js";
import { type RegionSlot, regionFlags } from "./regions.js";

/** The most fds a VERSION reply may advertise before QEMU's client rejects it (VFIO_USER_MAX_MAX_FDS). */
const ADVERTISED_MAX_MSG_FDS = 16;
/** Our side of VERSION. */
export interface ServerLimits {
  /** Largest `count` of REGION_READ/WRITE (and MIG_DATA) the client may send us. */
  readonly maxDataXferSize: number;
  /** Most fds we accept with one message. */
  readonly maxMsgFds: number;
  readonly maxDmaMaps: number;
  /** DMA page sizes we accept (bitmask). */
  readonly pgsizes: number;
  /** Frames above this close the connection (the stream cannot be trusted); frames above the negotiated size but below it get EMSGSIZE. */
  readonly hardMaxMessageSize: number;
  /** The DMA_READ/DMA_WRITE layout, or "auto" to choose per client (see `ServerOptions.dmaMessageLayout`). */
  readonly dmaMessageLayout: DmaMessageLayout | "auto";
}

/**
 * Does a VERSION proposal look like QEMU's client? QEMU 10.x proposes 0.0 with `migration: { pgsize,
 * max_bitmap_size }`, `max_msg_fds`, `max_data_xfer_size`, `pgsizes`, `max_dma_maps` and `write_multiple: true`
 * (hw/vfio-user/proxy.c); libvfio-user proposes 0.2 and cloud-hypervisor 0.1 with `migration: { pgsize }` only.
 */
function looksLikeQemu(msg: VersionRequest): boolean {
  // `write_multiple` alone is not a sign: other clients (ours among them) offer it at 0.0 and use the spec's layout.
  return msg.minor === 0 && msg.capabilities.migration?.maxBitmapSize !== undefined;
}

/** The protocol version we speak: 0.2 (as libvfio-user). */
export const VERSION_MAJOR = 0;
export const VERSION_MINOR = 2;

type MaybePromise<T> = T | Promise<T>;

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof (v as { then?: unknown } | undefined)?.then === "function";
}

/** One of our DMA commands waiting for its reply. */
interface PendingCommand {
  readonly command: number;
  readonly address: bigint;
  readonly count: number;
  /** Sent on the twin socket: its reply must come there too (the main socket carries only the client's commands). */
  readonly twin: boolean;
  /** DMA_READ: the data (a view of the reply); DMA_WRITE: undefined. */
  resolve(data: Uint8Array | undefined): void;
  reject(e: unknown): void;
}

const MAX_QUEUED_FRAMES = 4096;
/** Header + access head: a REGION_READ request, a REGION_WRITE reply; + data for the others. */
const ACCESS_FRAME_SIZE = HEADER_SIZE + REGION_ACCESS_SIZE;
/** Header + DMA access head (+ data). */
const DMA_FRAME_SIZE = HEADER_SIZE + DMA_ACCESS_SIZE;
/** Frames up to this size are copied into the send arena; bigger ones leave on their own (after what is queued). */
const ARENA_COPY_MAX = 16384;
/**
 * The arena is sent once it holds this much, even mid-chunk: one received chunk of 32-byte REGION_READs asking for
 * up to max_data_xfer_size each could otherwise grow it to gigabytes. Whole frames only, in order, as at the end.
 */
const ARENA_FLUSH_AT = 1 << 20;

/**
 * One client connection: VERSION negotiation, command dispatch in arrival order (a command whose device callback
 * is asynchronous holds the commands behind it, never the replies to our own DMA commands), replies, and
 * server→client DMA_READ/DMA_WRITE (on the twin socket when negotiated).
 */
export class Connection implements DmaTransport {
  private readonly host: DeviceHost;
  private readonly sock: UnixSocket;
  private readonly limits: ServerLimits;
  private readonly parser: FrameParser;
  private readonly onClosed: (c: Connection) => void;
  private readonly report: (e: unknown) => void;
  private negotiated = false;
  private closed = false;
  private busy = false;
  private paused = false;
  private readonly queue: Frame[] = [];
  private softMax: number;
  // The client's capabilities (defaults until VERSION).
  private clientMaxFds = 1;
  /** The largest DMA_READ/DMA_WRITE `count`: min(the client's max_data_xfer_size, ours), see `version`. */
  maxDataXferSize = 1048576;
  /** The DMA_READ/DMA_WRITE layout of this client (decided at VERSION). */
  private dmaLayout: DmaMessageLayout = "spec";
  private writeMultiple = false;
  private twin: UnixSocket | undefined;
  private twinParser: FrameParser | undefined;
  private readonly pending = new Map<number, PendingCommand>();
  private nextId = 1;
  /** Frames for the main socket collected while a chunk is processed, and our DMA commands of a tick (see `send`). */
  private readonly out = new FrameArena();
  /** Our DMA commands of a tick, for the twin socket. */
  private twinOut: FrameArena | undefined;
  private batching = false;
  private flushScheduled = false;
  private readonly flushLater = (): void => {
    this.flushScheduled = false;
    this.flush();
    this.flushTwin();
  };
  /** The frame being handled in place (see `inPlace`): reused, nothing allocated per message. */
  private readonly head: MutableHeader = { msgId: 0, command: 0, msgSize: 0, flags: 0, error: 0 };
  private readonly access: RegionAccessHead = { offset: 0, region: 0, count: 0 };
  private readonly dmaHead: DmaAccessHead = { address: 0, count: 0 };

  constructor(
    host: DeviceHost,
    sock: UnixSocket,
    limits: ServerLimits,
    onClosed: (c: Connection) => void,
    report: (e: unknown) => void,
  ) {
    this.host = host;
    this.sock = sock;
    this.limits = limits;
    this.onClosed = onClosed;
    this.report = report;
    this.parser = new FrameParser({ maxMessageSize: limits.hardMaxMessageSize });
    this.softMax = maxMessageSizeFor(limits.maxDataXferSize);
  }

  start(): void {
    this.sock.start({
      maxRecvFds: this.limits.maxMsgFds,
      onData: (chunk, fds) => this.onMainData(chunk, fds),
      onClose: (err) => {
        if (err !== undefined) this.report(err);
        this.teardown();
      },
    });
  }

  /** Closes the connection (server shutdown). The close handler does the rest. */
  close(): void {
    this.sock.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Closed, or closing: the socket was closed here (server shutdown, possibly from a device callback; a framing error;
   * a refused VERSION) and the close handler has not run yet. The frames still read are not executed then.
   */
  private get gone(): boolean {
    return this.closed || this.sock.closed;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Input

  /**
   * A chunk from the main socket. The common case — nothing buffered, no fds, whole frames — is read in place
   * (`inPlace`); whatever is left goes through the frame parser. All replies of the chunk leave in one send.
   */
  private onMainData(chunk: Uint8Array, fds: number[]): void {
    const parser = this.parser;
    const n = this.closed || this.busy ? 0 : parser.inPlaceLength(chunk, fds);
    if (n === 0) {
      this.onData(parser, chunk, fds, false);
      return;
    }
    this.batching = true;
    try {
      const done = this.inPlace(chunk, n);
      if (done < chunk.length && !this.gone) {
        // A partial frame, or the frames behind a command that went asynchronous (they wait in the queue).
        if (parser.push(chunk.subarray(done)) !== undefined) {
          this.fatal(parser);
          return;
        }
        this.drainFrames(parser, false);
      }
    } finally {
      this.batching = false;
      this.flush();
    }
  }

  /**
   * Handles the whole frames in [0, n) of a chunk without a Frame object: REGION_READ/WRITE that can be answered at
   * once are answered into the send arena here, any other frame takes the general way (`dispatch`). Stops after a
   * command that went asynchronous; returns where it stopped.
   */
  private inPlace(chunk: Uint8Array, n: number): number {
    const view = new DataView(chunk.buffer, chunk.byteOffset, n);
    const h = this.head;
    let at = 0;
    while (at < n) {
      readHeaderAt(view, at, h);
      const size = h.msgSize;
      if ((h.flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_REPLY)
        this.reply(h, chunk.subarray(at, at + size), false);
      else if (!this.regionAccessInPlace(chunk, view, at)) this.dispatch(frameAt(chunk, at), false);
      at += size;
      if (this.gone || this.busy) break;
    }
    return at;
  }

  /**
   * REGION_READ / REGION_WRITE in place, when the general path would accept it as it is (negotiated, no fds, sizes
   * that decode, an allowed access of 1 or more bytes); false leaves the frame to the general path, which also gives
   * every refusal its error reply. The device is reached through the same DeviceHost calls either way.
   */
  private regionAccessInPlace(chunk: Uint8Array, view: DataView, at: number): boolean {
    const h = this.head;
    const command = h.command;
    if (command !== Command.REGION_READ && command !== Command.REGION_WRITE) return false;
    if ((h.flags & HeaderFlags.TYPE_MASK) !== HeaderFlags.TYPE_COMMAND || !this.negotiated) return false;
    if (h.msgSize < ACCESS_FRAME_SIZE) return false;
    const a = this.access;
    readRegionAccessAt(view, at, a);
    const write = command === Command.REGION_WRITE;
    const count = a.count;
    if (count === 0 || h.msgSize !== ACCESS_FRAME_SIZE + (write ? count : 0)) return false;
    const slot = this.allowed(a.region, a.offset, count);
    if (slot === undefined) return false;
    const reply = (h.flags & HeaderFlags.NO_REPLY) === 0;
    try {
      if (write) {
        const r = this.host.write(slot, a.offset, chunk.subarray(at + ACCESS_FRAME_SIZE, at + h.msgSize));
        if (r !== undefined) this.writeLater(r, a.offset, a.region, count);
        else if (reply) appendRegionWriteReply(this.out, h.msgId, a.offset, a.region, count);
      } else {
        const data = this.host.readView(slot, a.offset, count);
        if (!(data instanceof Uint8Array)) this.readLater(data, a.offset, a.region);
        else if (reply) {
          appendRegionReadReply(this.out, h.msgId, a.offset, a.region, data);
          if (this.out.length >= ARENA_FLUSH_AT) this.flush();
        }
      }
    } catch (e) {
      this.fail({ ...h }, e);
    }
    return true;
  }

  /** An in-place REGION_WRITE whose device callback went asynchronous: the reply and the frames behind it wait. */
  private writeLater(r: Promise<void>, offset: number, region: number, count: number): void {
    const h: Header = { ...this.head };
    this.wait(
      h,
      r.then(() => this.send(h, { kind: "RegionWriteReply", offset: BigInt(offset), region, count })),
    );
  }

  /** As `writeLater`, for REGION_READ. */
  private readLater(r: Promise<Uint8Array>, offset: number, region: number): void {
    const h: Header = { ...this.head };
    this.wait(
      h,
      r.then((data) => this.send(h, { kind: "RegionReadReply", offset: BigInt(offset), region, data })),
    );
  }

  private onData(parser: FrameParser, chunk: Uint8Array, fds: number[], twin: boolean): void {
    if (this.closed) {
      closeFds(fds);
      return;
    }
    if (parser.push(chunk, fds) !== undefined) {
      this.fatal(parser);
      return;
    }
    this.batching = true;
    try {
      this.drainFrames(parser, twin);
    } finally {
      this.batching = false;
      this.flush();
    }
  }

  private drainFrames(parser: FrameParser, twin: boolean): void {
    for (;;) {
      let f: Frame | undefined;
      try {
        f = parser.next();
      } catch {
        this.fatal(parser);
        return;
      }
      if (f === undefined) return;
      this.dispatch(f, twin);
      if (this.gone) return;
    }
  }

  private dispatch(f: Frame, twin: boolean): void {
    if ((f.header.flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_REPLY) this.onReply(f, twin);
    else if (twin)
      closeFds(f.fds); // the twin socket carries only our commands and their replies
    else if (this.busy) {
      this.queue.push(f);
      if (this.queue.length > MAX_QUEUED_FRAMES && !this.paused && this.mayPause()) {
        this.paused = true;
        this.sock.pause();
      }
    } else this.run(f);
  }

  /**
   * Backpressure may stop reading the main socket only when no reply to our DMA commands has to come through it:
   * without a twin socket a command that awaits one would wait for ever behind the frames it holds.
   */
  private mayPause(): boolean {
    return this.twin !== undefined || this.pending.size === 0;
  }

  /** A framing error: the stream is out of sync, end the connection (the server keeps serving). */
  private fatal(parser: FrameParser): void {
    const err = parser.error;
    if (err !== undefined) this.report(err);
    closeFds(parser.takeFds());
    this.flush(); // replies to the frames before the bad one
    this.sock.close();
  }

  private run(f: Frame): void {
    let r: MaybePromise<void>;
    try {
      r = this.handle(f);
    } catch (e) {
      this.fail(f.header, e);
      return;
    }
    if (isPromise(r)) this.wait(f.header, r);
  }

  /** A command went asynchronous: the commands behind it wait until it is done (its failure is its error reply). */
  private wait(h: Header, r: Promise<void>): void {
    this.busy = true;
    r.then(
      () => this.resume(),
      (e) => {
        this.fail(h, e);
        this.resume();
      },
    );
  }

  private resume(): void {
    this.busy = false;
    const outer = this.batching;
    this.batching = true;
    try {
      while (!this.busy && !this.gone && this.queue.length > 0) this.run(this.queue.shift() as Frame);
    } finally {
      this.batching = outer;
      if (!outer) this.flush();
    }
    if (this.paused && this.queue.length < MAX_QUEUED_FRAMES / 2) {
      this.paused = false;
      this.sock.resume();
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Output

  /**
   * Sends a reply. While a received chunk is being processed, fd-less replies are collected in the send arena and
   * leave together in one sendmsg at the end of the chunk (a pipelining client gets its replies in one read instead
   * of one syscall each); otherwise at once, with whatever is queued before them. A reply with fds, or a big one,
   * flushes what is collected and goes alone (its fds arrive with its own first byte; big data is not copied).
   */
  private send(h: Header, m: Message, fds?: readonly number[]): void {
    if ((h.flags & HeaderFlags.NO_REPLY) !== 0 || this.closed) return;
    const frame = encodeMessage(m, { msgId: h.msgId });
    if (fds !== undefined && fds.length > 0) {
      this.flush();
      this.sock.send(frame, fds);
    } else if (frame.length > ARENA_COPY_MAX) {
      this.flush();
      this.sock.send(frame);
    } else {
      this.out.append(frame);
      if (!this.batching || this.out.length >= ARENA_FLUSH_AT) this.flush();
    }
  }

  /** Sends what the main socket's arena holds (one sendmsg of whole frames). */
  private flush(): void {
    if (this.out.length === 0) return;
    this.sock.send(this.out.take());
  }

  private flushTwin(): void {
    const out = this.twinOut;
    if (out === undefined || out.length === 0) return;
    this.twin?.send(out.take());
  }

  /** Turns any failure into an error reply (header only): the errno mapping lives in errno.ts. */
  private fail(h: Header, e: unknown): void {
    const errno = errnoOfFailure(e);
    if (!isReplyError(e)) this.report(e); // a device callback failed: worth knowing
    this.send(h, { kind: "ErrorReply", command: h.command, errno });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Dispatch

  private handle(f: Frame): MaybePromise<void> {
    const h = f.header;
    const fds = f.fds;
    const takesFds = h.command === Command.DMA_MAP || h.command === Command.DEVICE_SET_IRQS;
    if (fds.length > 0 && !takesFds) {
      closeFds(fds);
      throw refuse("Malformed", `${commandName(h.command)} carries no fds`);
    }
    let msg: Message;
    try {
      if (h.msgSize > this.softMax) throw refuse("TooLarge", `message of ${h.msgSize} bytes > ${this.softMax}`);
      if (!this.negotiated && h.command !== Command.VERSION) throw refuse("Malformed", "VERSION must come first");
      if (h.command === Command.REGION_WRITE_MULTI && !this.writeMultiple)
        throw refuse("NotSupported", "REGION_WRITE_MULTI was not negotiated");
      try {
        msg = decodeBody(h, f.payload);
      } catch (e) {
        if (isProtoError(e)) throw refuse("Malformed", e.message);
        throw e;
      }
    } catch (e) {
      closeFds(fds);
      throw e;
    }
    switch (msg.kind) {
      case "RegionReadRequest":
        return this.regionRead(h, msg);
      case "RegionWriteRequest":
        return this.regionWrite(h, msg);
      case "VersionRequest":
        return this.version(h, msg);
      case "DmaMapRequest": {
        if (fds.length > 1) {
          closeFds(fds);
          const e = refuse("Malformed", "DMA_MAP with more than one fd");
          this.reportMapRefused(msg.address, msg.size, true, e);
          throw e;
        }
        try {
          this.host.dma.add(msg.flags, msg.offset, msg.address, msg.size, fds[0]);
        } catch (e) {
          this.reportMapRefused(msg.address, msg.size, fds.length > 0, e);
          throw e;
        }
        return this.send(h, { kind: "DmaMapReply" });
      }
      case "DmaUnmapRequest":
        return this.dmaUnmap(h, msg);
      case "DeviceGetInfoRequest":
        return this.send(h, {
          kind: "DeviceGetInfoReply",
          argsz: 16,
          flags: DeviceFlags.RESET | DeviceFlags.PCI,
          numRegions: this.host.regions.length,
          numIrqs: this.host.numIrqs,
        });
      case "DeviceGetRegionInfoRequest":
        return this.regionInfo(h, msg);
      case "DeviceGetRegionIoFdsRequest":
        return this.regionIoFds(h, msg);
      case "DeviceGetIrqInfoRequest": {
        if (msg.index >= this.host.numIrqs) throw refuse("BadIndex", `IRQ index ${msg.index}`);
        return this.send(h, {
          kind: "DeviceGetIrqInfoReply",
          argsz: 16,
          flags: this.host.irq.infoFlags(msg.index),
          index: msg.index,
          count: this.host.irq.count(msg.index),
        });
      }
      case "DeviceSetIrqsRequest":
        this.host.irq.setIrqs(msg, fds);
        return this.send(h, { kind: "DeviceSetIrqsReply" });
      case "DeviceResetRequest": {
        const r = this.host.reset("client");
        if (isPromise(r)) return r.then(() => this.send(h, { kind: "DeviceResetReply" }));
        return this.send(h, { kind: "DeviceResetReply" });
      }
      case "RegionWriteMultiRequest":
        return this.regionWriteMulti(h, msg);
      case "DeviceFeatureRequest":
        return this.deviceFeature(h, msg);
      case "MigDataReadRequest":
        return this.migDataRead(h, msg.argsz, msg.size);
      case "MigDataWriteRequest":
        return this.migDataWrite(h, msg.data);
      case "Unknown":
        throw refuse("UnknownCommand", `unknown command ${h.command}`);
      default:
        // DMA_READ / DMA_WRITE requests travel server → client only.
        throw refuse("NotSupported", `${commandName(h.command)} is not a client command`);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // VERSION

  private version(h: Header, msg: VersionRequest): void {
    if (this.negotiated) throw refuse("Malformed", "VERSION was already negotiated");
    if (msg.major !== VERSION_MAJOR) {
      // The spec: a server that cannot support the proposed major closes the connection.
      this.send(h, { kind: "ErrorReply", command: h.command, errno: errnoOfFailure(refuse("NotSupported", "")) });
      this.flush();
      this.sock.close();
      return;
    }
    const c = effectiveCapabilities(msg.capabilities);
    const offered = msg.capabilities;
    this.clientMaxFds = c.maxMsgFds;
    // DMA messages fit both limits: QEMU refuses a DMA_READ above the max_data_xfer_size of our reply (E2BIG) and
    // skips a DMA_WRITE above it without reading its body (its stream desyncs), whatever it proposed itself.
    this.maxDataXferSize = Math.max(1, Math.min(c.maxDataXferSize, this.limits.maxDataXferSize));
    const mode = this.limits.dmaMessageLayout;
    this.dmaLayout = mode === "auto" ? (looksLikeQemu(msg) ? "qemu" : "spec") : mode;
    const caps: { -readonly [K in keyof VersionCapabilities]: VersionCapabilities[K] } = {
      // QEMU refuses a VERSION reply whose max_msg_fds exceeds 16 (VFIO_USER_MAX_MAX_FDS): advertise at most that,
      // and keep accepting up to our own limit (cloud-hypervisor sends 16 fds whatever we advertise).
      maxMsgFds: Math.min(this.limits.maxMsgFds, ADVERTISED_MAX_MSG_FDS),
      maxDataXferSize: this.limits.maxDataXferSize,
    };
    // Capabilities beyond the two limits only when the client proposed them (the reply's set is a subset).
    const maxMaps = Math.min(c.maxDmaMaps, this.limits.maxDmaMaps);
    if (offered.maxDmaMaps !== undefined) caps.maxDmaMaps = maxMaps;
    let pgsizes = c.pgsizes & this.limits.pgsizes;
    if (pgsizes === 0) pgsizes = 4096;
    if (offered.pgsizes !== undefined) caps.pgsizes = pgsizes;
    if (offered.writeMultiple === true) {
      caps.writeMultiple = true;
      this.writeMultiple = true;
    }
    let theirs: UnixSocket | undefined;
    if (c.twinSocket && c.maxMsgFds >= 1) {
      const [mine, other] = UnixSocketClass.pair();
      theirs = other;
      this.twin = mine;
      this.twinOut = new FrameArena(4096);
      this.twinParser = new FrameParser({ maxMessageSize: this.limits.hardMaxMessageSize });
      const parser = this.twinParser;
      mine.start({
        maxRecvFds: this.limits.maxMsgFds,
        onData: (chunk, fds) => this.onData(parser, chunk, fds, true),
        // The twin socket ends with the connection; a client closing it early only loses DMA messages.
        onClose: () => this.rejectPending(),
      });
      caps.twinSocket = { supported: true, fdIndex: 0 };
    }
    const dma = this.host.dma;
    dma.maxMaps = maxMaps;
    dma.pageSize = BigInt(pgsizes & -pgsizes);
    this.negotiated = true;
    const reply: Message = {
      kind: "VersionReply",
      major: VERSION_MAJOR,
      minor: Math.min(msg.minor, VERSION_MINOR),
      capabilities: caps,
    };
    if (theirs !== undefined) {
      this.send(h, reply, [theirs.fd]);
      theirs.close(); // send() dup'd it
    } else this.send(h, reply);
    dma.transport = this;
    this.host.attach();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Regions

  /**
   * The slot when the access is allowed (`offset` as a number: above 2^53 it is out of range anyway), else undefined.
   * Only genuinely bad requests are refused (unknown region, beyond its end, above max_data_xfer_size): an access the
   * region does not permit is served as hardware does (see `DeviceHost.readView`).
   */
  private allowed(region: number, offset: number, count: number): RegionSlot | undefined {
    const slot = this.host.slot(region);
    if (slot === undefined || slot.size === 0) return undefined;
    if (count > this.limits.maxDataXferSize || offset + count > slot.size) return undefined;
    return slot;
  }

  /** `allowed`, or the refusal that says why not. */
  private checkAccess(region: number, offset: bigint, count: number): RegionSlot {
    const ok = this.allowed(region, Number(offset), count);
    if (ok !== undefined) return ok;
    const slot = this.host.slot(region);
    if (slot === undefined || slot.size === 0) throw refuse("BadIndex", `region ${region}`);
    if (count > this.limits.maxDataXferSize)
      throw refuse("OutOfRange", `count ${count} > max_data_xfer_size ${this.limits.maxDataXferSize}`);
    throw refuse("OutOfRange", `region ${region}: 0x${offset.toString(16)}+${count} beyond its ${slot.size} bytes`);
  }

  private regionRead(h: Header, msg: RegionReadRequest): MaybePromise<void> {
    const slot = this.checkAccess(msg.region, msg.offset, msg.count);
    if (msg.count === 0)
      return this.send(h, { kind: "RegionReadReply", offset: msg.offset, region: msg.region, data: new Uint8Array(0) });
    const data = this.host.readView(slot, Number(msg.offset), msg.count);
    if (data instanceof Uint8Array) {
      this.send(h, { kind: "RegionReadReply", offset: msg.offset, region: msg.region, data });
      return;
    }
    return data.then((d) => this.send(h, { kind: "RegionReadReply", offset: msg.offset, region: msg.region, data: d }));
  }

  private regionWrite(h: Header, msg: RegionWriteRequest): MaybePromise<void> {
    const slot = this.checkAccess(msg.region, msg.offset, msg.data.length);
    const reply = (): void =>
      this.send(h, { kind: "RegionWriteReply", offset: msg.offset, region: msg.region, count: msg.data.length });
    if (msg.data.length === 0) return reply();
    const r = this.host.write(slot, Number(msg.offset), msg.data);
    if (r !== undefined) return r.then(reply);
    reply();
  }

  private regionWriteMulti(h: Header, msg: RegionWriteMultiRequest): MaybePromise<void> {
    if (!this.writeMultiple) throw refuse("NotSupported", "REGION_WRITE_MULTI was not negotiated");
    const writes = msg.writes;
    let done = 0;
    const reply = (): void => this.send(h, { kind: "RegionWriteMultiReply", wrCnt: BigInt(done) });
    const step = (): MaybePromise<void> => {
      while (done < writes.length) {
        const w = writes[done] as (typeof writes)[number];
        let r: void | Promise<void>;
        try {
          const slot = this.checkAccess(w.region, w.offset, w.data.length);
          r = this.host.write(slot, Number(w.offset), w.data);
        } catch (e) {
          if (done === 0) throw e;
          return reply(); // the reply says how many writes completed
        }
        if (r !== undefined)
          return r.then(
            () => {
              done++;
              return step();
            },
            (e) => {
              if (done === 0) throw e;
              reply();
            },
          );
        done++;
      }
      reply();
    };
    return step();
  }

  private regionInfo(h: Header, msg: DeviceGetRegionInfoRequest): void {
    const slot = this.host.slot(msg.index);
    if (slot === undefined) throw refuse("BadIndex", `region ${msg.index}`);
    const canSendFds = this.clientMaxFds >= 1;
    let flags = regionFlags(slot, canSendFds);
    const caps: RegionCapability[] = [];
    if ((flags & RegionInfoFlags.MMAP) !== 0 && !slot.mmapWhole) {
      caps.push({
        kind: "SparseMmap",
        areas: slot.mmapAreas.map((a) => ({ offset: BigInt(a.offset), size: BigInt(a.size) })),
      });
    }
    if (slot.type !== undefined) caps.push({ kind: "Type", type: slot.type.type, subtype: slot.type.subtype });
    const argsz = regionInfoSize(caps);
    const complete = msg.argsz >= argsz;
    if (complete && caps.length > 0) flags |= RegionInfoFlags.CAPS;
    const reply: Message = {
      kind: "DeviceGetRegionInfoReply",
      argsz,
      flags,
      index: msg.index,
      size: BigInt(slot.size),
      offset: 0n,
      capabilities: complete ? caps : [],
    };
    // The fd travels only with a complete reply (as libvfio-user does); a client retries with the argsz it got.
    if (complete && (flags & RegionInfoFlags.MMAP) !== 0 && slot.memfd !== undefined) this.send(h, reply, [slot.memfd]);
    else this.send(h, reply);
  }

  private regionIoFds(h: Header, msg: DeviceGetRegionIoFdsRequest): void {
    const slot = this.host.slot(msg.index);
    if (slot === undefined) throw refuse("BadIndex", `region ${msg.index}`);
    const all = slot.ioEventFds;
    // Never more fds than the client accepts in one message.
    const list = all.slice(0, Math.max(0, this.clientMaxFds));
    const argsz = regionIoFdsSize(list.length, SubRegionLayout.SPEC);
    const complete = msg.argsz >= argsz;
    this.send(
      h,
      {
        kind: "DeviceGetRegionIoFdsReply",
        argsz,
        flags: 0,
        index: msg.index,
        count: list.length,
        entrySize: SubRegionLayout.SPEC,
        subRegions: complete
          ? list.map((io, i) => ({
              offset: BigInt(io.desc.offset),
              size: BigInt(io.desc.size),
              fdIndex: i,
              type: IoFdType.IOEVENTFD,
              flags: io.desc.datamatch !== undefined ? IoeventfdFlags.DATAMATCH : 0,
              datamatch: io.desc.datamatch ?? 0n,
            }))
          : [],
      },
      complete ? list.map((io) => io.efd.fd) : undefined,
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // DMA

  private dmaUnmap(h: Header, msg: DmaUnmapRequest): void {
    if ((msg.flags & DmaUnmapFlags.GET_DIRTY_BITMAP) !== 0)
      throw refuse("NotSupported", "DMA_UNMAP GET_DIRTY_BITMAP (migration v1) is not supported: use DMA logging");
    if ((msg.flags & ~DmaUnmapFlags.ALL) !== 0)
      throw refuse("Malformed", `DMA_UNMAP flags 0x${msg.flags.toString(16)}`);
    if ((msg.flags & DmaUnmapFlags.ALL) !== 0) {
      if (msg.address !== 0n || msg.size !== 0n) throw refuse("Malformed", "DMA_UNMAP ALL needs address and size 0");
      this.host.dma.removeAll();
    } else this.host.dma.remove(msg.address, msg.size);
    this.send(h, {
      kind: "DmaUnmapReply",
      argsz: DMA_UNMAP_SIZE,
      flags: msg.flags,
      address: msg.address,
      size: msg.size,
    });
  }

  /** A refused DMA_MAP: its error reply follows, and `onError` learns of it (QEMU and cloud-hypervisor only log it). */
  private reportMapRefused(iova: bigint, size: bigint, withFd: boolean, e: unknown): void {
    if (!isReplyError(e)) return; // anything else is reported with its error reply
    const range = `0x${iova.toString(16)}+0x${size.toString(16)}`;
    this.report(
      new DmaMapError(iova, size, e.errno, withFd, `DMA_MAP ${range} refused (errno ${e.errno}): ${e.message}`),
    );
  }

  private allocId(): number {
    for (let i = 0; i < 0x10000; i++) {
      const id = this.nextId;
      this.nextId = id >= 0xffff ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
    throw new DmaError("Disconnected", 0n, 0, "no free message id");
  }

  /**
   * Sends DMA_READ (`data` undefined) or DMA_WRITE and resolves with the reply. The commands of one tick collect in the
   * send arena of their socket (the twin socket when negotiated) and leave together in one sendmsg.
   */
  private command(
    command: number,
    address: bigint,
    count: number,
    data: Uint8Array | undefined,
  ): Promise<Uint8Array | undefined> {
    if (this.closed || this.twin?.closed === true)
      return Promise.reject(new DmaError("Disconnected", address, count, "the client went away"));
    const id = this.allocId();
    return new Promise<Uint8Array | undefined>((resolve, reject) => {
      const twin = this.twin;
      this.pending.set(id, { command, address, count, twin: twin !== undefined, resolve, reject });
      if (twin === undefined && this.paused) {
        // Its reply comes on the main socket: read it again (see `mayPause`).
        this.paused = false;
        this.sock.resume();
      }
      const out = twin === undefined ? this.out : (this.twinOut as FrameArena);
      const layout = this.dmaLayout;
      const mark = out.length;
      let alone: Uint8Array | undefined;
      try {
        if (data === undefined) appendDmaReadRequest(out, id, address, count, 0, layout);
        else if (data.length <= ARENA_COPY_MAX) appendDmaWriteRequest(out, id, address, data, 0, layout);
        else {
          // Big data is not copied into the arena: what is queued goes first, then this message alone.
          const one = new FrameArena(dmaAccessFrameSize(data.length, layout));
          appendDmaWriteRequest(one, id, address, data, 0, layout);
          alone = one.take();
        }
      } catch (e) {
        // Nothing half-written may stay in the arena, and the id is free again.
        out.length = mark;
        this.pending.delete(id);
        reject(e);
        return;
      }
      if (alone !== undefined) {
        if (twin === undefined) {
          this.flush();
          this.sock.send(alone);
        } else {
          this.flushTwin();
          twin.send(alone);
        }
        return;
      }
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // After the microtasks of this tick: the commands a device issues from promise callbacks share the sendmsg.
        process.nextTick(this.flushLater);
      }
    });
  }

  private onReply(f: Frame, twin: boolean): void {
    closeFds(f.fds);
    this.reply(f.header, f.bytes, twin);
  }

  /**
   * A reply to one of our DMA commands, on the socket the command went out on (others are ignored), in this client's
   * layout. A DMA_READ reply that matches its request resolves with a copy of its data without being decoded; anything
   * else is decoded and judged. Every failure rejects with `DmaError("ClientError")` (with the client's errno for an
   * error reply).
   */
  private reply(h: Header, frame: Uint8Array, twin: boolean): void {
    const p = this.pending.get(h.msgId);
    if (p === undefined || p.command !== h.command || p.twin !== twin) return; // not ours (or not on its socket): ignore
    this.pending.delete(h.msgId);
    const { address, count } = p;
    const name = commandName(p.command);
    if ((h.flags & HeaderFlags.ERROR) !== 0) {
      p.reject(
        new DmaError("ClientError", address, count, `${name} refused by the client (errno ${h.error})`, h.error),
      );
      return;
    }
    const layout = this.dmaLayout;
    if (p.command === Command.DMA_READ && h.msgSize === dmaAccessFrameSize(count, layout)) {
      const head = this.dmaHead;
      readDmaAccessAt(new DataView(frame.buffer, frame.byteOffset, DMA_FRAME_SIZE), 0, head, layout);
      if (head.count === count && head.address === Number(address) && head.address <= Number.MAX_SAFE_INTEGER) {
        // A buffer of its own, as with fd-backed memory (a view would keep the whole received chunk alive); big data
        // in a frame that has a buffer of its own (the parser put it together from several chunks) is not copied.
        const at = HEADER_SIZE + DmaAccessLayout[layout].DATA;
        const own = count > ARENA_COPY_MAX && frame.byteLength === frame.buffer.byteLength;
        p.resolve(own ? frame.subarray(at, at + count) : frame.slice(at, at + count));
        return;
      }
    }
    const payload = frame.subarray(HEADER_SIZE);
    let data: Uint8Array | undefined;
    let matches: boolean;
    try {
      if (p.command === Command.DMA_READ) {
        const m = decodeDmaReadReply(payload, { layout });
        data = m.data;
        matches = m.address === address && m.data.length === count;
      } else {
        const m = decodeDmaWriteReply(payload, { layout });
        // QEMU answers with the bare header; the spec's reply echoes address and count.
        matches = m.bare === true ? layout === "qemu" : m.address === address && m.count === BigInt(count);
      }
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      p.reject(new DmaError("ClientError", address, count, `${name} reply does not decode (${layout} layout): ${why}`));
      return;
    }
    if (matches) p.resolve(data);
    else p.reject(new DmaError("ClientError", address, count, `${name} reply does not match the request`));
  }

  read(address: bigint, count: number): Promise<Uint8Array> {
    return this.command(Command.DMA_READ, address, count, undefined) as Promise<Uint8Array>;
  }

  write(address: bigint, data: Uint8Array): Promise<void> {
    return this.command(Command.DMA_WRITE, address, data.length, data) as Promise<unknown> as Promise<void>;
  }

  private rejectPending(): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(new DmaError("Disconnected", 0n, 0, "the client went away"));
  }

  // -------------------------------------------------------------------------------------------------------------
  // DEVICE_FEATURE and migration data

  private deviceFeature(h: Header, msg: DeviceFeatureRequest): MaybePromise<void> {
    const { GET, SET, PROBE, MASK } = DeviceFeatureFlags;
    const flags = msg.flags;
    if ((flags & ~(MASK | GET | SET | PROBE)) !== 0)
      throw refuse("Malformed", `DEVICE_FEATURE flags 0x${flags.toString(16)}`);
    const feature = flags & MASK;
    const get = (flags & GET) !== 0;
    const set = (flags & SET) !== 0;
    const probe = (flags & PROBE) !== 0;
    if (!get && !set && !probe) throw refuse("Malformed", "DEVICE_FEATURE without GET, SET or PROBE");
    if (get && set && !probe) throw refuse("Malformed", "DEVICE_FEATURE GET and SET together need PROBE");
    const mig = this.host.model.migration;
    let ops: number;
    switch (feature) {
      case DeviceFeature.MIGRATION:
        ops = mig ? GET : 0;
        break;
      case DeviceFeature.MIG_DEVICE_STATE:
        ops = mig ? GET | SET : 0;
        break;
      case DeviceFeature.DMA_LOGGING_START:
      case DeviceFeature.DMA_LOGGING_STOP:
        ops = SET;
        break;
      case DeviceFeature.DMA_LOGGING_REPORT:
        ops = GET;
        break;
      default:
        ops = 0;
    }
    if (ops === 0) throw refuse("NoSuchFeature", `device feature ${feature} is not supported`);
    if ((flags & (GET | SET) & ~ops) !== 0)
      throw refuse("Malformed", `device feature ${feature} does not support that op`);
    if (probe) return this.send(h, { kind: "DeviceFeatureReply", argsz: msg.argsz, flags, data: { type: "None" } });

    const head = 8;
    const getReply = (data: Extract<Message, { kind: "DeviceFeatureReply" }>["data"], size: number): void => {
      const argsz = head + size;
      if (msg.argsz < argsz) this.send(h, { kind: "DeviceFeatureReply", argsz, flags, data: { type: "None" } });
      else this.send(h, { kind: "DeviceFeatureReply", argsz, flags, data });
    };
    const d = msg.data;
    switch (feature) {
      case DeviceFeature.MIGRATION:
        return getReply(
          { type: "Migration", flags: MigrationFlags.STOP_COPY | (mig?.preCopy ? MigrationFlags.PRE_COPY : 0n) },
          8,
        );
      case DeviceFeature.MIG_DEVICE_STATE: {
        if (get) return getReply({ type: "MigDeviceState", deviceState: this.host.migrationState, dataFd: -1 }, 8);
        if (d.type !== "MigDeviceState") throw refuse("Malformed", "SET MIG_DEVICE_STATE needs device_state");
        return this.host
          .setMigrationState(d.deviceState)
          .then(() => this.send(h, { kind: "DeviceFeatureReply", argsz: msg.argsz, flags, data: d }));
      }
      case DeviceFeature.DMA_LOGGING_START: {
        if (d.type !== "DmaLogging") throw refuse("Malformed", "DMA_LOGGING_START needs page_size and ranges");
        if (this.host.dma.log !== undefined) throw refuse("Busy", "DMA logging is already started");
        const ps = d.pageSize;
        const pageSize = ps >= 1n && (ps & (ps - 1n)) === 0n ? ps : 4096n;
        for (const r of d.ranges) if (r.length === 0n) throw refuse("Malformed", "DMA logging range of length 0");
        this.host.dma.log = new DirtyLog(pageSize, d.ranges);
        return this.send(h, { kind: "DeviceFeatureReply", argsz: msg.argsz, flags, data: { ...d, pageSize } });
      }
      case DeviceFeature.DMA_LOGGING_STOP:
        this.host.dma.log = undefined;
        return this.send(h, { kind: "DeviceFeatureReply", argsz: msg.argsz, flags, data: d });
      default: {
        // DMA_LOGGING_REPORT
        if (d.type !== "DmaLoggingReport")
          throw refuse("Malformed", "DMA_LOGGING_REPORT needs iova, length, page_size");
        const log = this.host.dma.log;
        if (log === undefined) throw refuse("WrongState", "DMA logging is not started");
        const ps = d.pageSize;
        if (ps === 0n || (ps & (ps - 1n)) !== 0n) throw refuse("Malformed", `page_size ${ps} is not a power of two`);
        let size: number;
        try {
          size = dirtyBitmapSize(d.length, ps);
        } catch {
          throw refuse("OutOfRange", "DMA logging report too large");
        }
        if (size > this.limits.hardMaxMessageSize - 64) throw refuse("OutOfRange", "DMA logging report too large");
        const argsz = head + 24 + size;
        if (msg.argsz < argsz)
          return this.send(h, { kind: "DeviceFeatureReply", argsz, flags, data: { type: "None" } });
        const bitmap = log.report(d.iova, d.length, ps);
        return this.send(h, {
          kind: "DeviceFeatureReply",
          argsz,
          flags,
          data: { type: "DmaLoggingReport", iova: d.iova, length: d.length, pageSize: ps, bitmap },
        });
      }
    }
  }

  private migDataRead(h: Header, argsz: number, size: number): MaybePromise<void> {
    const mig = this.host.model.migration;
    if (mig === undefined) throw refuse("NotSupported", "the device does not support migration");
    const s = this.host.migrationState;
    if (s !== MigrationState.PRE_COPY && s !== MigrationState.STOP_COPY)
      throw refuse("WrongState", "MIG_DATA_READ outside PRE_COPY / STOP_COPY");
    const max = Math.min(size, argsz - 8, this.limits.maxDataXferSize);
    const reply = (data: Uint8Array): void => {
      const out = data.length > max ? data.subarray(0, max) : data;
      this.send(h, { kind: "MigDataReadReply", argsz: 8 + out.length, data: out });
    };
    const r = mig.read(max);
    if (isPromise(r)) return (r as Promise<Uint8Array>).then(reply);
    reply(r as Uint8Array);
  }

  private migDataWrite(h: Header, data: Uint8Array): MaybePromise<void> {
    const mig = this.host.model.migration;
    if (mig === undefined) throw refuse("NotSupported", "the device does not support migration");
    if (this.host.migrationState !== MigrationState.RESUMING)
      throw refuse("WrongState", "MIG_DATA_WRITE outside RESUMING");
    if (data.length > this.limits.maxDataXferSize)
      throw refuse("OutOfRange", "MIG_DATA_WRITE larger than max_data_xfer_size");
    const r = mig.write(data);
    if (isPromise(r)) return (r as Promise<void>).then(() => this.send(h, { kind: "MigDataWriteReply" }));
    this.send(h, { kind: "MigDataWriteReply" });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Teardown

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.rejectPending();
    this.twin?.close();
    this.twin = undefined;
    closeFds(this.parser.takeFds());
    if (this.twinParser) closeFds(this.twinParser.takeFds());
    for (const f of this.queue) closeFds(f.fds);
    this.queue.length = 0;
    this.host.detach();
    this.onClosed(this);
  }
}
