import type { DmaMessageLayout, Header, Message } from "@emu/vfio-user-proto";
import type { Outbox } from "@emu/vfio-user-transport";
import type { DeviceHost } from "./device-host.js";

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
  /** MIG_DATA_READ replies carry the requested size, zero-padded (`ServerOptions.migDataReadReply`). */
  readonly padMigDataRead: boolean;
  /** How long a DMA_READ/DMA_WRITE of ours waits for its reply before the access fails and the connection ends. */
  readonly dmaReplyTimeoutMs: number;
}

/** What VERSION settled about this client (defaults until then). */
export interface Negotiated {
  /** VERSION is done: every other command is refused before. */
  done: boolean;
  /** Most fds the client accepts with one message. */
  clientMaxFds: number;
  /** REGION_WRITE_MULTI was negotiated. */
  writeMultiple: boolean;
}

/**
 * What a command handler gets from its connection: the device, the limits, what VERSION settled, and the way back to
 * the client. A handler throws a `ReplyError` (`refuse`) to refuse; a handler that returns a promise holds the commands
 * behind it until it settles (its rejection is its error reply).
 */
export interface Session {
  readonly host: DeviceHost;
  readonly limits: ServerLimits;
  readonly negotiated: Negotiated;
  /** The main socket's outbox, for the `append*` writers of the fast paths (check `replies` first). */
  readonly out: Outbox;
  /** Whether a reply to `h` is sent at all (not NO_REPLY, connection not closed). */
  replies(h: Header): boolean;
  /** Sends the reply to `h` (nothing for NO_REPLY or once closed); with fds it leaves alone, at once. */
  send(h: Header, m: Message, fds?: readonly number[]): void;
  /** Turns a failure into the error reply to `h` (and reports device failures). */
  fail(h: Header, e: unknown): void;
  /** `h` (a header of its own, not a reused one) went asynchronous: the commands behind it wait for `r`. */
  wait(h: Header, r: Promise<void>): void;
  /** Sends what is queued and closes the connection (its close handler does the rest). */
  end(): void;
  /** What cannot become an error reply (`ServerOptions.onError`). */
  report(e: unknown): void;
}
