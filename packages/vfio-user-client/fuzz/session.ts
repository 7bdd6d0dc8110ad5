// One session of a hostile server against the client: the client (in the process under test) connects and runs its
// workload; every request it sends is answered by a policy (fuzz/answers.ts), unsolicited DMA_READ/DMA_WRITE commands
// come in between (into what it mapped, or not; mutated, with fds), on the main or the twin socket; eventfds it hands
// over are signalled. The session ends when the budget is spent, the client goes, or nothing happens any more —
// closed, sometimes in the middle of a message. The oracle, beyond crash and hang: the client answers each of our
// commands once, in order; once we close, its session ends within the deadline (every pending request failed, its
// fds all released: the subject checks those and reports).
import { FuzzFailure, mutate, type Rng, type SessionContext, splitLengths, splitStyle } from "@emu/fuzz-kit";
import { dmaCommand, FramePeer, Mirror, type MirroredHeader, makeFds } from "@emu/fuzz-kit/vfio-user";
import { closeFds, dupFd, EventFd, UnixSocket } from "@emu/sys";
import { Command, decodeMessage, encodeMessage, type Frame, HeaderFlags, type Message } from "@emu/vfio-user-proto";
import { type Answer, answer } from "./answers.js";
import type { SessionSummary } from "./workload.js";

/** No frame for this long: the client waits for us (flush what is held back, or end). */
const IDLE_MS = 2;
const MAX_IDLE = 5;

/**
 * One socket we send on (main or twin): what the client's framing makes of it, the replies it owes us, and whole
 * frames without fds held back to leave together in one sendmsg (at the end of the received chunk that caused them),
 * as a server's replies do — a sendmsg per frame would cost a wake-up of the client each.
 */
class Channel {
  readonly peer: FramePeer;
  readonly mirror = new Mirror(64 * 1048576);
  readonly owed: { msgId: number; command: number }[] = [];
  private held: Uint8Array[] = [];

  constructor(socket: UnixSocket, onFrame: (f: Frame, fds: number[]) => void, afterChunk: () => void) {
    this.peer = new FramePeer(socket, onFrame, { afterChunk });
  }

  hold(bytes: Uint8Array): void {
    this.held.push(bytes);
  }

  /** Sends what is held, then `piece` (with `fds`) on its own. */
  sendAlone(piece: Uint8Array, fds: number[] | undefined): void {
    this.flush();
    this.peer.socket.send(piece, fds);
  }

  flush(): void {
    if (this.held.length === 0 || this.peer.closed) return;
    const held = this.held;
    this.held = [];
    // One sendmsg takes at most IOV_MAX (1024) buffers: a long burst of held answers goes in several.
    for (let i = 0; i < held.length; i += 512) this.peer.socket.send(held.slice(i, i + 512));
  }
}

export class HostileServer {
  private readonly ctx: SessionContext;
  private readonly rng: Rng;
  /** Choices made as frames arrive: a stream of their own. */
  private readonly live: Rng;
  private main: Channel | undefined;
  private twin: Channel | undefined;
  private sent = 0;
  private id = 0x8000;
  private readonly later: Answer[] = [];
  private readonly ranges: { address: bigint; size: bigint }[] = [];
  private failure: FuzzFailure | undefined;
  /** The share of this session's answers that are not correct. */
  private readonly hostility: number;

  constructor(ctx: SessionContext) {
    this.ctx = ctx;
    this.rng = ctx.rng;
    this.live = ctx.rng.fork();
    this.hostility = this.rng.pick([0.005, 0.02, 0.08, 0.25]);
  }

  /** Plays the session on the socket the client connected with; `result` is the client's session. */
  async play(sock: UnixSocket, result: Promise<SessionSummary>): Promise<void> {
    const main = new Channel(
      sock,
      (f, fds) => this.onFrame(this.main as Channel, f, fds),
      () => this.flushAll(),
    );
    this.main = main;
    let idle = 0;
    let quiet = performance.now();
    try {
      while (this.sent < this.ctx.budget && !main.peer.closed && idle < MAX_IDLE) {
        if (await main.peer.wait(IDLE_MS)) {
          idle = 0;
          quiet = performance.now();
          this.check();
          continue;
        }
        if (this.owedCount() > 0 && performance.now() - quiet > this.ctx.hangMs)
          throw new FuzzFailure(
            "hang",
            `the client owes ${this.owedCount()} replies to our commands and sends nothing`,
          );
        idle++;
        this.flushLater();
        if (this.rng.chance(0.5)) this.command();
        this.flushAll();
      }
      await this.end(main);
    } finally {
      main.peer.close();
      this.twin?.peer.close();
      for (const a of this.later.splice(0)) closeFds(a.fds);
    }
    await this.ended(result);
    this.check();
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private find(message: string): void {
    this.failure ??= new FuzzFailure("finding", message);
  }

  private owedCount(): number {
    return (this.main?.owed.length ?? 0) + (this.twin?.owed.length ?? 0);
  }

  /** After our close the client's session must end within the deadline. */
  private async ended(result: Promise<SessionSummary>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new FuzzFailure("hang", `the client's session did not end within ${this.ctx.hangMs} ms of the close`)),
        this.ctx.hangMs,
      );
    });
    try {
      const s = await Promise.race([result, late]);
      for (const [reason, n] of Object.entries(s.rejected)) this.ctx.tally(`client rejection: ${reason}`, n);
      this.ctx.tally("client ops", s.ops);
    } finally {
      clearTimeout(timer);
    }
  }

  private async end(main: Channel): Promise<void> {
    if (main.peer.closed) {
      this.ctx.tally("end: the client closed");
      return;
    }
    const how = this.rng.weighted([
      [85, "close"],
      [15, "partial"],
    ] as const);
    this.ctx.tally(`end: ${how}`);
    if (how === "partial") {
      const f = encodeMessage({ kind: "DmaReadRequest", address: 0n, count: 16n }, { msgId: this.nextId() });
      this.send(main, [f.subarray(0, this.rng.range(1, f.length - 1))], []);
    }
    main.flush();
  }

  private nextId(): number {
    this.id = (this.id + 1) & 0xffff;
    return this.id;
  }

  /** Sends frames on a channel (fds with the first), split as the dice say, through its mirror. */
  private send(ch: Channel, frames: readonly Uint8Array[], fds: number[]): void {
    try {
      for (const [i, bytes] of frames.entries()) {
        if (ch.peer.closed || ch.mirror.failed) break;
        this.sent++;
        this.ctx.sent();
        const lengths =
          ch.mirror.owed > 0 ? [bytes.length] : splitLengths(this.live, bytes.length, splitStyle(this.live));
        const withFds = i === 0 && fds.length > 0;
        if (lengths.length === 1 && !withFds) ch.hold(bytes);
        let at = 0;
        for (const [j, n] of lengths.entries()) {
          const piece = bytes.subarray(at, at + n);
          if (lengths.length > 1 || withFds) ch.sendAlone(piece, withFds && j === 0 ? fds : undefined);
          ch.mirror.feed(piece, (h) => this.received(ch, h));
          at += n;
        }
      }
    } finally {
      closeFds(fds);
    }
  }

  /** The client now has this frame of ours whole: a command without NO_REPLY is owed a reply. */
  private received(ch: Channel, h: MirroredHeader): void {
    if ((h.flags & HeaderFlags.TYPE_MASK) !== HeaderFlags.TYPE_REPLY && (h.flags & HeaderFlags.NO_REPLY) === 0)
      ch.owed.push({ msgId: h.msgId, command: h.command });
  }

  /** An unsolicited DMA_READ/DMA_WRITE, on the twin socket when there is one; mutated or with fds sometimes. */
  private command(): void {
    const rng = this.live;
    const ch = this.twin !== undefined && rng.chance(0.9) ? this.twin : (this.main as Channel);
    let f = encodeMessage(dmaCommand(rng, this.ranges, this.hostility), {
      msgId: this.nextId(),
      flags: rng.chance(0.05) ? HeaderFlags.NO_REPLY : 0,
    });
    if (rng.chance(0.1)) {
      f = mutate(rng, f, { keep: 4 });
      if (f.length >= 16) new DataView(f.buffer).setUint32(4, f.length, true);
      else return;
    }
    this.ctx.tally("DMA command");
    this.send(ch, [f], rng.chance(0.03) ? makeFds(rng, rng.range(1, 3)) : []);
  }

  private flushAll(): void {
    this.main?.flush();
    this.twin?.flush();
  }

  private flushLater(): void {
    for (const a of this.later.splice(0)) this.send(this.main as Channel, a.frames, a.fds);
  }

  private onFrame(ch: Channel, f: Frame, fds: number[]): void {
    const type = f.header.flags & HeaderFlags.TYPE_MASK;
    if (type === HeaderFlags.TYPE_REPLY) {
      this.onReply(ch, f);
      return;
    }
    if (ch === this.twin) {
      this.find(`the client sent a command (${f.header.command}) on the twin socket`);
      return;
    }
    const d = decodeMessage(f);
    const req = d.ok ? d.value.message : undefined;
    if (!d.ok) this.find(`the client sent a request that does not decode: ${d.error.message}`);
    this.note(req, fds);
    if (this.live.chance(0.08)) this.command();
    const a = answer(this.live, f.header, req, this.hostility);
    this.ctx.tally(`answer: ${a.policy}`);
    if (a.policy === "later") {
      this.later.push(a);
      return;
    }
    if (a.twin) this.offerTwin(a);
    this.send(ch, a.frames, a.fds);
    if (this.live.chance(0.3)) this.flushLater();
  }

  /** What a request tells us: DMA ranges to aim at, eventfds to signal. */
  private note(req: Message | undefined, fds: number[]): void {
    if (req?.kind === "DmaMapRequest") this.ranges.push({ address: req.address, size: req.size });
    if (req?.kind === "DeviceSetIrqsRequest" && this.live.chance(0.5)) {
      for (const fd of fds) {
        try {
          const e = EventFd.adopt(dupFd(fd));
          try {
            e.signal();
          } finally {
            e.close();
          }
        } catch {
          // not an eventfd (or its counter is full): nothing to signal
        }
      }
    }
  }

  /** The VERSION reply passes one end of a socket pair; the other is our twin channel. */
  private offerTwin(a: Answer): void {
    const [ours, theirs] = UnixSocket.pair();
    a.fds.unshift(dupFd(theirs.fd));
    theirs.close();
    this.twin = new Channel(
      ours,
      (f, fds) => this.onFrame(this.twin as Channel, f, fds),
      () => this.flushAll(),
    );
  }

  private onReply(ch: Channel, f: Frame): void {
    const want = ch.owed.shift();
    const h = f.header;
    if (want === undefined) {
      this.find(`the client sent a reply (command ${h.command}, msg_id ${h.msgId}) to nothing`);
      return;
    }
    if (want.msgId !== h.msgId || want.command !== h.command) {
      this.find(
        `the client's replies are out of order: expected msg_id ${want.msgId} command ${want.command}, got ${h.msgId} ${h.command}`,
      );
      return;
    }
    if (h.command !== Command.DMA_READ && h.command !== Command.DMA_WRITE && (h.flags & HeaderFlags.ERROR) === 0)
      this.find(`the client answered command ${h.command} other than with an error`);
  }
}
