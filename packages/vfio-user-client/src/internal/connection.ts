import { closeFds, type SocketCloseError, type UnixSocket } from "@emu/sys";
import {
  Command,
  commandName,
  encodeMessage,
  type Frame,
  FrameParser,
  HEADER_SIZE,
  HeaderFlags,
  REGION_ACCESS_SIZE,
} from "@emu/vfio-user-proto";
import {
  appendRegionReadRequest,
  appendRegionWriteRequest,
  FrameArena,
  frameAt,
  type MutableHeader,
  readHeaderAt,
} from "@emu/vfio-user-proto/wire";
import { errorReply, VfioUserClientError } from "../errors.js";

/** A request waiting for its reply. Replies come in request order; the id + command pair confirms the match. */
interface Pending {
  readonly msgId: number;
  readonly command: number;
  /**
   * A REGION_READ/WRITE of `requestAccess`: its `count`; -1 for `request` (resolved with the reply frame). The plain
   * reply to an access (no fds, the access head, and for a read `count` bytes) resolves with its data (a view) or
   * undefined without a Frame object; any other reply goes to `ConnectionHandlers.judgeAccess`.
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
  /**
   * A successful reply to `requestAccess` that is not the plain one (another size, fds): returns what the request
   * resolves with (REGION_READ: the `count` bytes; REGION_WRITE: undefined) or throws what it rejects with. Its fds are
   * the handler's.
   */
  judgeAccess(frame: Frame, count: number): Uint8Array | undefined;
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

const EMPTY_FDS: readonly number[] = [];

/**
 * One vfio-user session's transport: framing, pipelined requests matched to replies, NO_REPLY sends, coalescing of
 * the messages queued in one tick into one sendmsg (a message carrying fds always leaves alone, so its fds travel
 * with its header), server commands on the main socket or the twin socket, and failure of everything pending when
 * the socket goes away.
 */
export class Connection {
  private readonly main: UnixSocket;
  private twin: UnixSocket | undefined;
  private readonly parser: FrameParser;
  private twinParser: FrameParser | undefined;
  private readonly handlers: ConnectionHandlers;
  private pending: Pending[] = [];
  private head = 0;
  private nextId = 1;
  /** Messages queued this tick, back to back (copied in: the socket copies what the kernel does not take at once). */
  private readonly out = new FrameArena(ARENA_START);
  private flushScheduled = false;
  private readonly flushNow = (): void => this.flush();
  /** The reply being read in place (see `onMainData`): reused, nothing allocated per message. */
  private readonly hdr: MutableHeader = { msgId: 0, command: 0, msgSize: 0, flags: 0, error: 0 };
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
    this.main = main;
    this.handlers = handlers;
    this.parser = new FrameParser();
    this.mainChannel = {
      twin: false,
      send: (parts) => this.sendOrdered(parts),
      flush: () => undefined, // the main socket's batch leaves with the requests, at the end of the tick
    };
    main.start({
      maxRecvFds,
      onData: (chunk, fds) => this.onMainData(chunk, fds),
      onClose: (err) => this.onSocketClose(err, "main"),
    });
  }

  /** Largest frame accepted from the server (set after VERSION from our max_data_xfer_size). */
  set maxMessageSize(n: number) {
    this.parser.maxMessageSize = n;
    if (this.twinParser) this.twinParser.maxMessageSize = n;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.length - this.head;
  }

  /** Why the connection is gone, or undefined while it is up. */
  get failure(): VfioUserClientError | undefined {
    return this.lost;
  }

  get hasTwin(): boolean {
    return this.twin !== undefined;
  }

  /** Server commands arrive on `socket` from now on too (the twin socket of VERSION). */
  adoptTwin(socket: UnixSocket, maxRecvFds: number): void {
    this.twin = socket;
    const parser = new FrameParser({ maxMessageSize: this.parser.maxMessageSize });
    this.twinParser = parser;
    // Replies on the twin socket made while handling one read leave together at its end.
    const out = new FrameArena(ARENA_START);
    const flushTwin = (): void => {
      if (out.length === 0) return;
      this.stats.sendCalls++;
      socket.send(out.take());
    };
    const channel: CommandChannel = {
      twin: true,
      send: (parts) => {
        this.stats.messagesSent++;
        const total = partsLength(parts);
        if (total > ARENA_COPY_MAX) {
          flushTwin();
          this.stats.sendCalls++;
          socket.send(parts);
          return;
        }
        copyParts(parts, out);
      },
      flush: flushTwin,
    };
    socket.start({
      maxRecvFds,
      onData: (chunk, fds) => this.onData(parser, chunk, fds, channel),
      onClose: (err) => this.onSocketClose(err, "twin"),
    });
  }

  /**
   * Sends a whole request frame (its msg_id is assigned here, written over bytes 0-1) and resolves with the reply
   * frame; an error reply rejects with a "ErrorReply" VfioUserClientError. The reply's fds are the caller's.
   */
  request(frame: Uint8Array, fds?: readonly number[]): Promise<Frame> {
    if (this.lost) return Promise.reject(this.lost);
    const msgId = this.assignId(frame);
    const command = frame[2]! | (frame[3]! << 8);
    try {
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
      this.pending.push({ msgId, command, count: -1, resolve: resolve as Pending["resolve"], reject });
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
      this.flush();
      this.lost = err;
    }
    this.failPending(this.lost);
    this.main.close();
    this.twin?.close();
    closeFds(this.parser.takeFds());
    if (this.twinParser) closeFds(this.twinParser.takeFds());
  }

  private assignId(frame: Uint8Array): number {
    const msgId = this.nextId;
    this.nextId = (msgId + 1) & 0xffff;
    frame[0] = msgId & 0xff;
    frame[1] = msgId >> 8;
    return msgId;
  }

  private enqueue(frame: Uint8Array, fds: readonly number[] | undefined): void {
    if ((fds !== undefined && fds.length > 0) || frame.length > ARENA_COPY_MAX) {
      // Fds must arrive with this message's first bytes, and big messages are not worth copying: send what is
      // queued first, then this one on its own.
      this.flush();
      this.stats.messagesSent++;
      this.stats.sendCalls++;
      if (fds !== undefined && fds.length > 0) this.main.send(frame, fds);
      else this.main.send(frame);
      return;
    }
    this.out.append(frame);
    this.queued();
  }

  private queued(): void {
    this.stats.messagesSent++;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushNow);
    }
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
      return this.request(f).then((reply) => this.judge(reply, count));
    }
    const msgId = this.nextId;
    this.nextId = (msgId + 1) & 0xffff;
    if (data === undefined) appendRegionReadRequest(this.out, msgId, offset, region, count, flags);
    else appendRegionWriteRequest(this.out, msgId, offset, region, data, flags);
    this.queued();
    if (noReply) return undefined;
    return new Promise<Uint8Array | undefined>((resolve, reject) => {
      this.pending.push({ msgId, command, count, resolve: resolve as Pending["resolve"], reject });
    });
  }

  /** The value of an access's reply: the plain reply's data, else the handler's judgement. */
  private judge(reply: Frame, count: number): Uint8Array | undefined {
    const p = reply.payload;
    if (
      reply.fds.length === 0 &&
      p.length === REGION_ACCESS_SIZE + (reply.header.command === Command.REGION_READ ? count : 0)
    )
      return reply.header.command === Command.REGION_READ ? p.subarray(REGION_ACCESS_SIZE) : undefined;
    return this.handlers.judgeAccess(reply, count);
  }

  /** Sends on the main socket in order with queued requests. */
  private sendOrdered(parts: Uint8Array | readonly Uint8Array[]): void {
    if (this.lost) return;
    const total = partsLength(parts);
    if (total > ARENA_COPY_MAX) {
      this.flush();
      this.stats.messagesSent++;
      this.stats.sendCalls++;
      this.main.send(parts);
      return;
    }
    copyParts(parts, this.out);
    this.queued();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.out.length === 0) return;
    const bytes = this.out.take();
    if (this.lost) return;
    this.stats.sendCalls++;
    this.main.send(bytes);
  }

  /**
   * A chunk from the main socket. The common case — nothing buffered, no fds, whole frames — is read in place: the
   * plain reply to the oldest request of `requestAccess` settles it without a Frame object; other frames go the
   * general way (`onFrame`), and what is left through the frame parser.
   */
  private onMainData(chunk: Uint8Array, fds: number[]): void {
    const n = this.lost ? 0 : this.parser.inPlaceLength(chunk, fds);
    if (n === 0) {
      this.onData(this.parser, chunk, fds, this.mainChannel);
      return;
    }
    const view = new DataView(chunk.buffer, chunk.byteOffset, n);
    const h = this.hdr;
    let at = 0;
    while (at < n) {
      readHeaderAt(view, at, h);
      const size = h.msgSize;
      if (!this.accessReplyInPlace(chunk, at)) this.onFrame(frameAt(chunk, at), this.mainChannel);
      at += size;
      if (this.lost) return;
    }
    if (n < chunk.length) this.onData(this.parser, chunk.subarray(n), fds, this.mainChannel);
  }

  /** The plain reply (see `Pending.count`) to the oldest request, if this frame (header in `hdr`) is one. */
  private accessReplyInPlace(chunk: Uint8Array, at: number): boolean {
    const h = this.hdr;
    if ((h.flags & (HeaderFlags.TYPE_MASK | HeaderFlags.ERROR)) !== HeaderFlags.TYPE_REPLY) return false;
    const p = this.pending[this.head];
    if (p === undefined || p.count < 0 || p.msgId !== h.msgId || p.command !== h.command) return false;
    const read = p.command === Command.REGION_READ;
    if (h.msgSize !== ACCESS_FRAME_HEAD + (read ? p.count : 0)) return false;
    this.stats.framesReceived++;
    this.dropHead();
    p.resolve(read ? chunk.subarray(at + ACCESS_FRAME_HEAD, at + h.msgSize) : undefined);
    return true;
  }

  /** The oldest pending request got its reply. */
  private dropHead(): void {
    const pending = this.pending;
    const i = this.head;
    pending[i] = undefined as unknown as Pending;
    this.head = i + 1;
    if (this.head === pending.length) {
      pending.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > pending.length) {
      this.pending = pending.slice(this.head);
      this.head = 0;
    }
  }

  private onData(parser: FrameParser, chunk: Uint8Array, fds: number[], channel: CommandChannel): void {
    if (this.lost) {
      closeFds(fds);
      return;
    }
    const err = parser.push(chunk, fds.length === 0 ? EMPTY_FDS : fds);
    if (err === undefined) {
      const bad = parser.drain((frame) => this.onFrame(frame, channel));
      channel.flush();
      if (bad === undefined) return;
      this.protocolFailure(`framing: ${bad.message}`, bad);
    } else {
      this.protocolFailure(`framing: ${err.message}`, err);
    }
  }

  private onFrame(frame: Frame, channel: CommandChannel): void {
    this.stats.framesReceived++;
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
    const pending = this.pending;
    let i = this.head;
    let p: Pending | undefined = pending[i];
    if (p === undefined || p.msgId !== msgId || p.command !== command) {
      // Not the oldest request: look further (a server may answer out of order), else drop it.
      p = undefined;
      for (let j = i + 1; j < pending.length; j++) {
        const q = pending[j]!;
        if (q.msgId === msgId && q.command === command) {
          p = q;
          i = j;
          break;
        }
      }
      if (p === undefined) {
        this.stats.unmatchedReplies++;
        closeFds(frame.fds);
        return;
      }
      pending.splice(i, 1);
    } else this.dropHead();
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
      return;
    }
    p.resolve(value);
  }

  private protocolFailure(message: string, cause?: unknown): void {
    const err = new VfioUserClientError("Protocol", `the server broke the protocol: ${message}`, { cause });
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
    this.out.length = 0;
    this.failPending(err);
    closeFds(this.parser.takeFds());
    if (this.twinParser) closeFds(this.twinParser.takeFds());
    this.handlers.onLost(err);
  }

  private failPending(err: VfioUserClientError): void {
    const pending = this.pending;
    const head = this.head;
    this.pending = [];
    this.head = 0;
    for (let i = head; i < pending.length; i++) pending[i]!.reject(err);
  }
}

/** Header + access head of REGION_READ/WRITE. */
const ACCESS_FRAME_HEAD = HEADER_SIZE + REGION_ACCESS_SIZE;
/** Messages up to this size are copied into the send arena; bigger ones leave on their own (gathered, no copy). */
const ARENA_COPY_MAX = 16384;
/** The arenas' starting size (one grown past 16 × this by a burst is dropped after its flush). */
const ARENA_START = 65536;

function partsLength(parts: Uint8Array | readonly Uint8Array[]): number {
  if (parts instanceof Uint8Array) return parts.length;
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/** Copies the parts to the end of the arena. */
function copyParts(parts: Uint8Array | readonly Uint8Array[], out: FrameArena): void {
  if (parts instanceof Uint8Array) {
    out.append(parts);
    return;
  }
  for (const p of parts) out.append(p);
}
