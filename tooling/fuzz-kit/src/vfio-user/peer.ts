// One socket of a hostile vfio-user peer: what it receives is cut into frames (its fds closed unless the handler keeps
// them), what it sends goes out in the pieces asked for — fds with the first piece, a turn of the event loop between
// pieces when asked, so the other side reads them apart. `progress()` resolves on the next frame or the close: what a
// fuzzer waits on, with a deadline, to tell a slow peer from a hung one.
import { closeFds, UnixSocket } from "@emu/sys";
import { type Frame, FrameParser } from "@emu/vfio-user-proto";
import { FuzzFailure } from "../failure.js";

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class FramePeer {
  readonly socket: UnixSocket;
  private readonly parser: FrameParser;
  /** Set when the socket closed (by either side): the error it closed with, or "eof". */
  closedBy: string | undefined;
  private waiters: (() => void)[] = [];

  /**
   * Starts reading `socket`; `onFrame` owns each frame's fds (closed after it returns unless it empties `fds`);
   * `afterChunk` runs once the frames of a received chunk have been handled (to send what they caused together).
   */
  constructor(
    socket: UnixSocket,
    onFrame: (f: Frame, fds: number[]) => void,
    options: { readonly maxMessageSize?: number; readonly afterChunk?: () => void } = {},
  ) {
    this.socket = socket;
    this.parser = new FrameParser({ maxMessageSize: options.maxMessageSize ?? 64 * 1048576 });
    socket.start({
      maxRecvFds: 253,
      onData: (chunk, fds) => {
        if (this.parser.push(chunk, fds) !== undefined) return this.broken();
        for (;;) {
          let f: Frame | undefined;
          try {
            f = this.parser.next();
          } catch {
            return this.broken();
          }
          if (f === undefined) break;
          const owned = [...f.fds];
          try {
            onFrame(f, owned);
          } finally {
            closeFds(owned);
          }
        }
        options.afterChunk?.();
        this.wake();
      },
      onClose: (err) => {
        this.closedBy = err === undefined ? "eof" : err.message;
        closeFds(this.parser.takeFds());
        this.wake();
      },
    });
  }

  static async connect(
    path: string,
    onFrame: (f: Frame, fds: number[]) => void,
    timeoutMs: number,
  ): Promise<FramePeer> {
    return new FramePeer(await UnixSocket.connect(path, { timeoutMs }), onFrame);
  }

  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  /** The stream we received broke its framing: a finding for whoever reads `framingBroken`. */
  framingBroken = false;

  private broken(): void {
    this.framingBroken = true;
    this.socket.close();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves true on the next frame received or the close, false after `ms` without either. */
  wait(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(false);
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(done);
    });
  }

  /** Resolves on the next frame received or the close; a hang (`what`) after `ms`. */
  async progress(ms: number, what: string): Promise<void> {
    if (!(await this.wait(ms))) throw new FuzzFailure("hang", `no frame and no close within ${ms} ms while ${what}`);
  }

  /**
   * Sends `bytes` in pieces of `lengths` (summing to its length), `fds` with the first; between pieces a turn of the
   * event loop when `spaced`. `onPiece` sees each piece as it leaves (before anything the reply to it may cause).
   * Stops early if the socket closes. Returns the bytes sent.
   */
  async send(
    bytes: Uint8Array,
    fds: readonly number[],
    lengths: readonly number[],
    spaced: boolean,
    onPiece?: (piece: Uint8Array) => void,
  ): Promise<number> {
    let at = 0;
    for (let i = 0; i < lengths.length; i++) {
      if (this.closed) break;
      const n = lengths[i] as number;
      const piece = bytes.subarray(at, at + n);
      this.socket.send(piece, i === 0 && fds.length > 0 ? fds : undefined);
      onPiece?.(piece);
      at += n;
      if (spaced && i < lengths.length - 1) await turn();
    }
    return at;
  }

  close(): void {
    this.socket.close();
  }
}
