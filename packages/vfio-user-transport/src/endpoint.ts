import { closeFds, type SocketCloseError, type UnixSocket } from "@emu/sys";
import { type Frame, FrameParser, type ProtoError } from "@emu/vfio-user-proto";
import { frameAt, type MutableHeader, readHeaderAt } from "@emu/vfio-user-proto/wire";
import { type FlushTiming, Outbox } from "./outbox.js";
import type { TransportStats } from "./stats.js";

/** What an {@link Endpoint} calls. */
export interface EndpointHandlers {
  /**
   * The fast path: a whole frame read in place from a received chunk, its header in `head` (reused: copy what you
   * keep), its bytes at [at, at + head.msgSize) of `chunk` (`view` covers the chunk's whole frames). Return true when
   * it was handled here; false sends it to `onFrame` (as a Frame without fds). Nothing is allocated per frame on this
   * way unless the handler does.
   */
  inPlace?(chunk: Uint8Array, view: DataView, at: number, head: MutableHeader): boolean;
  /** Every other frame. Its fds are the handler's: close or keep them. */
  onFrame(frame: Frame): void;
  /**
   * While true, frames are not read in place: the rest of a chunk goes through the parser to `onFrame` (a server whose
   * command went asynchronous queues the frames behind it). Checked before a chunk and after each in-place frame.
   */
  hold?(): boolean;
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

/**
 * One socket of a vfio-user connection: the {@link UnixSocket}, the {@link FrameParser} of what it receives and the
 * {@link Outbox} of what it sends.
 *
 * Receiving: each chunk is one batch of the outbox (what its frames cause leaves in one sendmsg at its end). When the
 * parser holds nothing and no fds came with it, the chunk's whole frames are read in place — each header into one
 * reused {@link MutableHeader}, offered to `inPlace`, else handed to `onFrame` as a Frame — and only the rest reaches
 * the parser. A framing error closes the endpoint.
 */
export class Endpoint {
  readonly socket: UnixSocket;
  readonly parser: FrameParser;
  readonly outbox: Outbox;
  private readonly stats: TransportStats | undefined;
  /** The frame being read in place: reused, nothing allocated per message. */
  private readonly head: MutableHeader = { msgId: 0, command: 0, msgSize: 0, flags: 0, error: 0 };

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
    this.socket.start({
      maxRecvFds,
      onData: (chunk, fds) => this.onData(handlers, chunk, fds),
      onClose: (err) => handlers.onClose(err),
    });
  }

  /** The socket is closed (here, by the peer, or by an error). */
  get closed(): boolean {
    return this.socket.closed;
  }

  /** Stops reading (backpressure: the kernel buffers, then the peer's sends block). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Closes the socket (idempotent) and the fds the parser still holds; `onClose` follows. What is queued is dropped. */
  close(): void {
    this.socket.close();
    closeFds(this.parser.takeFds());
  }

  private halted(handlers: EndpointHandlers): boolean {
    return handlers.halted === undefined ? this.socket.closed : handlers.halted();
  }

  private onData(handlers: EndpointHandlers, chunk: Uint8Array, fds: number[]): void {
    if (this.halted(handlers)) {
      closeFds(fds);
      return;
    }
    const parser = this.parser;
    const outbox = this.outbox;
    const outer = outbox.openBatch();
    try {
      const n = handlers.inPlace === undefined || handlers.hold?.() === true ? 0 : parser.inPlaceLength(chunk, fds);
      if (n === 0) {
        if (parser.push(chunk, fds) !== undefined) this.fail(handlers);
        else this.drain(handlers);
        return;
      }
      const done = this.readInPlace(handlers, chunk, n);
      if (done === chunk.length || this.halted(handlers)) return;
      // A partial frame, or the frames the handler held back: the parser's (no fds came with an in-place chunk).
      if (parser.push(chunk.subarray(done)) !== undefined) this.fail(handlers);
      else this.drain(handlers);
    } finally {
      outbox.closeBatch(outer);
    }
  }

  /** Handles the whole frames in [0, n) of a chunk; returns where it stopped (held or halted). */
  private readInPlace(handlers: EndpointHandlers, chunk: Uint8Array, n: number): number {
    const view = new DataView(chunk.buffer, chunk.byteOffset, n);
    const h = this.head;
    const stats = this.stats;
    let at = 0;
    while (at < n) {
      readHeaderAt(view, at, h);
      const size = h.msgSize;
      if (stats !== undefined) stats.framesReceived++;
      if (handlers.inPlace?.(chunk, view, at, h) !== true) handlers.onFrame(frameAt(chunk, at));
      at += size;
      if (this.halted(handlers) || handlers.hold?.() === true) break;
    }
    return at;
  }

  private drain(handlers: EndpointHandlers): void {
    const parser = this.parser;
    const stats = this.stats;
    for (;;) {
      let f: Frame | undefined;
      try {
        f = parser.next();
      } catch {
        this.fail(handlers);
        return;
      }
      if (f === undefined) return;
      if (stats !== undefined) stats.framesReceived++;
      handlers.onFrame(f);
      if (this.halted(handlers)) return;
    }
  }

  /** A framing error: the stream cannot be trusted any more. */
  private fail(handlers: EndpointHandlers): void {
    const err = this.parser.error;
    closeFds(this.parser.takeFds());
    if (err !== undefined) handlers.onFramingError(err);
    this.close();
  }
}
