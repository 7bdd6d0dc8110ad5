import { closeFds, type SocketCloseError, type UnixSocket } from "@emu/sys";
import {
  Command,
  commandName,
  encodeMessage,
  type Frame,
  HEADER_SIZE,
  HeaderFlags,
  REGION_ACCESS_SIZE,
} from "@emu/vfio-user-proto";
import {
  appendRegionReadRequest,
  appendRegionWriteRequest,
  copyBytes,
  type MutableHeader,
} from "@emu/vfio-user-proto/wire";
import {
  ARENA_COPY_MAX,
  adoptTwin,
  Endpoint,
  type EndpointHandlers,
  Outstanding,
  type OutstandingRequest,
} from "@emu/vfio-user-transport";
import { errorReply, isVfioUserClientError, VfioUserClientError } from "../errors.js";
import { judgeAccessReply } from "./access-reply.js";

/** A request waiting for its reply. Replies come in request order; the id + command pair confirms the match. */
interface Pending extends OutstandingRequest {
  /**
   * A REGION_READ/WRITE of `requestAccess`: its `count`; -1 for `request` (resolved with the reply frame). The plain
   * reply to an access (no fds, the access head, and for a read `count` bytes) resolves with its data (a view) or
   * undefined without a Frame object; any other reply is decoded and judged by `judgeAccessReply`.
   */
  readonly count: number;
  readonly resolve: (value: Frame | Uint8Array | undefined) => void;
  readonly reject: (err: unknown) => void;
}

/** Where a server command (DMA_READ/DMA_WRITE) came from; the reply goes back the same way. */
export interface CommandChannel {
  /** Sends one whole message (its parts gathered into one sendmsg). */
  send(parts: Uint8Array | readonly Uint8Array[]): void;
  readonly twin: boolean;
  /** Sends what `send` batched (called after each read has been handled). */
  flush(): void;
}

export interface ConnectionHandlers {
  /** A command from the server (type bits = command). Its fds are the handler's (close them). */
  onCommand(frame: Frame, channel: CommandChannel): void;
  /** The connection ended without `close()`: every pending request has already been rejected with `err`. */
  onLost(err: VfioUserClientError): void;
}

export interface ConnectionStats {
  /** Messages handed to the socket (requests and replies to server commands). */
  messagesSent: number;
  /** sendmsg calls made (several messages may share one). */
  sendCalls: number;
  /** Frames received on the main and twin sockets. */
  framesReceived: number;
  /** Server commands (DMA_READ/DMA_WRITE...) served. */
  serverCommands: number;
  /** Replies that matched no pending request (dropped, their fds closed). */
  unmatchedReplies: number;
}

/** Header + access head of REGION_READ/WRITE. */
const ACCESS_FRAME_HEAD = HEADER_SIZE + REGION_ACCESS_SIZE;
/** The send arenas' starting size (one grown past 16 × this by a burst is dropped after its flush). */
const ARENA_START = 65536;

/**
 * One vfio-user session's transport, on `@emu/vfio-user-transport`: pipelined requests matched to replies, NO_REPLY
 * sends, the messages queued in one tick leaving in one sendmsg (a message carrying fds always leaves alone, so its fds
 * travel with its header), server commands on the main socket or the twin socket, and failure of everything pending
 * when the socket goes away.
 */
export class Connection {
  private readonly main: Endpoint;
  private twin: Endpoint | undefined;
  private readonly handlers: ConnectionHandlers;
  private readonly pending = new Outstanding<Pending>();
  private lost: VfioUserClientError | undefined;
  private closedLocally = false;
  readonly stats: ConnectionStats = {
    messagesSent: 0,
    sendCalls: 0,
    framesReceived: 0,
    serverCommands: 0,
    unmatchedReplies: 0,
  };
  private readonly mainChannel: CommandChannel;

  constructor(main: UnixSocket, maxRecvFds: number, handlers: ConnectionHandlers) {
    this.handlers = handlers;
    this.main = new Endpoint(main, { capacity: ARENA_START, later: "microtask", stats: this.stats });
    this.mainChannel = {
      twin: false,
      send: (parts) => this.sendOrdered(parts),
      flush: () => undefined, // the main socket's batch leaves with the requests
    };
    this.main.start(
      {
        inPlace: (chunk, _view, at, h) => this.accessReplyInPlace(chunk, at, h),
        // Replies to our requests come here: read them even while the server's commands wait (see `Endpoint`).
        awaitingReplies: () => this.pending.size > 0,
        ...this.commonHandlers(this.mainChannel, "main"),
      },
      maxRecvFds,
    );
  }

  /** What both sockets do with frames, framing errors and their end. */
  private commonHandlers(channel: CommandChannel, which: "main" | "twin"): EndpointHandlers {
    return {
      onFrame: (frame) => this.onFrame(frame, channel),
      halted: () => this.lost !== undefined,
      onFramingError: (err) => this.protocolFailure(`framing: ${err.message}`, err),
      onClose: (err) => this.onSocketClose(err, which),
    };
  }

  /** Largest frame accepted from the server (set after VERSION from our max_data_xfer_size). */
  set maxMessageSize(n: number) {
    this.main.parser.maxMessageSize = n;
    if (this.twin) this.twin.parser.maxMessageSize = n;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Why the connection is gone, or undefined while it is up. */
  get failure(): VfioUserClientError | undefined {
    return this.lost;
  }

  get hasTwin(): boolean {
    return this.twin !== undefined;
  }

  /** Server commands arrive on the socket `fd` from now on too (the twin socket of VERSION; owned from here). */
  adoptTwin(fd: number, maxRecvFds: number): void {
    const twin = adoptTwin(fd, {
      maxMessageSize: this.main.parser.maxMessageSize,
      capacity: ARENA_START,
      later: "microtask",
      stats: this.stats,
    });
    this.twin = twin;
    // Replies on the twin socket made while handling one read leave together at its end.
    const channel: CommandChannel = {
      twin: true,
      send: (parts) => twin.outbox.queue(parts),
      flush: () => twin.outbox.flush(),
    };
    twin.start(this.commonHandlers(channel, "twin"), maxRecvFds);
  }

  /**
   * Sends a whole request frame (its msg_id is assigned here, written over bytes 0-1) and resolves with the reply
   * frame; an error reply rejects with a "ErrorReply" VfioUserClientError. The reply's fds are the caller's.
   */
  request(frame: Uint8Array, fds?: readonly number[]): Promise<Frame> {
    if (this.lost) return Promise.reject(this.lost);
    const command = frame[2]! | (frame[3]! << 8);
    let msgId: number;
    try {
      msgId = this.assignId(frame);
      this.enqueue(frame, fds);
    } catch (e) {
      // Nothing left (bad fds, a detached buffer): no reply will come, so nothing waits for one.
      return Promise.reject(
        new VfioUserClientError("InvalidArgument", `${commandName(command)} not sent: ${(e as Error).message}`, {
          command,
          cause: e,
        }),
      );
    }
    return new Promise<Frame>((resolve, reject) => {
      this.pending.add({ msgId, command, twin: false, count: -1, resolve: resolve as Pending["resolve"], reject });
      this.main.replyDue();
    });
  }

  /** Sends a command with NO_REPLY set (the server answers nothing, not even an error). */
  post(frame: Uint8Array): void {
    if (this.lost) throw this.lost;
    this.assignId(frame);
    frame[8] = frame[8]! | HeaderFlags.NO_REPLY;
    this.enqueue(frame, undefined);
  }

  /** Stops everything: pending requests fail with `err` (a "Closed" error), sockets close. Idempotent. */
  close(err: VfioUserClientError): void {
    if (this.closedLocally) return;
    this.closedLocally = true;
    if (!this.lost) {
      this.main.outbox.flush();
      this.lost = err;
    }
    this.failPending(this.lost);
    this.main.close();
    this.twin?.close();
  }

  /** A free msg_id (none outstanding has it), written into the frame. */
  private assignId(frame: Uint8Array): number {
    const msgId = this.nextId();
    frame[0] = msgId & 0xff;
    frame[1] = msgId >> 8;
    return msgId;
  }

  private nextId(): number {
    const msgId = this.pending.allocate();
    if (msgId < 0) throw new VfioUserClientError("InvalidArgument", "65535 requests are outstanding: no msg_id free");
    return msgId;
  }

  private enqueue(frame: Uint8Array, fds: readonly number[] | undefined): void {
    // Fds must arrive with this message's first bytes, and big messages are not worth copying: those leave alone.
    if (fds !== undefined && fds.length > 0) this.main.outbox.send(frame, fds);
    else this.main.outbox.queue(frame);
  }

  /**
   * The hot path of REGION_READ / REGION_WRITE: the frame written straight into the arena. Resolves with the data read
   * (a view of the reply) or undefined for a write (see `Pending.count`); NO_REPLY: undefined at once.
   */
  requestAccess(
    command: number,
    offset: bigint,
    region: number,
    count: number,
    data: Uint8Array | undefined,
    noReply: boolean,
  ): Promise<Uint8Array | undefined> | undefined {
    if (this.lost) return Promise.reject(this.lost);
    const flags = noReply ? HeaderFlags.NO_REPLY : 0;
    const size = ACCESS_FRAME_HEAD + (data === undefined ? 0 : data.length);
    if (size > ARENA_COPY_MAX) {
      // Sent on its own (the regular encoder, which also range-checks): `request` and `post` set its msg_id.
      const f =
        data === undefined
          ? encodeMessage({ kind: "RegionReadRequest", offset, region, count }, { msgId: 0, flags })
          : encodeMessage({ kind: "RegionWriteRequest", offset, region, data }, { msgId: 0, flags });
      if (noReply) {
        this.post(f);
        return undefined;
      }
      return this.request(f).then((reply) => this.judgeOrBreak(reply, count));
    }
    const msgId = this.nextId();
    const out = this.main.outbox;
    if (data === undefined) appendRegionReadRequest(out.arena, msgId, offset, region, count, flags);
    else appendRegionWriteRequest(out.arena, msgId, offset, region, data, flags);
    out.queued();
    if (noReply) return undefined;
    return new Promise<Uint8Array | undefined>((resolve, reject) => {
      this.pending.add({ msgId, command, twin: false, count, resolve: resolve as Pending["resolve"], reject });
      this.main.replyDue();
    });
  }

  /** `judge`, and a reply that does not decode or match (a "Protocol" error) breaks the connection. */
  private judgeOrBreak(reply: Frame, count: number): Uint8Array | undefined {
    try {
      return this.judge(reply, count);
    } catch (e) {
      this.breakOn(e);
      throw e;
    }
  }

  /** The value of an access's reply: the plain reply's data, else the general decode's judgement (fds closed). */
  private judge(reply: Frame, count: number): Uint8Array | undefined {
    const p = reply.payload;
    if (
      reply.fds.length === 0 &&
      p.length === REGION_ACCESS_SIZE + (reply.header.command === Command.REGION_READ ? count : 0)
    )
      return reply.header.command === Command.REGION_READ ? p.subarray(REGION_ACCESS_SIZE) : undefined;
    closeFds(reply.fds);
    return judgeAccessReply(reply, count);
  }

  /** Sends on the main socket in order with queued requests. */
  private sendOrdered(parts: Uint8Array | readonly Uint8Array[]): void {
    if (this.lost) return;
    this.main.outbox.queue(parts);
  }

  /** The plain reply (see `Pending.count`) to the oldest request, if this frame (header in `h`) is one. */
  private accessReplyInPlace(chunk: Uint8Array, at: number, h: MutableHeader): boolean {
    if ((h.flags & (HeaderFlags.TYPE_MASK | HeaderFlags.ERROR)) !== HeaderFlags.TYPE_REPLY) return false;
    const p = this.pending.oldest();
    if (p === undefined || p.count < 0 || p.msgId !== h.msgId || p.command !== h.command) return false;
    const read = p.command === Command.REGION_READ;
    if (h.msgSize !== ACCESS_FRAME_HEAD + (read ? p.count : 0)) return false;
    this.pending.dropOldest();
    // The data as bytes of its own: `chunk` is the socket's receive buffer, reused once this call returns.
    p.resolve(read ? copyBytes(chunk, at + ACCESS_FRAME_HEAD, p.count) : undefined);
    return true;
  }

  private onFrame(frame: Frame, channel: CommandChannel): void {
    const flags = frame.header.flags;
    const type = flags & HeaderFlags.TYPE_MASK;
    if (type === HeaderFlags.TYPE_REPLY) {
      if (channel.twin) {
        // Replies never come on the twin socket (it carries server commands only).
        this.stats.unmatchedReplies++;
        closeFds(frame.fds);
        return;
      }
      this.onReply(frame);
      return;
    }
    if (type === HeaderFlags.TYPE_COMMAND) {
      this.stats.serverCommands++;
      this.handlers.onCommand(frame, channel);
      return;
    }
    closeFds(frame.fds);
    this.protocolFailure(`a frame with message type ${type} (${commandName(frame.header.command)})`);
  }

  private onReply(frame: Frame): void {
    const { msgId, command, flags } = frame.header;
    // The oldest request, or further (a server may answer out of order); else it is dropped.
    const p = this.pending.match(msgId, command, false);
    if (p === undefined) {
      this.stats.unmatchedReplies++;
      closeFds(frame.fds);
      return;
    }
    if ((flags & HeaderFlags.ERROR) !== 0) {
      closeFds(frame.fds);
      p.reject(errorReply(command, frame.header.error, frame.payload.length > 0 ? frame.payload.slice() : undefined));
      return;
    }
    if (p.count < 0) {
      p.resolve(frame);
      return;
    }
    let value: Uint8Array | undefined;
    try {
      value = this.judge(frame, p.count);
    } catch (e) {
      p.reject(e);
      this.breakOn(e);
      return;
    }
    p.resolve(value);
  }

  private protocolFailure(message: string, cause?: unknown): void {
    this.broken(new VfioUserClientError("Protocol", `the server broke the protocol: ${message}`, { cause }));
  }

  /**
   * A reply that does not decode or does not answer what was asked (a "Protocol" error): a stream that carried it
   * cannot be trusted, so the connection ends with `err` (every pending request fails with it, `onLost` follows).
   * Other errors pass.
   */
  breakOn(err: unknown): void {
    if (isVfioUserClientError(err) && err.reason === "Protocol") this.broken(err);
  }

  private broken(err: VfioUserClientError): void {
    this.lose(err);
    this.main.close();
    this.twin?.close();
  }

  private onSocketClose(err: SocketCloseError | undefined, which: "main" | "twin"): void {
    if (this.closedLocally || this.lost) return;
    const what = which === "main" ? "the server closed the connection" : "the server closed the twin socket";
    const e = new VfioUserClientError("Disconnected", err === undefined ? what : `${what}: ${err.message}`, {
      ...(err !== undefined && "code" in err ? { code: err.code } : {}),
      ...(err === undefined ? {} : { cause: err }),
    });
    this.lose(e);
    if (which === "main") this.twin?.close();
    else this.main.close();
  }

  private lose(err: VfioUserClientError): void {
    if (this.lost) return;
    this.lost = err;
    this.main.outbox.discard();
    this.failPending(err);
    closeFds(this.main.parser.takeFds());
    if (this.twin) closeFds(this.twin.parser.takeFds());
    this.handlers.onLost(err);
  }

  private failPending(err: VfioUserClientError): void {
    for (const p of this.pending.takeAll()) p.reject(err);
  }
}
