import { closeFds, type UnixSocket } from "@emu/sys";
import { encodeMessage, FrameParser, HeaderFlags } from "@emu/vfio-user-proto";
import { Errno } from "../errno.js";
import { VfioUserServerError } from "../errors.js";

/** How long a connection that arrives while a client is served waits for it to go before it is refused. */
const GRACE_MS = 250;
/** How long a refused connection has to send its first message (its VERSION) before it is simply closed. */
const REFUSAL_DEADLINE_MS = 1000;
/** Connections waiting or being refused at once; more are closed at once. */
const MAX_WAITING = 4;
/** The largest first message read from a refused connection (a VERSION proposal is a few hundred bytes). */
const REFUSAL_MAX_MESSAGE = 65536;

export interface AdmissionOptions {
  /** A client is being served. */
  busy(): boolean;
  /** Serves `sock` (the device is free). */
  serve(sock: UnixSocket): void;
  report(e: unknown): void;
  /** The socket path, for messages. */
  readonly path: string;
}

interface Waiting {
  readonly sock: UnixSocket;
  timer: NodeJS.Timeout | undefined;
  /** Being refused: its bytes are being read, it can no longer be served. */
  refusing: boolean;
}

/**
 * Who gets the device: one client at a time (vfio-user has no multiplexing). A connection that arrives while a client
 * is served waits a moment unread, since it may be that client reconnecting before its old connection's end has been
 * seen here: if the device frees up it is served. Otherwise it is refused clearly: its first message (its VERSION) is
 * answered with an error reply, errno EBUSY, and the connection is closed; a peer that sends nothing within a second
 * is closed. The served client is never disturbed. Each refusal is reported (`VfioUserServerError` "Busy").
 */
export class Admission {
  private readonly options: AdmissionOptions;
  private readonly waiting = new Set<Waiting>();
  private shut = false;

  constructor(options: AdmissionOptions) {
    this.options = options;
  }

  /** A new connection from the listener. */
  offer(sock: UnixSocket): void {
    if (this.shut) {
      sock.close();
      return;
    }
    if (!this.options.busy()) {
      this.options.serve(sock);
      return;
    }
    if (this.waiting.size >= MAX_WAITING) {
      sock.close();
      this.refused("closed at once: too many connections are waiting");
      return;
    }
    const w: Waiting = { sock, timer: undefined, refusing: false };
    w.timer = setTimeout(() => this.refuse(w), GRACE_MS);
    this.waiting.add(w);
  }

  /** The served client has gone: the oldest connection still waiting is served. */
  freed(): void {
    for (const w of this.waiting) {
      if (w.refusing) continue;
      clearTimeout(w.timer);
      this.waiting.delete(w);
      this.options.serve(w.sock);
      return;
    }
  }

  /** The server closes: every waiting connection is closed. Idempotent. */
  close(): void {
    this.shut = true;
    for (const w of this.waiting) {
      clearTimeout(w.timer);
      w.sock.close();
    }
    this.waiting.clear();
  }

  /** The grace period is over and the device is still taken: answer the peer's first message with EBUSY. */
  private refuse(w: Waiting): void {
    if (!this.options.busy()) {
      // Freed in the meantime without `freed` finding it (cannot happen; stay safe).
      this.waiting.delete(w);
      this.options.serve(w.sock);
      return;
    }
    w.refusing = true;
    const parser = new FrameParser({ maxMessageSize: REFUSAL_MAX_MESSAGE });
    const sock = w.sock;
    w.timer = setTimeout(() => sock.close(), REFUSAL_DEADLINE_MS);
    let answered = false;
    sock.start({
      maxRecvFds: 16,
      onData: (chunk, fds) => {
        if (answered || parser.push(chunk, fds) !== undefined) {
          closeFds(fds);
          sock.close();
          return;
        }
        let f: ReturnType<FrameParser["next"]>;
        try {
          f = parser.next();
        } catch {
          sock.close();
          return;
        }
        if (f === undefined) return;
        answered = true;
        closeFds(f.fds);
        const h = f.header;
        if ((h.flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_COMMAND && (h.flags & HeaderFlags.NO_REPLY) === 0)
          sock.send(encodeMessage({ kind: "ErrorReply", command: h.command, errno: Errno.EBUSY }, { msgId: h.msgId }));
        sock.close();
      },
      onClose: () => {
        clearTimeout(w.timer);
        closeFds(parser.takeFds());
        this.waiting.delete(w);
      },
    });
    this.refused("its first message is answered with EBUSY");
  }

  private refused(how: string): void {
    this.options.report(
      new VfioUserServerError(
        "Busy",
        `a second client connected to ${this.options.path} while one is served: refused (${how})`,
      ),
    );
  }
}
