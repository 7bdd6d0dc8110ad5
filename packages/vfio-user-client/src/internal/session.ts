import { closeFds } from "@emu/sys";
import { encodeMessage, type Frame, type MessageKind, type MessageOf, type RequestMessage } from "@emu/vfio-user-proto";
import { VfioUserClientError } from "../errors.js";
import type { NegotiatedSession } from "../negotiation.js";
import type { Connection } from "./connection.js";
import { decodeReply } from "./decode-reply.js";

/** The transfer size assumed before VERSION settled one. */
const DEFAULT_MAX_TRANSFER = 1048576;

/** Encodes a request with msg_id 0 (the connection assigns it). */
export function frameOf(message: RequestMessage): Uint8Array {
  return encodeMessage(message, { msgId: 0 });
}

/**
 * What every part of a client shares: its connection, whether `close()` was called, and what VERSION settled; and the
 * one way to send a request and decode its reply.
 */
export class ClientSession {
  readonly conn: Connection;
  readonly socketPath: string;
  /** `close()` was called. */
  closed = false;
  /** What VERSION settled (undefined until it has). */
  settled: NegotiatedSession | undefined;

  constructor(conn: Connection, socketPath: string) {
    this.conn = conn;
    this.socketPath = socketPath;
  }

  /** True until the connection is lost or closed. */
  get connected(): boolean {
    return !this.closed && this.conn.failure === undefined;
  }

  /** What VERSION settled; a "Closed" error before. */
  get negotiated(): NegotiatedSession {
    if (this.settled === undefined) throw new VfioUserClientError("Closed", "not negotiated");
    return this.settled;
  }

  /** Largest data piece of one transfer (the negotiated one, 1 MiB before VERSION). */
  get maxTransfer(): number {
    return this.settled?.maxTransfer ?? DEFAULT_MAX_TRANSFER;
  }

  /** The error of an operation on a closed client. */
  closedError(): VfioUserClientError {
    return new VfioUserClientError("Closed", `${this.describe()} is closed`);
  }

  describe(): string {
    return `vfio-user device ${this.socketPath}`;
  }

  /** Throws unless the client is open and connected: the "Closed" error, or why the connection was lost. */
  live(): void {
    if (this.closed) throw this.closedError();
    const lost = this.conn.failure;
    if (lost) throw lost;
  }

  /**
   * Sends a request and decodes the reply as `kind`; a reply that does not decode is a "Protocol" error, which ends
   * the connection (see `protocol`). The reply's fds are closed.
   */
  async call<K extends MessageKind>(message: RequestMessage, kind: K, fds?: readonly number[]): Promise<MessageOf<K>> {
    this.live();
    const reply = await this.conn.request(frameOf(message), fds);
    try {
      return this.decode(reply, kind);
    } finally {
      closeFds(reply.fds);
    }
  }

  /** Decodes a reply as `kind`; one that does not decode is a "Protocol" error that ends the connection. */
  decode<K extends MessageKind>(reply: Frame, kind: K): MessageOf<K> {
    try {
      return decodeReply(reply, kind);
    } catch (e) {
      this.conn.breakOn(e);
      throw e;
    }
  }

  /**
   * The "Protocol" error of a reply that decoded but does not answer what was asked (to throw). The connection ends
   * with it: a server that sent it cannot be trusted (pending requests fail with it, `disconnected` follows).
   */
  protocol(message: string, options?: { readonly command?: number }): VfioUserClientError {
    const err = new VfioUserClientError("Protocol", message, options);
    this.conn.breakOn(err);
    return err;
  }
}
