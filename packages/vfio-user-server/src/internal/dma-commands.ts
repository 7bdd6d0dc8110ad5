import { closeFds, type UnixSocket } from "@emu/sys";
import {
  Command,
  commandName,
  DMA_ACCESS_SIZE,
  type DmaMessageLayout,
  decodeDmaReadReply,
  decodeDmaWriteReply,
  type Frame,
  HEADER_SIZE,
  type Header,
  HeaderFlags,
} from "@emu/vfio-user-proto";
import {
  appendDmaReadRequest,
  appendDmaWriteRequest,
  type DmaAccessHead,
  DmaAccessLayout,
  dmaAccessFrameSize,
  FrameArena,
  readDmaAccessAt,
} from "@emu/vfio-user-proto/wire";
import {
  ARENA_COPY_MAX,
  createTwin,
  type Endpoint,
  type Outbox,
  Outstanding,
  type OutstandingRequest,
} from "@emu/vfio-user-transport";
import { DmaError } from "../errors.js";
import type { DmaTransport } from "./dma.js";

/** Header + DMA access head (+ data). */
const DMA_FRAME_SIZE = HEADER_SIZE + DMA_ACCESS_SIZE;

/** One of our DMA commands waiting for its reply. */
interface PendingCommand extends OutstandingRequest {
  readonly address: bigint;
  readonly count: number;
  /** When it was sent (`Date.now()`), for the reply timeout. */
  readonly sentAt: number;
  /** DMA_READ: the data (a view of the reply); DMA_WRITE: undefined. */
  resolve(data: Uint8Array | undefined): void;
  reject(e: unknown): void;
}

/** What the DMA commands need from their connection. */
export interface DmaCommandsOwner {
  /** The connection is closed: commands fail at once. */
  readonly closed: boolean;
  /** Closed or closing (see `Connection.gone`): no frame is handled any more. */
  readonly gone: boolean;
  /** A command goes out on the main socket: its reply must be read even under backpressure. */
  mainCommandSent(): void;
  /** The twin socket's stream broke: end the connection. */
  twinBroken(err: unknown): void;
  /** A command went unanswered past the timeout (`err`, the DmaError its access failed with): end the connection. */
  dmaTimedOut(err: unknown): void;
}

/**
 * Our own commands to the client — DMA_READ and DMA_WRITE, for guest memory mapped without an fd — and their replies:
 * the `DmaTransport` of the DMA table. They go out on the twin socket when VERSION negotiated one, else on the main
 * socket; the commands of one tick leave together in one sendmsg. A command not answered within the reply timeout
 * fails with `DmaError("Timeout")`, with every other one outstanding, and the connection is ended (`dmaTimedOut`).
 */
export class DmaCommands implements DmaTransport {
  /** The largest DMA_READ/DMA_WRITE `count`: min(the client's max_data_xfer_size, ours), set at VERSION. */
  maxDataXferSize = 1048576;
  /** The DMA_READ/DMA_WRITE layout of this client (decided at VERSION). */
  layout: DmaMessageLayout = "spec";
  private readonly owner: DmaCommandsOwner;
  private readonly main: Outbox;
  private twin: Endpoint | undefined;
  private readonly pending = new Outstanding<PendingCommand>();
  /** The DMA_READ reply being judged: reused, nothing allocated per message. */
  private readonly head: DmaAccessHead = { address: 0, count: 0 };
  private readonly timeoutMs: number;
  /** Armed while commands are outstanding: fires at the oldest one's deadline (re-armed lazily, not per reply). */
  private timer: NodeJS.Timeout | undefined;

  constructor(owner: DmaCommandsOwner, main: Outbox, timeoutMs: number) {
    this.owner = owner;
    this.main = main;
    this.timeoutMs = timeoutMs;
  }

  /** Replies to our commands are due on the main socket (no twin socket, commands outstanding). */
  get awaitingOnMain(): boolean {
    return this.twin === undefined && this.pending.size > 0;
  }

  get hasTwin(): boolean {
    return this.twin !== undefined;
  }

  /**
   * Opens the twin socket: our commands go there from now on. Returns the client's end, to send with the VERSION
   * reply (then close it). The twin socket carries only our commands and their replies.
   */
  openTwin(maxMessageSize: number, maxRecvFds: number): UnixSocket {
    const { endpoint, peer } = createTwin({ maxMessageSize, capacity: 4096 });
    this.twin = endpoint;
    endpoint.start(
      {
        inPlace: (chunk, _view, at, h) => {
          if ((h.flags & HeaderFlags.TYPE_MASK) !== HeaderFlags.TYPE_REPLY) return false;
          this.onReply(h, chunk.subarray(at, at + h.msgSize), true);
          return true;
        },
        onFrame: (f) => this.onFrame(f, true),
        awaitingReplies: () => this.pending.size > 0,
        halted: () => this.owner.gone,
        onFramingError: (err) => this.owner.twinBroken(err),
        // The twin socket ends with the connection; a client closing it early only loses DMA messages.
        onClose: () => this.rejectAll(),
      },
      maxRecvFds,
    );
    return peer;
  }

  /** A frame that came through a parser: a reply is judged, a command on the twin socket dropped. */
  onFrame(f: Frame, twin: boolean): void {
    closeFds(f.fds);
    if ((f.header.flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_REPLY) this.onReply(f.header, f.bytes, twin);
  }

  read(address: bigint, count: number): Promise<Uint8Array> {
    return this.command(Command.DMA_READ, address, count, undefined) as Promise<Uint8Array>;
  }

  write(address: bigint, data: Uint8Array): Promise<void> {
    return this.command(Command.DMA_WRITE, address, data.length, data) as Promise<unknown> as Promise<void>;
  }

  /** Fails every outstanding command (the client went away) and closes the twin socket. */
  close(): void {
    this.rejectAll();
    this.twin?.close();
    this.twin = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The oldest command's deadline: past it, everything outstanding fails and the connection ends; else re-armed. */
  private checkDeadline = (): void => {
    this.timer = undefined;
    const oldest = this.pending.oldest();
    if (oldest === undefined || this.owner.closed) return;
    const left = oldest.sentAt + this.timeoutMs - Date.now();
    if (left > 0) {
      this.arm(left);
      return;
    }
    const name = commandName(oldest.command);
    const why = `the client did not answer ${name} within ${this.timeoutMs} ms`;
    const err = new DmaError("Timeout", oldest.address, oldest.count, why);
    for (const p of this.pending.takeAll())
      p.reject(p === oldest ? err : new DmaError("Timeout", p.address, p.count, why));
    this.owner.dmaTimedOut(err);
  };

  private arm(ms: number): void {
    this.timer = setTimeout(this.checkDeadline, ms);
    this.timer.unref();
  }

  private rejectAll(): void {
    for (const p of this.pending.takeAll()) p.reject(new DmaError("Disconnected", 0n, 0, "the client went away"));
  }

  /**
   * Sends DMA_READ (`data` undefined) or DMA_WRITE and resolves with the reply. The commands of one tick collect in the
   * send arena of their socket (the twin socket when negotiated) and leave together in one sendmsg.
   */
  private command(
    command: number,
    address: bigint,
    count: number,
    data: Uint8Array | undefined,
  ): Promise<Uint8Array | undefined> {
    const twin = this.twin;
    if (this.owner.closed || twin?.closed === true)
      return Promise.reject(new DmaError("Disconnected", address, count, "the client went away"));
    const id = this.pending.allocate();
    if (id < 0) return Promise.reject(new DmaError("Disconnected", 0n, 0, "no free message id"));
    return new Promise<Uint8Array | undefined>((resolve, reject) => {
      const sentAt = Date.now();
      const p: PendingCommand = {
        msgId: id,
        command,
        address,
        count,
        twin: twin !== undefined,
        sentAt,
        resolve,
        reject,
      };
      this.pending.add(p);
      if (this.timer === undefined) this.arm(this.timeoutMs);
      if (twin === undefined) this.owner.mainCommandSent();
      else twin.replyDue();
      const out = twin === undefined ? this.main : twin.outbox;
      try {
        this.append(out, id, address, count, data);
      } catch (e) {
        // Nothing half-written stays in the arena (see `append`), and the id is free again.
        this.pending.remove(p);
        reject(e);
      }
    });
  }

  /** Writes the command into `out` (a big DMA_WRITE leaves alone, not copied into the arena). */
  private append(out: Outbox, id: number, address: bigint, count: number, data: Uint8Array | undefined): void {
    const layout = this.layout;
    const arena = out.arena;
    if (data !== undefined && data.length > ARENA_COPY_MAX) {
      const one = new FrameArena(dmaAccessFrameSize(data.length, layout));
      appendDmaWriteRequest(one, id, address, data, 0, layout);
      out.queue(one.take());
      return;
    }
    const mark = arena.length;
    try {
      if (data === undefined) appendDmaReadRequest(arena, id, address, count, 0, layout);
      else appendDmaWriteRequest(arena, id, address, data, 0, layout);
    } catch (e) {
      arena.length = mark;
      throw e;
    }
    out.queued();
  }

  /**
   * A reply to one of our DMA commands, on the socket the command went out on (others are ignored), in this client's
   * layout. A DMA_READ reply that matches its request resolves with a copy of its data without being decoded; anything
   * else is decoded and judged. Every failure rejects with `DmaError("ClientError")` (with the client's errno for an
   * error reply).
   */
  onReply(h: Header, frame: Uint8Array, twin: boolean): void {
    const p = this.pending.match(h.msgId, h.command, twin);
    if (p === undefined) return; // not ours (or not on its socket): ignore
    const { address, count } = p;
    if ((h.flags & HeaderFlags.ERROR) !== 0) {
      const why = `${commandName(p.command)} refused by the client (errno ${h.error})`;
      p.reject(new DmaError("ClientError", address, count, why, h.error));
      return;
    }
    if (p.command === Command.DMA_READ && this.resolveReadInPlace(p, h, frame)) return;
    this.judge(p, frame);
  }

  /** The plain DMA_READ reply (its head echoes the request, `count` data bytes): resolved without decoding. */
  private resolveReadInPlace(p: PendingCommand, h: Header, frame: Uint8Array): boolean {
    const { address, count } = p;
    const layout = this.layout;
    if (h.msgSize !== dmaAccessFrameSize(count, layout)) return false;
    const head = this.head;
    readDmaAccessAt(new DataView(frame.buffer, frame.byteOffset, DMA_FRAME_SIZE), 0, head, layout);
    if (head.count !== count || head.address !== Number(address) || head.address > Number.MAX_SAFE_INTEGER)
      return false;
    // A buffer of its own, as with fd-backed memory (a view would keep the whole received chunk alive); big data in a
    // frame that has a buffer of its own (the parser put it together from several chunks) is not copied.
    const at = HEADER_SIZE + DmaAccessLayout[layout].DATA;
    const own = count > ARENA_COPY_MAX && frame.byteLength === frame.buffer.byteLength;
    p.resolve(own ? frame.subarray(at, at + count) : frame.slice(at, at + count));
    return true;
  }

  /** Any other reply: decoded in this client's layout and compared with the request. */
  private judge(p: PendingCommand, frame: Uint8Array): void {
    const { address, count } = p;
    const name = commandName(p.command);
    const layout = this.layout;
    const payload = frame.subarray(HEADER_SIZE);
    let data: Uint8Array | undefined;
    let matches: boolean;
    try {
      if (p.command === Command.DMA_READ) {
        const m = decodeDmaReadReply(payload, { layout });
        data = m.data;
        matches = m.address === address && m.data.length === count;
      } else {
        const m = decodeDmaWriteReply(payload, { layout });
        // QEMU answers with the bare header; the spec's reply echoes address and count.
        matches = m.bare === true ? layout === "qemu" : m.address === address && m.count === BigInt(count);
      }
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      p.reject(new DmaError("ClientError", address, count, `${name} reply does not decode (${layout} layout): ${why}`));
      return;
    }
    // Bytes of its own: an in-place frame lies in the socket's receive buffer, reused once the chunk is handled.
    if (matches) p.resolve(data?.slice());
    else p.reject(new DmaError("ClientError", address, count, `${name} reply does not match the request`));
  }
}
