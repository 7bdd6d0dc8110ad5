import { closeFds } from "@emu/sys";
import { Command, decodeBody, encodeMessage, type Frame, HeaderFlags, type Message } from "@emu/vfio-user-proto";
import { appendDmaReadReplyHead, FrameArena } from "@emu/vfio-user-proto/wire";
import type { DirtyLog } from "./dirty-log.js";
import type { CommandChannel } from "./internal/connection.js";
import type { DmaTable } from "./internal/dma-table.js";

/** A memory access the server made with a DMA_READ/DMA_WRITE message (the `dma` event). */
export interface ServerDmaAccess {
  readonly op: "read" | "write";
  readonly address: bigint;
  readonly count: bigint;
  /** Set when we refused it (EFAULT outside what we mapped, EPERM against the mapping's access). */
  readonly errno?: number;
  /** It came on the twin socket. */
  readonly twin: boolean;
}

/** Who hears of the accesses served (the client's `dma` event): `wanted()` false spares building them. */
export interface DmaAccessObserver {
  wanted(): boolean;
  seen(access: ServerDmaAccess): void;
}

/** Linux errno numbers this client puts in its error replies to server commands. */
const EPERM = 1;
const EFAULT = 14;
const EINVAL = 22;

/**
 * Serves the server's commands — DMA_READ and DMA_WRITE of our memory, on the main or the twin socket — from the DMA
 * table: refused with EINVAL above our `max_data_xfer_size`, EFAULT outside what we mapped, EPERM against a mapping's
 * access. DMA_WRITEs are reported to the dirty log; every access to the observer.
 */
export class DmaService {
  private readonly table: DmaTable;
  private readonly maxXfer: bigint;
  private readonly dirty: DirtyLog;
  private readonly observer: DmaAccessObserver;
  /** Where the head of each DMA_READ reply is written (sent at once: the channel copies or sends it). */
  private readonly head = new FrameArena(64);

  constructor(table: DmaTable, maxXfer: number, dirty: DirtyLog, observer: DmaAccessObserver) {
    this.table = table;
    this.maxXfer = BigInt(maxXfer);
    this.dirty = dirty;
    this.observer = observer;
  }

  /** A command from the server (its fds are closed: DMA commands carry none). */
  serve(frame: Frame, channel: CommandChannel): void {
    closeFds(frame.fds);
    const { msgId, command, flags } = frame.header;
    const noReply = (flags & HeaderFlags.NO_REPLY) !== 0;
    const fail = (errno: number): void => {
      if (!noReply) channel.send(encodeMessage({ kind: "ErrorReply", command, errno }, { msgId }));
    };
    if (command !== Command.DMA_READ && command !== Command.DMA_WRITE) {
      fail(EINVAL);
      return;
    }
    let m: Message;
    try {
      m = decodeBody(frame.header, frame.payload);
    } catch {
      fail(EINVAL);
      return;
    }
    if (m.kind !== "DmaReadRequest" && m.kind !== "DmaWriteRequest") {
      fail(EINVAL);
      return;
    }
    const read = m.kind === "DmaReadRequest";
    const address = m.address;
    const count = m.kind === "DmaReadRequest" ? m.count : BigInt(m.data.length);
    const entry = count > this.maxXfer ? undefined : this.table.lookup(address, count);
    let errno = 0;
    if (count > this.maxXfer) errno = EINVAL;
    else if (entry === undefined) errno = EFAULT;
    else if (read ? !entry.readable : !entry.writable) errno = EPERM;
    if (this.observer.wanted()) {
      const op = read ? "read" : "write";
      const twin = channel.twin;
      this.observer.seen(errno === 0 ? { op, address, count, twin } : { op, address, count, errno, twin });
    }
    if (errno !== 0 || entry === undefined) {
      fail(errno);
      return;
    }
    const at = Number(address - entry.iova);
    if (m.kind === "DmaReadRequest") {
      if (!noReply) this.sendReadReply(channel, msgId, address, entry.bytes.subarray(at, at + Number(count)));
      return;
    }
    entry.bytes.set(m.data, at);
    this.dirty.noteMessageWrite(address, count);
    if (!noReply) channel.send(encodeMessage({ kind: "DmaWriteReply", address, count }, { msgId }));
  }

  /**
   * The DMA_READ reply carrying `data` (a view of our memory): its head written by proto's writer, the data gathered
   * into the same sendmsg straight from our memory (the channel copies small messages into its batch, once).
   */
  private sendReadReply(channel: CommandChannel, msgId: number, address: bigint, data: Uint8Array): void {
    const head = this.head;
    appendDmaReadReplyHead(head, msgId, address, data.length);
    channel.send(data.length === 0 ? head.take() : [head.take(), data]);
  }
}
