/**
 * virtchnl over the admin queue: a request is one ATQ descriptor (opcode 0x0801, the virtchnl opcode in cookie_high,
 * flags SI | BUF | RD (| LB) as `iavf_aq_send_msg_to_pf` sets them, sent without waiting for ATQ completion), its
 * reply the next ARQ message carrying the same virtchnl opcode; EVENT messages and replies nobody waits for are handed
 * to listeners and kept for `next()`. One request at a time, as the Linux driver's `current_op`.
 */
import {
  AQ_LARGE_BUF,
  type AqDescriptor,
  AqFlag,
  AqOpcode,
  decodeVirtchnl,
  type PfEvent,
  VirtchnlOp,
  type VirtchnlReply,
  VirtchnlStatus,
  virtchnlOpName,
  virtchnlStatusName,
} from "@emu/iavf-common";
import type { AdminQueue, ArqMessage } from "./adminq.js";
import { IavfClientError } from "./errors.js";
import { delay } from "./internal/delay.js";

/** A virtchnl message the PF sent (a reply or an event), with the descriptors around it. */
export interface VirtchnlResult {
  /** The virtchnl opcode (the ARQ descriptor's cookie_high). */
  readonly opcode: number;
  /** The virtchnl status (cookie_low, signed); 0 is success. */
  readonly status: number;
  /** The message bytes (the first `datalen` bytes of the ARQ buffer). */
  readonly payload: Uint8Array;
  /** The ARQ descriptor as the device wrote it back. */
  readonly descriptor: AqDescriptor;
  /** For a reply to `call`: the request's ATQ descriptor, if the device had written it back (DD) by then. */
  readonly atq?: AqDescriptor;
}

/** How replies are noticed: the mailbox interrupt (vector 0), or polling the ARQ. */
export type MailboxWait = "interrupt" | "poll";

export interface CallOptions {
  /** Default: the mailbox's `replyTimeoutMs` (2000 ms, DPDK's 200 × 10 ms). */
  readonly timeoutMs?: number;
}

type Listener = (m: VirtchnlResult) => void;

interface Pending {
  readonly opcode: number;
  readonly slot: number;
  resolve: (r: VirtchnlResult) => void;
  reject: (e: unknown) => void;
}

/** Unclaimed messages kept for `next()` (older ones are dropped first). */
const BACKLOG = 128;
/** Poll mode: a full ARQ service (ARQH read) at least this often while a request waits, whatever DD says. */
const POLL_FULL_SERVICE_MS = 10;
/** Interrupt mode: the ARQ is serviced this often while a request waits, in case an interrupt was lost. */
const INTERRUPT_BACKSTOP_MS = 20;

export class Mailbox {
  /**
   * How replies are noticed now: the driver polls while vector 0 is not armed (bring-up before the misc interrupt is
   * enabled, a reset) and waits for the interrupt otherwise.
   */
  wait: MailboxWait;
  readonly replyTimeoutMs: number;
  private pending: Pending | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private servicing: Promise<void> | undefined;
  private again = false;
  private readonly listeners = new Set<Listener>();
  private readonly backlog: VirtchnlResult[] = [];
  private readonly waiters = new Set<{ match: (m: VirtchnlResult) => boolean; take: Listener }>();
  private closed = false;
  /** Counters: requests sent, replies matched, events and unclaimed replies received. */
  readonly counters = { requests: 0, replies: 0, events: 0, unclaimed: 0 };

  constructor(
    readonly adminq: AdminQueue,
    options: { readonly wait?: MailboxWait; readonly replyTimeoutMs?: number } = {},
  ) {
    this.wait = options.wait ?? "poll";
    this.replyTimeoutMs = options.replyTimeoutMs ?? 2000;
  }

  /** Every message that is not the reply to the request in flight (events, late or stray replies). */
  onMessage(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Sends a virtchnl request and resolves with the PF's reply (whatever its status: see {@link request} for the
   * checked form). Rejects with `Timeout`, `AdminQueue` (the device refused the descriptor), `Reset` or `Closed`.
   */
  call(opcode: number, payload: Uint8Array = new Uint8Array(0), options: CallOptions = {}): Promise<VirtchnlResult> {
    return this.serialized(() => this.callNow(opcode, payload, options.timeoutMs ?? this.replyTimeoutMs));
  }

  /** Sends a virtchnl message that has no reply (RESET_VF). Resolves once ATQT was written. */
  send(opcode: number, payload: Uint8Array = new Uint8Array(0)): Promise<number> {
    return this.serialized(() => this.adminq.post(virtchnlCommand(opcode, payload.length), payload));
  }

  /**
   * `call`, then checks the reply: a non-zero status rejects with `Status`, a payload that does not decode as the
   * opcode's reply with `BadReply`. Resolves with the decoded reply.
   */
  async request(opcode: number, payload?: Uint8Array, options?: CallOptions): Promise<VirtchnlReply> {
    const r = await this.call(opcode, payload, options);
    if (r.status !== VirtchnlStatus.SUCCESS) {
      throw new IavfClientError(
        "Status",
        `${virtchnlOpName(opcode)}: the PF answered ${virtchnlStatusName(r.status)} (${r.status})`,
        { opcode, status: r.status },
      );
    }
    const d = decodeVirtchnl(opcode, r.payload, "reply");
    if (!d.ok || d.value.kind === "Unknown") {
      const why = d.ok ? "no codec" : d.error.message;
      throw new IavfClientError("BadReply", `${virtchnlOpName(opcode)}: reply of ${r.payload.length} bytes: ${why}`, {
        opcode,
        cause: d.ok ? undefined : d.error,
      });
    }
    return d.value as VirtchnlReply;
  }

  /**
   * The next unclaimed message that `match` accepts (from those kept, else the next to come): events and replies
   * nobody waited for. Rejects with `Timeout` after `timeoutMs`.
   */
  next(match: (m: VirtchnlResult) => boolean = () => true, timeoutMs = this.replyTimeoutMs): Promise<VirtchnlResult> {
    const i = this.backlog.findIndex(match);
    if (i >= 0) return Promise.resolve(this.backlog.splice(i, 1)[0] as VirtchnlResult);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        take: (m: VirtchnlResult) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new IavfClientError("Timeout", `no matching virtchnl message in ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.waiters.add(waiter);
      if (this.wait === "poll") this.pollUntil(() => !this.waiters.has(waiter));
    });
  }

  /** The next EVENT (decoded), from those kept or to come. */
  async nextEvent(timeoutMs?: number): Promise<PfEvent> {
    const m = await this.next((r) => r.opcode === VirtchnlOp.EVENT, timeoutMs);
    const d = decodeVirtchnl(VirtchnlOp.EVENT, m.payload, "reply");
    if (!d.ok || d.value.kind !== "Event") {
      throw new IavfClientError("BadReply", `EVENT of ${m.payload.length} bytes does not decode`, {
        opcode: VirtchnlOp.EVENT,
      });
    }
    return d.value.event;
  }

  /** Drops what was kept for `next()`. */
  clearBacklog(): void {
    this.backlog.length = 0;
  }

  /**
   * Takes every message the PF posted (single flight: a call while one runs makes it run once more) and hands each
   * to the request in flight, a `next()` waiter or the listeners.
   */
  service(): Promise<void> {
    if (this.servicing) {
      this.again = true;
      return this.servicing;
    }
    this.servicing = (async () => {
      try {
        do {
          this.again = false;
          for (const m of await this.adminq.receive()) this.dispatch(m);
        } while (this.again);
      } finally {
        this.servicing = undefined;
      }
    })();
    return this.servicing;
  }

  /** Hands out what the PF posted before a reset took the registers away (read by DD from memory). */
  async drainPosted(): Promise<void> {
    for (const m of await this.adminq.receivePosted()) this.dispatch(m);
  }

  /** Rejects the request in flight (its reply will not come: the VF is being reset). */
  abort(reason: IavfClientError): void {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(reason);
  }

  /** Rejects what waits and refuses new requests. */
  close(): void {
    this.closed = true;
    this.abort(new IavfClientError("Closed", "the mailbox is closed"));
  }

  private serialized<T>(op: () => Promise<T>): Promise<T> {
    const run = this.chain.then(
      () => op(),
      () => op(),
    );
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async callNow(opcode: number, payload: Uint8Array, timeoutMs: number): Promise<VirtchnlResult> {
    if (this.closed) throw new IavfClientError("Closed", "the mailbox is closed", { opcode });
    let timer: NodeJS.Timeout | undefined;
    // The request is marked in flight before ATQT is written: its reply may be taken (by an interrupt's service)
    // before the write's own completion comes back.
    const p: Pending = { opcode, slot: this.adminq.nextToUse, resolve: () => undefined, reject: () => undefined };
    const reply = new Promise<VirtchnlResult>((resolve, reject) => {
      p.resolve = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
      p.reject = (e) => {
        clearTimeout(timer);
        reject(e);
      };
    });
    this.pending = p;
    try {
      await this.adminq.post(virtchnlCommand(opcode, payload.length), payload);
    } catch (e) {
      this.abortIf(p, e);
      return reply;
    }
    this.counters.requests++;
    if (this.pending === p) {
      timer = setTimeout(() => {
        this.abortIf(
          p,
          new IavfClientError("Timeout", `no reply to ${virtchnlOpName(opcode)} in ${timeoutMs} ms`, { opcode }),
        );
      }, timeoutMs);
      timer.unref();
      this.watch(p);
    }
    return reply;
  }

  /** Keeps noticing the reply of `p`: polling in poll mode, a backstop in interrupt mode; fails fast on an ATQ error. */
  private watch(p: Pending): void {
    const done = () => this.pending !== p;
    if (this.wait === "poll") {
      this.pollUntil(done, () => this.checkAtqError(p));
      return;
    }
    void (async () => {
      while (!done()) {
        await delay(INTERRUPT_BACKSTOP_MS);
        if (done()) return;
        this.checkAtqError(p);
        await this.service().catch((e) => this.abortIf(p, e));
      }
    })();
  }

  /** Poll mode: spins on the ARQ's DD bit (memory, no message), with a full service every few ms. */
  private pollUntil(done: () => boolean, each?: () => void): void {
    void (async () => {
      let full = Date.now() + POLL_FULL_SERVICE_MS;
      while (!done() && !this.closed) {
        each?.();
        if (this.adminq.arqPending() || Date.now() > full) {
          full = Date.now() + POLL_FULL_SERVICE_MS;
          try {
            await this.service();
          } catch (e) {
            if (this.pending) this.abortIf(this.pending, e);
            return;
          }
        } else {
          await new Promise<void>((r) => setImmediate(r));
        }
      }
    })();
  }

  /** The device wrote the request's ATQ descriptor back with ERR: no reply will come. */
  private checkAtqError(p: Pending): void {
    if (this.pending !== p || !this.adminq.atqDone(p.slot)) return;
    const d = this.adminq.atqDescriptor(p.slot);
    if ((d.flags & AqFlag.ERR) === 0) return;
    this.pending = undefined;
    p.reject(
      new IavfClientError(
        "AdminQueue",
        `${virtchnlOpName(p.opcode)}: the device completed the ATQ descriptor with ERR (retval ${d.retval})`,
        { opcode: p.opcode, status: d.retval },
      ),
    );
  }

  private abortIf(p: Pending, e: unknown): void {
    if (this.pending !== p) return;
    this.pending = undefined;
    p.reject(e);
  }

  private dispatch(m: ArqMessage): void {
    const result: VirtchnlResult = {
      opcode: m.descriptor.cookieHigh,
      status: m.descriptor.cookieLow,
      payload: m.payload,
      descriptor: m.descriptor,
    };
    const p = this.pending;
    if (p && result.opcode === p.opcode && result.opcode !== VirtchnlOp.EVENT) {
      this.pending = undefined;
      this.counters.replies++;
      const atq = this.adminq.atqDone(p.slot) ? this.adminq.atqDescriptor(p.slot) : undefined;
      p.resolve(atq === undefined ? result : { ...result, atq });
      return;
    }
    if (result.opcode === VirtchnlOp.EVENT) this.counters.events++;
    else this.counters.unclaimed++;
    for (const l of this.listeners) l(result);
    for (const w of this.waiters) {
      if (w.match(result)) {
        w.take(result);
        return;
      }
    }
    this.backlog.push(result);
    if (this.backlog.length > BACKLOG) this.backlog.shift();
  }
}

/** The ATQ descriptor of a virtchnl message: SI, and BUF | RD (| LB above 512 bytes) when it carries bytes. */
export function virtchnlCommand(opcode: number, length: number) {
  let flags: number = AqFlag.SI;
  if (length > 0) flags |= AqFlag.BUF | AqFlag.RD | (length > AQ_LARGE_BUF ? AqFlag.LB : 0);
  return { opcode: AqOpcode.SEND_MSG_TO_PF, flags, cookieHigh: opcode, cookieLow: 0 };
}
