import { closeFds, type SocketCloseError, type UnixSocket } from "@emu/sys";
import { type Frame, FrameParser, HeaderFlags, type ProtoError } from "@emu/vfio-user-proto";
import { frameAt, type MutableHeader, readHeaderAt } from "@emu/vfio-user-proto/wire";
import { type FlushTiming, Outbox } from "./outbox.js";
import type { TransportStats } from "./stats.js";

/** What an {@link Endpoint} calls. */
export interface EndpointHandlers {
  /**
   * The fast path: a whole frame read in place from a received chunk, its header in `head` (reused: copy what you
   * keep), its bytes at [at, at + head.msgSize) of `chunk` and of `view` (both over the buffer the chunk was received
   * in, mostly `@emu/sys`'s reused receive buffer: **valid only during this call**, copy what you keep). Return true
   * when it was handled here; false sends it to `onFrame` (as a Frame of its own, without fds). Nothing is allocated
   * per frame on this way unless the handler does.
   */
  inPlace?(chunk: Uint8Array, view: DataView, at: number, head: MutableHeader): boolean;
  /** Every other frame: replies at once, commands in order while nothing holds them. Its fds are the handler's. */
  onFrame(frame: Frame): void;
  /**
   * While true, commands wait in the endpoint, in order (replies still reach `onFrame`): a server whose command went
   * asynchronous holds the ones behind it. Call {@link Endpoint.release} when it turns false.
   */
  hold?(): boolean;
  /**
   * Replies to our own commands are due on this socket: while commands wait, reading goes on however many wait (a
   * reply may be behind them). Default false. Call {@link Endpoint.replyDue} when it turns true.
   */
  awaitingReplies?(): boolean;
  /**
   * True once the connection is ending: no frame is handled any more (checked after each; chunks arriving then are
   * dropped, their fds closed). Default: the socket is closed.
   */
  halted?(): boolean;
  /** The stream is out of sync (a bad `msg_size`): called before the endpoint closes (the fds it held are closed). */
  onFramingError(err: ProtoError): void;
  /** The socket closed (exactly once; `err` as `UnixSocket` reports it). */
  onClose(err: SocketCloseError | undefined): void;
}

/** Commands waiting (held, or the send side blocked) before the socket stops being read, unless replies are due. */
export const MAX_WAITING_COMMANDS = 4096;
/** The same in bytes. */
export const MAX_WAITING_BYTES = 1 << 20;
/**
 * While a reply to one of our commands is due, commands waiting past these stop the reading too: a peer that floods
 * us instead of answering cannot grow us without bound. Its reply then waits behind them (a server's DMA reply timeout
 * ends such a connection). Room for the largest frame (16 MiB) and more than any peer keeps in flight.
 */
export const MAX_WAITING_COMMANDS_REPLY_DUE = 65536;
export const MAX_WAITING_BYTES_REPLY_DUE = 32 << 20;

export interface EndpointOptions {
  /** Largest frame accepted (default: the parser's, 1 MiB of data). */
  readonly maxMessageSize?: number;
  /** The send arena's starting size (default 65536). */
  readonly capacity?: number;
  /** When `queue`d messages sent outside a batch leave (default "tick"). */
  readonly later?: FlushTiming;
  /** Counters to add to. */
  readonly stats?: TransportStats;
}

/** The buffer chunks last came in (mostly @emu/sys's receive buffer) and a DataView over it, for every endpoint. */
let lastBuffer: Uint8Array | undefined;
let lastView: DataView = new DataView(new ArrayBuffer(0));

function viewOf(bytes: Uint8Array): DataView {
  if (bytes !== lastBuffer) {
    lastBuffer = bytes;
    lastView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return lastView;
}

/**
 * One socket of a vfio-user connection: the {@link UnixSocket}, the {@link FrameParser} of what it receives and the
 * {@link Outbox} of what it sends.
 *
 * Receiving: each chunk is one batch of the outbox (what its frames cause leaves in one sendmsg at its end). When the
 * parser holds nothing and no fds came with it, the chunk's whole frames are read in place — each header into one
 * reused {@link MutableHeader}, offered to `inPlace`, else handed to `onFrame` as a Frame — and only the rest reaches
 * the parser. A framing error closes the endpoint.
 *
 * Backpressure: commands (every frame that is not a reply) are what make us send, so they wait in the endpoint while
 * the handler holds them (`hold`) or while the peer does not take what we send ({@link Outbox.blocked}); replies
 * are handled as they come. The socket stops being read once the send side is blocked, or once
 * {@link MAX_WAITING_COMMANDS} commands or {@link MAX_WAITING_BYTES} bytes of them wait — unless a reply to one of
 * our commands is due (`awaitingReplies`): then it is read on, since that reply may be behind them, up to
 * {@link MAX_WAITING_COMMANDS_REPLY_DUE} commands or {@link MAX_WAITING_BYTES_REPLY_DUE} bytes. Reading goes on
 * when the send queue empties or the handler calls {@link release}.
 */
export class Endpoint {
  readonly socket: UnixSocket;
  readonly parser: FrameParser;
  readonly outbox: Outbox;
  private readonly stats: TransportStats | undefined;
  /** The frame being read in place: reused, nothing allocated per message. */
  private readonly head: MutableHeader = { msgId: 0, command: 0, msgSize: 0, flags: 0, error: 0 };
  private handlers: EndpointHandlers | undefined;
  /** Commands not yet handed over, oldest at `waitingHead`. */
  private waiting: (Frame | undefined)[] = [];
  private waitingHead = 0;
  private waitingBytes = 0;
  /** Reading is paused (backpressure). */
  private paused = false;
  /** Inside `drain`: a nested `release`/`replyDue` leaves the work to it. */
  private draining = false;

  constructor(socket: UnixSocket, options: EndpointOptions = {}) {
    this.socket = socket;
    this.parser = new FrameParser(
      options.maxMessageSize === undefined ? undefined : { maxMessageSize: options.maxMessageSize },
    );
    this.stats = options.stats;
    const outbox: { capacity?: number; later?: FlushTiming; stats?: TransportStats } = {};
    if (options.capacity !== undefined) outbox.capacity = options.capacity;
    if (options.later !== undefined) outbox.later = options.later;
    if (options.stats !== undefined) outbox.stats = options.stats;
    this.outbox = new Outbox(socket, outbox);
  }

  /** Starts reading (once). `maxRecvFds`: the most fds accepted with one message (more closes the socket). */
  start(handlers: EndpointHandlers, maxRecvFds: number): void {
    this.handlers = handlers;
    this.socket.start({
      maxRecvFds,
      onChunk: (bytes, offset, length, fds) => this.onChunk(handlers, bytes, offset, length, fds),
      onDrain: () => {
        this.outbox.drained();
        this.pump();
      },
      onClose: (err) => handlers.onClose(err),
    });
  }

  /** The socket is closed (here, by the peer, or by an error). */
  get closed(): boolean {
    return this.socket.closed;
  }

  /** Commands waiting to be handed over. */
  get waitingCommands(): number {
    return this.waiting.length - this.waitingHead;
  }

  /** The handler's `hold` turned false: the commands that waited are handed over, then reading goes on. */
  release(): void {
    this.pump();
  }

  /** `awaitingReplies` turned true (a command of ours went out): reading goes on if backpressure had stopped it. */
  replyDue(): void {
    if (this.paused) this.pump();
  }

  /** Closes the socket (idempotent) and the fds the parser and the waiting commands hold; `onClose` follows. */
  close(): void {
    this.socket.close();
    closeFds(this.parser.takeFds());
    const waiting = this.waiting;
    for (let i = this.waitingHead; i < waiting.length; i++) closeFds((waiting[i] as Frame).fds);
    this.waiting = [];
    this.waitingHead = 0;
    this.waitingBytes = 0;
  }

  private halted(handlers: EndpointHandlers): boolean {
    return handlers.halted === undefined ? this.socket.closed : handlers.halted();
  }

  /** Commands must wait: the handler holds them or the peer is not taking what we send. */
  private stalled(handlers: EndpointHandlers): boolean {
    return this.outbox.blocked || handlers.hold?.() === true;
  }

  /**
   * A received chunk: `length` bytes at `offset` of `bytes` (see `UnixSocketHandlers.onChunk`): @emu/sys's receive
   * buffer, valid during this call only — so what outlives it (the parser's bytes, a Frame for `onFrame`) is copied
   * out — or, for a big chunk, a buffer of its own, kept as it is.
   */
  private onChunk(
    handlers: EndpointHandlers,
    bytes: Uint8Array,
    offset: number,
    length: number,
    fds: readonly number[],
  ): void {
    if (this.halted(handlers)) {
      closeFds(fds);
      return;
    }
    const parser = this.parser;
    const outbox = this.outbox;
    const end = offset + length;
    const own = length === bytes.length;
    const outer = outbox.openBatch();
    try {
      const view = viewOf(bytes);
      const whole =
        handlers.inPlace === undefined || this.waitingHead < this.waiting.length || this.stalled(handlers)
          ? offset
          : parser.inPlaceEnd(view, offset, end, fds);
      if (whole === offset) {
        if (parser.push(own ? bytes : bytes.slice(offset, end), fds) !== undefined) this.fail(handlers);
        else this.drain(handlers);
        return;
      }
      const done = this.readInPlace(handlers, bytes, view, offset, whole, own);
      if (done === end || this.halted(handlers)) return;
      // A partial frame, or the frames behind a stall: the parser's (no fds came with an in-place chunk).
      if (parser.push(own ? bytes.subarray(done, end) : bytes.slice(done, end)) !== undefined) this.fail(handlers);
      else this.drain(handlers);
    } finally {
      outbox.closeBatch(outer);
    }
  }

  /** Handles the whole frames in [at, end) of `bytes`; returns where it stopped (stalled or halted). */
  private readInPlace(
    handlers: EndpointHandlers,
    bytes: Uint8Array,
    view: DataView,
    at: number,
    end: number,
    own: boolean,
  ): number {
    const h = this.head;
    const stats = this.stats;
    const outbox = this.outbox;
    // Frames for onFrame outlive the call: from a borrowed chunk they are views of one copy of the chunk's rest.
    let kept = own ? bytes : undefined;
    let keptBase = 0;
    while (at < end) {
      readHeaderAt(view, at, h);
      const size = h.msgSize;
      if (stats !== undefined) stats.framesReceived++;
      if (handlers.inPlace?.(bytes, view, at, h) !== true) {
        if (kept === undefined) {
          kept = bytes.slice(at, end);
          keptBase = at;
        }
        handlers.onFrame(frameAt(kept, at - keptBase));
      }
      at += size;
      if (outbox.blocked || this.halted(handlers) || handlers.hold?.() === true) break;
    }
    return at;
  }

  /** Hands over the waiting commands and what the parser holds, in a batch (after a drain, a release, a reply due). */
  private pump(): void {
    const handlers = this.handlers;
    if (handlers === undefined || this.draining || this.halted(handlers)) return;
    const outer = this.outbox.openBatch();
    try {
      this.drain(handlers);
    } finally {
      this.outbox.closeBatch(outer);
    }
  }

  /**
   * The waiting commands first (while nothing stalls them), then the parser's frames: replies handed over, commands
   * handed over or, while stalled, kept waiting. Ends by pausing the socket (see the class) or, once the parser is
   * empty, reading on.
   */
  private drain(handlers: EndpointHandlers): void {
    this.draining = true;
    try {
      if (!this.handOver(handlers)) return;
      const parser = this.parser;
      const stats = this.stats;
      for (;;) {
        const stalled = this.waitingHead < this.waiting.length || this.stalled(handlers);
        if (stalled && this.mustPause(handlers)) {
          this.setPaused(true);
          return;
        }
        let f: Frame | undefined;
        try {
          f = parser.next();
        } catch {
          this.fail(handlers);
          return;
        }
        if (f === undefined) break;
        if (stats !== undefined) stats.framesReceived++;
        if (stalled && (f.header.flags & HeaderFlags.TYPE_MASK) !== HeaderFlags.TYPE_REPLY) {
          this.waiting.push(f);
          this.waitingBytes += f.header.msgSize;
          continue;
        }
        handlers.onFrame(f);
        if (this.halted(handlers)) return;
      }
      this.setPaused(false);
    } finally {
      this.draining = false;
    }
  }

  /** Hands over waiting commands until none is left or they stall again; false once halted. */
  private handOver(handlers: EndpointHandlers): boolean {
    while (this.waitingHead < this.waiting.length) {
      if (this.halted(handlers)) return false;
      if (this.stalled(handlers)) return true;
      const waiting = this.waiting;
      const f = waiting[this.waitingHead] as Frame;
      waiting[this.waitingHead++] = undefined;
      this.waitingBytes -= f.header.msgSize;
      if (this.waitingHead === waiting.length) {
        this.waiting = [];
        this.waitingHead = 0;
      }
      handlers.onFrame(f);
    }
    return !this.halted(handlers);
  }

  /**
   * While commands are stalled: stop reading (the send side is blocked, or enough wait) unless replies are due — then
   * only once far more wait (a flood, not a peer about to answer).
   */
  private mustPause(handlers: EndpointHandlers): boolean {
    const waiting = this.waiting.length - this.waitingHead;
    if (handlers.awaitingReplies?.() === true)
      return waiting >= MAX_WAITING_COMMANDS_REPLY_DUE || this.waitingBytes >= MAX_WAITING_BYTES_REPLY_DUE;
    return this.outbox.blocked || waiting >= MAX_WAITING_COMMANDS || this.waitingBytes >= MAX_WAITING_BYTES;
  }

  private setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    if (paused) this.socket.pause();
    else this.socket.resume();
  }

  /** A framing error: the stream cannot be trusted any more. */
  private fail(handlers: EndpointHandlers): void {
    const err = this.parser.error;
    closeFds(this.parser.takeFds());
    if (err !== undefined) handlers.onFramingError(err);
    this.close();
  }
}
