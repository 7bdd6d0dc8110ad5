import {
  isSysError,
  type SocketCloseError,
  SysArgumentError,
  SysError,
  SysStateError,
  TooManyFdsError,
} from "./errors.js";
import { CloseKind, native, type ServerHandle, type SocketExternal, type SocketHandle } from "./internal/native.js";

/** Linux's SCM_MAX_FD: the most fds one sendmsg can carry, and the default `maxRecvFds`. */
export const MAX_FDS_PER_MESSAGE = 253;

/** What `UnixSocket.start` calls: `onData` or `onChunk` (one of them), `onClose`, and `onDrain` if given. */
export interface UnixSocketHandlers {
  /**
   * One recvmsg worth of the byte stream, with exactly the fds that arrived with it. The chunk is a fresh
   * Uint8Array that the receiver owns. The fds belong to the LAST message that starts in this chunk (see README);
   * they are the receiver's: close them (`closeFd`) or adopt them, or they leak.
   */
  onData?(chunk: Uint8Array, fds: number[]): void;
  /**
   * Instead of `onData`, for a reader that wants no object and no copy per chunk: the chunk is `length` bytes at
   * `offset` of `bytes`. Mostly `bytes` is the addon's receive buffer (256 KiB, one per thread, reused by every read),
   * **valid only during this call**: copy what you keep. A chunk of 16 KiB or more comes in a buffer of its own
   * instead, which is the receiver's (`bytes` is then exactly the chunk: `offset` 0, `length === bytes.length`).
   * `fds` as for `onData`; when none came it is one shared frozen empty array. Takes precedence over `onData`.
   */
  onChunk?(bytes: Uint8Array, offset: number, length: number, fds: readonly number[]): void;
  /**
   * Called exactly once after `start()`, whatever closed the socket: `err` is undefined for end of stream and for a
   * local `close()`; a `SysError` (EPIPE, ECONNRESET...) or a `TooManyFdsError` otherwise. Never thrown.
   */
  onClose(err?: SocketCloseError): void;
  /** The send queue became empty (after `send()` returned false). */
  onDrain?(): void;
}

/** Handlers and options of `UnixSocket.start`. */
export interface UnixSocketStartOptions extends UnixSocketHandlers {
  /** Most fds accepted with one message; more closes the socket with a TooManyFdsError. Default 253 (0 to 253). */
  maxRecvFds?: number;
}

/** Options of `UnixSocket.connect`. */
export interface UnixConnectOptions {
  /** How long to retry while the listener's backlog is full (EAGAIN). Default 10 000 ms. */
  timeoutMs?: number;
}

/** `onChunk`'s fds when none came with a chunk. */
const NO_FDS: readonly number[] = Object.freeze([]);
let wrapHandle: (handle: SocketHandle) => UnixSocket;

/** The buffer the last chunk came in, as bytes: the receive buffer stays the same, so one Uint8Array serves all. */
let lastBuffer: ArrayBuffer | undefined;
let lastBytes = new Uint8Array(0);

function bytesOf(buffer: ArrayBuffer): Uint8Array {
  if (buffer !== lastBuffer) {
    lastBuffer = buffer;
    lastBytes = new Uint8Array(buffer);
  }
  return lastBytes;
}

/**
 * A connected AF_UNIX stream socket owned by the addon: close-on-exec, never blocking (every sendmsg and recvmsg is
 * MSG_DONTWAIT, whatever the fd's O_NONBLOCK), watched by a poller on the event loop. Messages leave in one sendmsg with their fds; what the kernel does not take at once is queued natively
 * and finished before anything sent later. The socket stays open until `close()`, end of stream or an error.
 */
export class UnixSocket {
  readonly #h: SocketHandle;
  /** The same socket for `sendPrefix`: the hot send without an unwrap of the handle. */
  readonly #x: SocketExternal;
  #handlers: UnixSocketHandlers | undefined;
  #maxRecvFds = MAX_FDS_PER_MESSAGE;
  #closed: { err: SocketCloseError | undefined } | undefined;
  #reported = false;

  static {
    wrapHandle = (handle) => new UnixSocket(handle);
  }

  /** Use `UnixSocket.connect`, `UnixSocket.pair`, `UnixSocket.adopt` or a `UnixServer`. */
  private constructor(handle: SocketHandle) {
    this.#h = handle;
    this.#x = handle.external();
    handle.setCallbacks(
      (buffer, offset, length, fds) => {
        const bytes = bytesOf(buffer);
        const h = this.#handlers!;
        if (h.onChunk !== undefined) h.onChunk(bytes, offset, length, fds ?? NO_FDS);
        // A copy of its own (a big chunk already has a buffer of its own).
        else h.onData!(length === bytes.length ? bytes : bytes.slice(offset, offset + length), fds ?? []);
      },
      () => this.#handlers?.onDrain?.(),
      (kind, errno, syscall) => this.#closedBy(this.#errorOf(kind, errno, syscall), false),
    );
  }

  /** Connects to a listening socket at `path` (retrying while its backlog is full). */
  static async connect(path: string, options: UnixConnectOptions = {}): Promise<UnixSocket> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    let delay = 1;
    for (;;) {
      try {
        return new UnixSocket(native.connect(path));
      } catch (e) {
        if (!(isSysError(e) && e.code === "EAGAIN" && Date.now() < deadline)) throw e;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 50);
    }
  }

  /** Two connected sockets (socketpair). */
  static pair(): [UnixSocket, UnixSocket] {
    const [a, b] = native.socketPair();
    return [new UnixSocket(a), new UnixSocket(b)];
  }

  /**
   * Takes ownership of an AF_UNIX stream socket fd (e.g. one received with SCM_RIGHTS, or inherited): it is made
   * close-on-exec (a flag of this process's descriptor) and closed with this object. Its file status flags are left
   * as the sender set them (O_NONBLOCK is shared with every holder of the socket); sends and receives are
   * non-blocking per call. On a thrown error the caller still owns `fd`.
   */
  static adopt(fd: number): UnixSocket {
    return new UnixSocket(new native.SocketHandle(fd, true));
  }

  /** The socket's fd, or -1 once closed. Do not close it yourself. */
  get fd(): number {
    return this.#h.fd();
  }

  /** True once closed (locally, by the peer or by an error). */
  get closed(): boolean {
    // Kept here, not asked of the addon (a hot check): every native close reaches #closedBy at once, through the
    // close callback, send()'s -1 or close().
    return this.#closed !== undefined;
  }

  /** Bytes accepted by `send()` but not yet taken by the kernel. */
  get bufferedAmount(): number {
    return this.#h.bufferedAmount();
  }

  /** Starts reading; the handlers get every chunk, the drain and the close. Once per socket. */
  start(handlers: UnixSocketStartOptions): void {
    if (this.#handlers) throw new SysStateError("start() was already called");
    const reader = handlers?.onChunk ?? handlers?.onData;
    if (typeof reader !== "function" || typeof handlers.onClose !== "function")
      throw new SysArgumentError("start() needs an onData (or onChunk) and an onClose function");
    const max = handlers.maxRecvFds ?? MAX_FDS_PER_MESSAGE;
    this.#h.start(max); // validates max (SysArgumentError) before anything changes
    this.#maxRecvFds = max;
    this.#handlers = handlers;
    if (this.#h.isClosed()) {
      if (!this.#closed) this.#closedBy(this.#nativeCloseError(), true);
      else this.#deliver(true);
    }
  }

  /** Stops reading (the kernel buffers, then the peer's sends block: backpressure). */
  pause(): void {
    this.#h.setPaused(true);
  }

  /** Starts reading again after `pause()`. */
  resume(): void {
    this.#h.setPaused(false);
  }

  /**
   * Sends one message: the parts are gathered into ONE sendmsg with the fds (SCM_RIGHTS). If the kernel takes only
   * part, the rest is queued natively (fds dup'd, sent with the first remaining byte) and finished before anything
   * sent later. The caller keeps its fds and may close them as soon as this returns.
   * Returns true when the kernel took everything, false when bytes are queued (wait for onDrain) or the socket is
   * closed (a no-op then: the close handler tells why). Bad arguments and bad fds throw; nothing is sent then.
   */
  send(data: Uint8Array | readonly Uint8Array[], fds?: readonly number[]): boolean {
    const r = fds === undefined ? this.#h.send(data) : this.#h.send(data, fds);
    if (r === 0) return true;
    if (r < 0 && !this.#closed) this.#closedBy(this.#nativeCloseError(), true);
    return false;
  }

  /**
   * Sends the first `length` bytes of `data` (no fds) exactly as `send(data.subarray(0, length))` would, without
   * making the view: for a sender that fills a reused buffer and sends what it filled.
   */
  sendPrefix(data: Uint8Array, length: number): boolean {
    const r = native.sendPrefix(this.#x, data, length);
    if (r === 0) return true;
    if (r < 0 && !this.#closed) this.#closedBy(this.#nativeCloseError(), true);
    return false;
  }

  /** Closes now (idempotent): stops the poller, closes the fd, drops queued data and closes its dup'd fds. */
  close(): void {
    if (this.#closed) return;
    const err = this.#h.isClosed() ? this.#nativeCloseError() : undefined;
    this.#h.close();
    this.#closedBy(err, true);
  }

  /** Lets the process exit while this socket is open (like net.Socket#unref). */
  unref(): this {
    this.#h.unref();
    return this;
  }

  /** Keeps the process alive while this socket is open (the default). */
  ref(): this {
    this.#h.ref();
    return this;
  }

  #nativeCloseError(): SocketCloseError | undefined {
    const info = this.#h.closeError();
    return info ? this.#errorOf(info[0], info[1], info[2]) : undefined;
  }

  #errorOf(kind: number, errno: number, syscall: string): SocketCloseError | undefined {
    if (kind === CloseKind.Errno) return new SysError(errno, syscall);
    if (kind === CloseKind.TooManyFds) return new TooManyFdsError(this.#maxRecvFds);
    return undefined;
  }

  #closedBy(err: SocketCloseError | undefined, async: boolean): void {
    if (this.#closed) return;
    this.#closed = { err };
    this.#deliver(async);
  }

  #deliver(async: boolean): void {
    const handlers = this.#handlers;
    if (!handlers || !this.#closed || this.#reported) return;
    this.#reported = true;
    const err = this.#closed.err;
    if (async) process.nextTick(() => handlers.onClose(err));
    else handlers.onClose(err);
  }
}

/** Options of `UnixServer.listen`. */
export interface UnixListenOptions {
  /** Mode of the socket file; it is never more open than this, not even briefly. Default 0o600. */
  mode?: number;
  /** listen() backlog. Default 128. */
  backlog?: number;
  /**
   * accept() failed for a reason other than a vanished client (EMFILE, ENFILE, ENOBUFS...): accepting pauses for
   * 100 ms, then resumes. Without a handler the error becomes a process warning.
   */
  onError?: (err: SysError) => void;
}

/** A listening AF_UNIX stream socket at a path. */
export class UnixServer {
  readonly #h: ServerHandle;
  readonly path: string;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  #unref = false;

  private constructor(path: string, h: ServerHandle) {
    this.path = path;
    this.#h = h;
  }

  /**
   * Creates the socket file at `path` with `mode` and starts accepting; each connection is handed to `onConnection`
   * (call `start()` on it). A socket file nobody listens on (connect gives ECONNREFUSED) is replaced; a live one
   * throws SysError EADDRINUSE; any other file at the path throws SysError EEXIST.
   */
  static listen(path: string, onConnection: (socket: UnixSocket) => void, options: UnixListenOptions = {}): UnixServer {
    if (typeof onConnection !== "function") throw new SysArgumentError("listen() needs an onConnection function");
    const h = new native.ServerHandle(path, options.mode ?? 0o600, options.backlog ?? 128);
    const server = new UnixServer(path, h);
    try {
      server.#start(h, path, onConnection, options.onError);
    } catch (e) {
      h.close(true);
      throw e;
    }
    return server;
  }

  #start(
    h: ServerHandle,
    path: string,
    onConnection: (socket: UnixSocket) => void,
    onError: ((err: SysError) => void) | undefined,
  ): void {
    h.start(
      (sh) => onConnection(wrapHandle(sh)),
      (errno) => {
        const err = new SysError(errno, "accept4", path);
        if (onError) onError(err);
        else process.emitWarning(err.message, "UnixServerWarning");
        this.#retry = setTimeout(() => {
          this.#retry = undefined;
          if (!this.#closed) h.start();
        }, 100);
        if (this.#unref) this.#retry.unref();
      },
    );
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops accepting and closes the socket; removes the socket file (if it is still ours) unless `unlink: false`. */
  close(options: { unlink?: boolean } = {}): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#h.close(options.unlink ?? true);
  }

  /** Lets the process exit while the server listens. */
  unref(): this {
    this.#unref = true;
    this.#h.unref();
    this.#retry?.unref();
    return this;
  }

  /** Keeps the process alive while the server listens (the default). */
  ref(): this {
    this.#unref = false;
    this.#h.ref();
    this.#retry?.ref();
    return this;
  }
}
