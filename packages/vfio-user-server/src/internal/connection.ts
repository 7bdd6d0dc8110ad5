import { closeFds, type UnixSocket } from "@emu/sys";
import {
  Command,
  commandName,
  decodeBody,
  encodeMessage,
  type Frame,
  type Header,
  HeaderFlags,
  isProtoError,
  type Message,
  maxMessageSizeFor,
} from "@emu/vfio-user-proto";
import type { MutableHeader } from "@emu/vfio-user-proto/wire";
import { Endpoint, type Outbox } from "@emu/vfio-user-transport";
import type { MaybePromise } from "../device.js";
import { errnoOfFailure, isReplyError, refuse } from "../errno.js";
import type { DeviceHost } from "./device-host.js";
import { DmaCommands, type DmaCommandsOwner } from "./dma-commands.js";
import { deviceInfo, irqInfo, reset, setIrqs } from "./handlers/device.js";
import { deviceFeature } from "./handlers/device-feature.js";
import { dmaMap, dmaUnmap } from "./handlers/dma-map.js";
import { migDataRead, migDataWrite } from "./handlers/migration-data.js";
import { regionAccessInPlace, regionRead, regionWrite, regionWriteMulti } from "./handlers/region-access.js";
import { regionInfo, regionIoFds } from "./handlers/region-info.js";
import { version } from "./handlers/version.js";
import { isPromise } from "./is-promise.js";
import type { Negotiated, ServerLimits, Session } from "./session.js";

/** The commands that carry fds (any other frame with fds is refused and its fds closed). */
function takesFds(command: number): boolean {
  return command === Command.DMA_MAP || command === Command.DEVICE_SET_IRQS;
}

/**
 * One client connection: its lifecycle, and the client's commands executed one at a time in arrival order — a command
 * whose device callback is asynchronous holds the commands behind it (they wait in the `Endpoint`, which stops reading
 * when too many wait or the client does not read our replies), never the replies to our own DMA commands. Each command
 * goes to its handler (`handlers/`); the socket side is the transport's `Endpoint`, our DMA commands are `DmaCommands`.
 */
export class Connection implements Session, DmaCommandsOwner {
  readonly host: DeviceHost;
  readonly limits: ServerLimits;
  readonly negotiated: Negotiated = { done: false, clientMaxFds: 1, writeMultiple: false };
  readonly out: Outbox;
  private readonly main: Endpoint;
  private readonly dma: DmaCommands;
  private readonly onClosed: (c: Connection) => void;
  private readonly reportTo: (e: unknown) => void;
  /** Frames above this get EMSGSIZE (the negotiated size; the parser's hard limit closes the connection). */
  private readonly softMax: number;
  private isDown = false;
  private busy = false;

  constructor(
    host: DeviceHost,
    sock: UnixSocket,
    limits: ServerLimits,
    onClosed: (c: Connection) => void,
    report: (e: unknown) => void,
  ) {
    this.host = host;
    this.limits = limits;
    this.onClosed = onClosed;
    this.reportTo = report;
    this.main = new Endpoint(sock, { maxMessageSize: limits.hardMaxMessageSize });
    this.out = this.main.outbox;
    this.dma = new DmaCommands(this, this.out, limits.dmaReplyTimeoutMs);
    this.softMax = maxMessageSizeFor(limits.maxDataXferSize);
  }

  start(): void {
    this.main.start(
      {
        inPlace: (chunk, view, at, h) => this.inPlace(chunk, view, at, h),
        onFrame: (f) => this.dispatch(f),
        hold: () => this.busy,
        awaitingReplies: () => this.dma.awaitingOnMain,
        halted: () => this.gone,
        onFramingError: (err) => {
          this.report(err);
          this.out.flush(); // replies to the frames before the bad one
        },
        onClose: (err) => {
          if (err !== undefined) this.report(err);
          this.teardown();
        },
      },
      this.limits.maxMsgFds,
    );
  }

  /** Closes the connection (server shutdown). The close handler does the rest. */
  close(): void {
    this.main.socket.close();
  }

  /** The close handler ran: the connection is over. */
  get closed(): boolean {
    return this.isDown;
  }

  get isClosed(): boolean {
    return this.isDown;
  }

  /**
   * Closed, or closing: the socket was closed here (server shutdown, possibly from a device callback; a framing error;
   * a refused VERSION) and the close handler has not run yet. The frames still read are not executed then.
   */
  get gone(): boolean {
    return this.isDown || this.main.closed;
  }

  report(e: unknown): void {
    this.reportTo(e);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Input, in order

  /** A frame read in place: a reply to our DMA command, or the fast entry of REGION_READ/WRITE. */
  private inPlace(chunk: Uint8Array, view: DataView, at: number, h: MutableHeader): boolean {
    if ((h.flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_REPLY) {
      this.dma.onReply(h, chunk.subarray(at, at + h.msgSize), false);
      return true;
    }
    return regionAccessInPlace(this, chunk, view, at, h);
  }

  /** A reply to our DMA command, or a command (the endpoint hands those over one at a time, never while busy). */
  private dispatch(f: Frame): void {
    if ((f.header.flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_REPLY) this.dma.onFrame(f, false);
    else this.run(f);
  }

  mainCommandSent(): void {
    // Its reply comes on the main socket: it is read even while commands wait (without a twin socket a command that
    // awaits it would wait for ever behind the frames it holds).
    this.main.replyDue();
  }

  twinBroken(err: unknown): void {
    this.report(err);
    this.end();
  }

  dmaTimedOut(err: unknown): void {
    // A client that does not answer cannot be trusted with the device any more.
    this.report(err);
    this.end();
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

  wait(h: Header, r: Promise<void>): void {
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
    this.main.release(); // the commands that waited, in order, until one goes asynchronous again
  }

  // -------------------------------------------------------------------------------------------------------------
  // Output

  replies(h: Header): boolean {
    return (h.flags & HeaderFlags.NO_REPLY) === 0 && !this.isDown;
  }

  /**
   * Sends a reply. While a received chunk is being handled, replies collect in the send arena and leave together at
   * its end (a pipelining client gets its replies in one read instead of one syscall each); otherwise at once. A
   * reply with fds, or a big one, leaves alone (see `Outbox`).
   */
  send(h: Header, m: Message, fds?: readonly number[]): void {
    if (!this.replies(h)) return;
    this.out.send(encodeMessage(m, { msgId: h.msgId }), fds);
  }

  /** Turns any failure into an error reply (header only): the errno mapping lives in errno.ts. */
  fail(h: Header, e: unknown): void {
    const errno = errnoOfFailure(e);
    if (!isReplyError(e)) this.report(e); // a device callback failed: worth knowing
    this.send(h, { kind: "ErrorReply", command: h.command, errno });
  }

  end(): void {
    this.out.flush();
    this.main.close();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Dispatch

  /** Checks and decodes a command, then runs its handler. */
  private handle(f: Frame): MaybePromise<void> {
    const h = f.header;
    const fds = f.fds;
    if (fds.length > 0 && !takesFds(h.command)) {
      closeFds(fds);
      throw refuse("Malformed", `${commandName(h.command)} carries no fds`);
    }
    let msg: Message;
    try {
      msg = this.decode(f);
    } catch (e) {
      closeFds(fds);
      throw e;
    }
    return this.execute(h, msg, fds);
  }

  /** The command's message, or the refusal of a frame no handler may see. */
  private decode(f: Frame): Message {
    const h = f.header;
    if (h.msgSize > this.softMax) throw refuse("TooLarge", `message of ${h.msgSize} bytes > ${this.softMax}`);
    if (!this.negotiated.done && h.command !== Command.VERSION) throw refuse("Malformed", "VERSION must come first");
    if (h.command === Command.REGION_WRITE_MULTI && !this.negotiated.writeMultiple)
      throw refuse("NotSupported", "REGION_WRITE_MULTI was not negotiated");
    try {
      return decodeBody(h, f.payload);
    } catch (e) {
      if (isProtoError(e)) throw refuse("Malformed", e.message);
      throw e;
    }
  }

  /** One handler per command. */
  private execute(h: Header, msg: Message, fds: readonly number[]): MaybePromise<void> {
    switch (msg.kind) {
      case "RegionReadRequest":
        return regionRead(this, h, msg);
      case "RegionWriteRequest":
        return regionWrite(this, h, msg);
      case "VersionRequest":
        return version(this, this.dma, h, msg);
      case "DmaMapRequest":
        return dmaMap(this, h, msg, fds);
      case "DmaUnmapRequest":
        return dmaUnmap(this, h, msg);
      case "DeviceGetInfoRequest":
        return deviceInfo(this, h);
      case "DeviceGetRegionInfoRequest":
        return regionInfo(this, h, msg);
      case "DeviceGetRegionIoFdsRequest":
        return regionIoFds(this, h, msg);
      case "DeviceGetIrqInfoRequest":
        return irqInfo(this, h, msg);
      case "DeviceSetIrqsRequest":
        return setIrqs(this, h, msg, fds);
      case "DeviceResetRequest":
        return reset(this, h);
      case "RegionWriteMultiRequest":
        return regionWriteMulti(this, h, msg);
      case "DeviceFeatureRequest":
        return deviceFeature(this, h, msg);
      case "MigDataReadRequest":
        return migDataRead(this, h, msg.argsz, msg.size);
      case "MigDataWriteRequest":
        return migDataWrite(this, h, msg.data);
      case "Unknown":
        throw refuse("UnknownCommand", `unknown command ${h.command}`);
      default:
        // DMA_READ / DMA_WRITE requests travel server → client only.
        throw refuse("NotSupported", `${commandName(h.command)} is not a client command`);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Teardown

  private teardown(): void {
    if (this.isDown) return;
    this.isDown = true;
    this.dma.close();
    this.main.close(); // the fds its parser and the waiting commands still hold
    this.host.detach();
    this.onClosed(this);
  }
}
