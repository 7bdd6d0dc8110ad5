import type { UnixSocket } from "@emu/sys";
import { FrameArena } from "@emu/vfio-user-proto/wire";
import type { TransportStats } from "./stats.js";

/** Frames up to this size are copied into the send arena; bigger ones leave on their own (after what is queued). */
export const ARENA_COPY_MAX = 16384;
/**
 * The arena is sent once it holds this much, even inside a batch: one received chunk of 32-byte REGION_READs asking
 * for up to max_data_xfer_size each could otherwise grow it to gigabytes. Whole frames only, in order.
 */
export const ARENA_FLUSH_AT = 1 << 20;
/**
 * Sending is {@link Outbox.blocked} once this much waits in the socket's own queue (the kernel's buffer is full: the
 * peer is not reading), until that queue is empty again. An endpoint stops handling commands meanwhile, so what one
 * socket keeps queued stays below this + {@link ARENA_FLUSH_AT} + 16 KiB + its largest message.
 */
export const SEND_QUEUE_HIGH = 1 << 20;

/** When what `queue` collected outside a batch leaves: after the current tick (`process.nextTick`) or microtask. */
export type FlushTiming = "tick" | "microtask";

export interface OutboxOptions {
  /** The arena's starting size (default 65536). */
  readonly capacity?: number;
  /** See {@link FlushTiming}; default "tick". */
  readonly later?: FlushTiming;
  /** Counters to add to (shared by the endpoints of one connection). */
  readonly stats?: TransportStats;
}

function partsLength(parts: Uint8Array | readonly Uint8Array[]): number {
  if (parts instanceof Uint8Array) return parts.length;
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/**
 * The send side of one socket: whole messages collected back to back in a {@link FrameArena} and sent in one sendmsg.
 *
 * - A message of up to 16 KiB without fds is copied into the arena. A bigger one, or one with fds, first sends what is
 *   queued, then leaves alone (gathered from its parts, not copied; its fds travel with its own first byte).
 * - Inside a batch (`openBatch`/`closeBatch`: what a received chunk causes) everything waits for the batch's end;
 *   outside one, `send` leaves at once and `queue` at the end of the tick.
 * - The arena leaves as soon as it holds 1 MiB, even inside a batch.
 * - Once 1 MiB waits unsent in the socket's queue, {@link blocked} is true until the queue is empty (`drained`).
 *
 * The zero-allocation `append*` writers of `@emu/vfio-user-proto/wire` write into {@link arena} directly; call
 * {@link sent} or {@link queued} after each.
 */
export class Outbox {
  /** Where frames are collected (write whole frames only, then call `sent` or `queued`). */
  readonly arena: FrameArena;
  private readonly socket: UnixSocket;
  private readonly stats: TransportStats | undefined;
  private readonly later: FlushTiming;
  private batching = false;
  private stuck = false;
  private scheduled = false;
  private readonly flushLater = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(socket: UnixSocket, options: OutboxOptions = {}) {
    this.socket = socket;
    this.arena = new FrameArena(options.capacity ?? 65536);
    this.stats = options.stats;
    this.later = options.later ?? "tick";
  }

  /**
   * The peer is not taking what we send: {@link SEND_QUEUE_HIGH} bytes or more wait in the socket's queue. Set by a
   * send, cleared by {@link drained}. Sends still work (they queue); it tells the reader to stop causing more.
   */
  get blocked(): boolean {
    return this.stuck;
  }

  /** The socket's queue is empty again (its `onDrain`). */
  drained(): void {
    this.stuck = false;
  }

  /** Inside a batch: sends wait for its end. */
  get inBatch(): boolean {
    return this.batching;
  }

  /** Starts a batch; returns whether one was open already (hand it to `closeBatch`). */
  openBatch(): boolean {
    const outer = this.batching;
    this.batching = true;
    return outer;
  }

  /** Ends the batch `openBatch` started: the outermost one sends what was collected. */
  closeBatch(outer: boolean): void {
    this.batching = outer;
    if (!outer) this.flush();
  }

  /**
   * Sends one whole message (its parts gathered): at once, after what is queued, outside a batch; at the batch's end
   * inside one (see the class). Throws what `UnixSocket.send` throws for bad fds; nothing is sent then.
   */
  send(parts: Uint8Array | readonly Uint8Array[], fds?: readonly number[]): void {
    if (this.alone(parts, fds)) return;
    this.sent();
  }

  /** As `send`, but outside a batch the message waits for the end of the tick (with the others queued in it). */
  queue(parts: Uint8Array | readonly Uint8Array[]): void {
    if (this.alone(parts, undefined)) return;
    this.queued();
  }

  /** A frame was written into {@link arena} to leave as `send` says. */
  sent(): void {
    if (this.stats !== undefined) this.stats.messagesSent++;
    if (!this.batching || this.arena.length >= ARENA_FLUSH_AT) this.flush();
  }

  /** A frame was written into {@link arena} to leave as `queue` says. */
  queued(): void {
    if (this.stats !== undefined) this.stats.messagesSent++;
    if (this.arena.length >= ARENA_FLUSH_AT) this.flush();
    else if (!this.scheduled && !this.batching) this.schedule();
  }

  /** Sends what the arena holds (one sendmsg of whole frames). */
  flush(): void {
    const arena = this.arena;
    if (arena.length === 0) return;
    if (this.stats !== undefined) this.stats.sendCalls++;
    const sent = this.socket.sendPrefix(arena.bytes, arena.length); // the socket copies what the kernel leaves
    arena.clear();
    if (!sent) this.checkQueue();
  }

  /** Drops what the arena holds (the connection is lost: nothing may leave any more). */
  discard(): void {
    this.arena.length = 0;
  }

  /** Sends a big message or one with fds on its own (after what is queued), else copies it into the arena. */
  private alone(parts: Uint8Array | readonly Uint8Array[], fds: readonly number[] | undefined): boolean {
    const withFds = fds !== undefined && fds.length > 0;
    if (withFds || partsLength(parts) > ARENA_COPY_MAX) {
      this.flush();
      const stats = this.stats;
      if (stats !== undefined) {
        stats.messagesSent++;
        stats.sendCalls++;
      }
      if (!(withFds ? this.socket.send(parts, fds) : this.socket.send(parts))) this.checkQueue();
      return true;
    }
    if (parts instanceof Uint8Array) this.arena.append(parts);
    else for (const p of parts) this.arena.append(p);
    return false;
  }

  /** A send left bytes queued (or the socket is closed): blocked once the queue reaches the mark. */
  private checkQueue(): void {
    if (this.socket.bufferedAmount >= SEND_QUEUE_HIGH) this.stuck = true;
  }

  private schedule(): void {
    this.scheduled = true;
    // After the current tick: the messages a caller sends from several promise callbacks share the sendmsg.
    if (this.later === "tick") process.nextTick(this.flushLater);
    else queueMicrotask(this.flushLater);
  }
}
