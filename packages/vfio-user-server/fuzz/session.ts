// One hostile client session against the server: connect, (usually) VERSION, cases until the budget is spent, then an
// end — drained, closed with replies owed, or closed in the middle of a message. The oracle, beyond crash and hang:
// every frame the server received whole (by its own framing, mirrored here) that is a command without NO_REPLY gets
// exactly one reply, in order, with its msg_id and command, and every reply decodes; a server that must close (its
// framing broke) closes; a new client is never refused as busy once the previous one has gone.
import { FuzzFailure, type Rng, type SessionContext, splitLengths, splitStyle } from "@emu/fuzz-kit";
import { FramePeer, Mirror, type MirroredHeader, type RequestState } from "@emu/fuzz-kit/vfio-user";
import { closeFds, UnixSocket } from "@emu/sys";
import { Command, decodeMessage, type Frame, HeaderFlags } from "@emu/vfio-user-proto";
import { buildCase, CASE_WEIGHTS, type Outgoing } from "./cases.js";
import { answerDma, type DmaAnswer } from "./dma-replies.js";

/** The server's hard frame limit (beyond it the stream is broken and the connection closed). */
const HARD_MAX = 16 * 1048576;
/** Replies owed before we wait for them; bytes unsent before we wait for the server to read. */
const WINDOW = 64;
const MAX_BUFFERED = 256 * 1024;
/** A frame still owed more than this is not completed: the session ends there (a peer that stops mid-message). */
const MAX_OWED = 65536;
const EBUSY = 16;

interface Owed {
  readonly msgId: number;
  readonly command: number;
}

export class ServerSession {
  private readonly ctx: SessionContext;
  private readonly rng: Rng;
  /** DMA answers come as the server's commands arrive: their choices have a stream of their own. */
  private readonly dmaRng: Rng;
  private readonly path: string;
  private peer: FramePeer | undefined;
  private twin: FramePeer | undefined;
  private readonly mirror = new Mirror(HARD_MAX);
  private owed: Owed[] = [];
  private owedHead = 0;
  private id = 0;
  private sent = 0;
  private replies = 0;
  /** The first frame the server received whole: the one an Admission refusal (EBUSY) answers. */
  private first: MirroredHeader | undefined;
  private readonly state: RequestState = { mapped: [] };
  /** Answers to DMA commands waiting for the frame we are sending on the main socket to be complete. */
  private readonly answers: DmaAnswer[] = [];
  /** Inside `play1`: between the pieces of our frames nothing else may be sent on the main socket. */
  private sending = false;
  /** DMA_MAP/DMA_UNMAP requests sent, by msg_id: their range joins or leaves `state.mapped` once the server agrees. */
  private readonly dmaRequests = new Map<number, { map: boolean; address: bigint; size: bigint }>();
  /** A broken promise seen in a callback, thrown at the next step. */
  private failure: FuzzFailure | undefined;

  constructor(ctx: SessionContext, path: string) {
    this.ctx = ctx;
    this.rng = ctx.rng;
    this.dmaRng = ctx.rng.fork();
    this.path = path;
    this.id = this.rng.int(0x10000);
  }

  async play(): Promise<void> {
    const ctx = this.ctx;
    let peer: FramePeer;
    try {
      peer = await FramePeer.connect(this.path, (f, fds) => this.onMain(f, fds), ctx.hangMs);
    } catch (e) {
      throw new FuzzFailure("hang", `cannot connect to the server: ${(e as Error).message}`);
    }
    this.peer = peer;
    try {
      await this.cases(peer);
      await this.end(peer);
      this.check();
    } finally {
      peer.close();
      this.twin?.close();
      for (const a of this.answers.splice(0)) closeFds(a.fds);
    }
  }

  private async cases(peer: FramePeer): Promise<void> {
    const { ctx, rng } = this;
    if (rng.chance(0.92)) await this.play1("open", buildCase(rng, "version", this.state, this));
    else ctx.tally("session: no VERSION first");
    while (this.sent < ctx.budget && !peer.closed && !this.mirror.failed) {
      await this.window(peer);
      const kind = rng.weighted(CASE_WEIGHTS);
      ctx.tally(`case: ${kind}`);
      const built = buildCase(rng, kind, this.state, this);
      await this.play1(kind, built);
      this.check();
      if (this.mirror.owed > MAX_OWED) break;
    }
  }

  next(): number {
    this.id = (this.id + 1) & 0xffff;
    return this.id;
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private find(message: string): void {
    this.failure ??= new FuzzFailure("finding", message);
  }

  /** Sends a case's frames: each alone when it carries fds, else together; split as the dice say. */
  private async play1(kind: string, frames: Outgoing[]): Promise<void> {
    const peer = this.peer as FramePeer;
    this.ctx.note(() => `${kind} (${frames.length} frame(s), first ${hex(frames[0]?.bytes)})`);
    const style = splitStyle(this.rng);
    const stall = this.rng.chance(0.02);
    const groups = frames.some((f) => f.fds.length > 0) ? frames : [{ bytes: concat(frames), fds: [] }];
    this.sent += frames.length;
    this.ctx.sent(frames.length);
    for (const f of frames) this.noteDma(f.bytes);
    this.sending = true;
    try {
      for (const g of groups) {
        const lengths = stall
          ? splitLengths(this.rng, g.bytes.length, "random")
          : splitLengths(this.rng, g.bytes.length, style);
        const spaced = style === "bytes" || (style !== "whole" && this.rng.chance(0.3));
        if (stall && lengths.length > 1) {
          // A peer that stops in the middle of a message for a while, then goes on.
          await this.send(peer, g.bytes.subarray(0, lengths[0]), g.fds, [lengths[0] as number], false);
          await new Promise((r) => setTimeout(r, this.rng.chance(0.05) ? this.rng.range(2, 20) : this.rng.range(0, 1)));
          await this.send(peer, g.bytes.subarray(lengths[0]), [], lengths.slice(1), spaced);
        } else await this.send(peer, g.bytes, g.fds, lengths, spaced);
        if (peer.closed || this.mirror.failed) break;
      }
    } finally {
      this.sending = false;
      for (const g of frames) closeFds(g.fds);
    }
    this.flushAnswers();
  }

  /** Remembers the range of a well-formed DMA_MAP/DMA_UNMAP we send (address @32, size @40). */
  private noteDma(b: Uint8Array): void {
    const command = (b[2] ?? 0) | ((b[3] ?? 0) << 8);
    if ((command !== Command.DMA_MAP && command !== Command.DMA_UNMAP) || b.length < 48) return;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (this.dmaRequests.size > 4096) this.dmaRequests.clear();
    this.dmaRequests.set(v.getUint16(0, true), {
      map: command === Command.DMA_MAP,
      address: v.getBigUint64(32, true),
      size: v.getBigUint64(40, true),
    });
  }

  /** The server answered a DMA_MAP/DMA_UNMAP of ours: the session's view of the table follows it. */
  private dmaAnswered(msgId: number, ok: boolean): void {
    const r = this.dmaRequests.get(msgId);
    if (r === undefined) return;
    this.dmaRequests.delete(msgId);
    if (!ok) return;
    const mapped = this.state.mapped;
    if (r.map) {
      mapped.push({ address: r.address, size: r.size });
      if (mapped.length > 64) mapped.shift();
    } else {
      const i = mapped.findIndex((m) => m.address === r.address && m.size === r.size);
      if (i >= 0) mapped.splice(i, 1);
    }
  }

  /** A DMA command came: its answer goes on the socket it came on, on the main one once no frame of ours is cut. */
  private answer(f: Frame, twin: boolean): void {
    const a = answerDma(this.dmaRng, f, this.state, (k) => this.ctx.tally(k));
    if (a === undefined) return;
    if (twin) {
      const t = this.twin as FramePeer;
      try {
        for (const [i, b] of a.frames.entries()) t.socket.send(b, i === 0 && a.fds.length > 0 ? a.fds : undefined);
      } finally {
        closeFds(a.fds);
      }
      return;
    }
    this.answers.push(a);
    this.flushAnswers();
  }

  private flushAnswers(): void {
    const peer = this.peer as FramePeer;
    if (this.sending || this.mirror.owed > 0) return;
    for (const a of this.answers.splice(0)) {
      try {
        for (const [i, b] of a.frames.entries()) {
          if (peer.closed || this.mirror.failed) break;
          peer.socket.send(b, i === 0 && a.fds.length > 0 ? a.fds : undefined);
          this.mirror.feed(b, (h) => this.received(h));
        }
      } finally {
        closeFds(a.fds);
      }
    }
  }

  private async send(
    peer: FramePeer,
    bytes: Uint8Array,
    fds: number[],
    lengths: number[],
    spaced: boolean,
  ): Promise<void> {
    if (this.mirror.failed) return;
    await peer.send(bytes, fds, lengths, spaced, (piece) => this.mirror.feed(piece, (h) => this.received(h)));
  }

  /** The server now has this frame whole: a command without NO_REPLY is owed a reply. */
  private received(h: MirroredHeader): void {
    this.first ??= h;
    const type = h.flags & HeaderFlags.TYPE_MASK;
    if (type !== HeaderFlags.TYPE_REPLY && (h.flags & HeaderFlags.NO_REPLY) === 0)
      this.owed.push({ msgId: h.msgId, command: h.command });
  }

  private get owedCount(): number {
    return this.owed.length - this.owedHead;
  }

  /** Waits while too many replies are owed or too much is unsent. */
  private async window(peer: FramePeer): Promise<void> {
    while (!peer.closed && (this.owedCount >= WINDOW || peer.socket.bufferedAmount > MAX_BUFFERED)) {
      await peer.progress(this.ctx.hangMs, `${this.owedCount} replies are owed (window)`);
      this.check();
    }
  }

  private async end(peer: FramePeer): Promise<void> {
    const rng = this.rng;
    if (this.mirror.failed) {
      this.ctx.tally("end: framing broken, server must close");
      while (!peer.closed) await peer.progress(this.ctx.hangMs, "the server should close a stream whose framing broke");
    } else if (peer.closed) this.ctx.tally("end: closed by the server");
    else if (this.mirror.owed > 0) this.ctx.tally("end: we stop mid-message and close");
    else {
      const how = rng.weighted([
        [60, "drain"],
        [25, "close"],
        [15, "partial"],
      ] as const);
      this.ctx.tally(`end: ${how}`);
      if (how === "drain") {
        while (!peer.closed && this.owedCount > 0)
          await peer.progress(this.ctx.hangMs, `draining: ${this.owedCount} replies owed`);
      } else if (how === "partial") {
        const f = buildCase(rng, "valid", this.state, this)[0] as Outgoing;
        const cut = rng.range(1, Math.max(1, f.bytes.length - 1));
        await this.send(peer, f.bytes.subarray(0, cut), f.fds, [cut], false);
        closeFds(f.fds);
      }
    }
    this.ctx.tally("replies", this.replies);
  }

  private onMain(f: Frame, fds: number[]): void {
    const type = f.header.flags & HeaderFlags.TYPE_MASK;
    if (type === HeaderFlags.TYPE_COMMAND) this.answer(f, false);
    else if (type === HeaderFlags.TYPE_REPLY) this.onReply(f, fds);
    else this.find(`the server sent a frame of message type ${type} (command ${f.header.command})`);
  }

  private onReply(f: Frame, fds: number[]): void {
    const h = f.header;
    const want = this.owed[this.owedHead];
    this.replies++;
    if (want === undefined) {
      this.find(`a reply (command ${h.command}, msg_id ${h.msgId}) to nothing we sent`);
      return;
    }
    this.owedHead++;
    if (this.owedHead > 1024 && this.owedHead * 2 > this.owed.length) {
      this.owed = this.owed.slice(this.owedHead);
      this.owedHead = 0;
    }
    if (want.msgId !== h.msgId || want.command !== h.command) {
      this.find(
        `reply out of order: expected msg_id ${want.msgId} command ${want.command}, got msg_id ${h.msgId} command ${h.command}`,
      );
      return;
    }
    const first = this.first;
    if (first?.msgId === h.msgId && first.command === h.command && this.replies === 1 && h.error === EBUSY) {
      this.find("the first request of a session was refused as busy: the previous client was not let go");
      return;
    }
    if (h.command === Command.DMA_MAP || h.command === Command.DMA_UNMAP)
      this.dmaAnswered(h.msgId, (h.flags & HeaderFlags.ERROR) === 0);
    const d = decodeMessage(f);
    if (!d.ok) {
      this.find(`a reply does not decode: ${d.error.message} (${hex(f.bytes)})`);
      return;
    }
    const m = d.value.message;
    if (m.kind === "VersionReply" && m.capabilities.twinSocket?.supported === true && this.twin === undefined) {
      const i = m.capabilities.twinSocket.fdIndex ?? 0;
      const fd = fds[i];
      if (fd === undefined) {
        this.find("the VERSION reply names a twin socket it did not pass");
        return;
      }
      fds.splice(i, 1);
      this.twin = new FramePeer(UnixSocket.adopt(fd), (tf) => this.onTwin(tf));
    }
    if (m.kind === "ErrorReply" && h.command === Command.VERSION) this.ctx.tally("VERSION refused");
  }

  private onTwin(f: Frame): void {
    const type = f.header.flags & HeaderFlags.TYPE_MASK;
    if (type === HeaderFlags.TYPE_COMMAND) this.answer(f, true);
    else this.find(`the server sent a frame of message type ${type} on the twin socket`);
  }
}

function concat(frames: readonly Outgoing[]): Uint8Array {
  if (frames.length === 1) return (frames[0] as Outgoing).bytes;
  const out = new Uint8Array(frames.reduce((n, f) => n + f.bytes.length, 0));
  let at = 0;
  for (const f of frames) {
    out.set(f.bytes, at);
    at += f.bytes.length;
  }
  return out;
}

const hex = (b: Uint8Array | undefined): string =>
  b === undefined ? "-" : Buffer.from(b.subarray(0, 48)).toString("hex") + (b.length > 48 ? "…" : "");
