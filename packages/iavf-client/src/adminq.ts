/**
 * The VF's admin queue (mailbox rings): the send queue (ATQ, VF → PF) and the receive queue (ARQ, PF → VF) in DMA
 * memory, each descriptor with a buffer of its own, programmed through the BAR0 registers as the Linux driver's
 * `iavf_init_adminq` does (or in VPP's order), consumed as `iavf_clean_arq_element` does, and shut down with the
 * queue-shutdown command as `iavf_shutdown_adminq` does.
 */
import {
  AQ_BUFFER_SIZE,
  AQ_DESCRIPTOR_SIZE,
  AQ_HEAD_TAIL_MASK,
  AQ_LARGE_BUF,
  type AqDescriptor,
  AqFlag,
  AqLen,
  AqOpcode,
  Reg,
  readAqDescriptor,
  writeAqDescriptor,
} from "@emu/iavf-common";
import type { Bar0 } from "./bar0.js";
import type { DmaPool, DmaRegion } from "./dma-pool.js";
import { IavfClientError } from "./errors.js";
import { delay } from "./internal/delay.js";

/**
 * Order of the register writes at setup. `linux` (also DPDK): head, tail, length with ENABLE, then the base address;
 * `vpp`: length 0, tail, head, base address, then length with ENABLE last (ARQ descriptors filled after).
 */
export type AqProgrammingOrder = "linux" | "vpp";

export interface AdminQueueOptions {
  /** Send-queue descriptors (default 32, as Linux and DPDK; VPP uses 4). 2..1023. */
  readonly atqLength?: number | undefined;
  /** Receive-queue descriptors (default 32; VPP uses 16). 2..1023. */
  readonly arqLength?: number | undefined;
  readonly order?: AqProgrammingOrder;
}

/** What a descriptor posted on the ATQ carries besides its buffer (the driver fills flags itself). */
export interface AqCommand {
  readonly opcode: number;
  readonly flags: number;
  readonly cookieHigh?: number;
  readonly cookieLow?: number;
  readonly param0?: number;
  readonly param1?: number;
}

/** One message taken from the ARQ: the written-back descriptor and a copy of its buffer's first `datalen` bytes. */
export interface ArqMessage {
  readonly descriptor: AqDescriptor;
  readonly payload: Uint8Array;
}

/** How long a synchronous (direct) command may take: the shared code's `IAVF_ASQ_CMD_TIMEOUT` (250 ms). */
const ASQ_CMD_TIMEOUT_MS = 250;

interface Ring {
  readonly length: number;
  readonly ring: DmaRegion;
  readonly buffers: DmaRegion;
}

function checkLength(n: number | undefined, fallback: number, what: string): number {
  const v = n ?? fallback;
  if (!Number.isSafeInteger(v) || v < 2 || v > AQ_HEAD_TAIL_MASK) {
    throw new IavfClientError("InvalidArgument", `${what} must be 2..${AQ_HEAD_TAIL_MASK} descriptors (got ${n})`);
  }
  return v;
}

const lo32 = (a: bigint): number => Number(a & 0xffff_ffffn);
const hi32 = (a: bigint): number => Number(a >> 32n);

export class AdminQueue {
  readonly order: AqProgrammingOrder;
  private atqUse = 0; // next_to_use
  private atqClean = 0; // next_to_clean
  private arqClean = 0; // next_to_clean
  private enabled = false;

  private constructor(
    private readonly bar: Bar0,
    private readonly atq: Ring,
    private readonly arq: Ring,
    order: AqProgrammingOrder,
  ) {
    this.order = order;
  }

  /** Allocates both rings and their 4 KiB buffers from `pool` (nothing is programmed yet: see {@link setup}). */
  static async create(bar: Bar0, pool: DmaPool, options: AdminQueueOptions = {}): Promise<AdminQueue> {
    const atqLength = checkLength(options.atqLength, 32, "atqLength");
    const arqLength = checkLength(options.arqLength, 32, "arqLength");
    const order = options.order ?? "linux";
    if (order !== "linux" && order !== "vpp") {
      throw new IavfClientError("InvalidArgument", `order must be "linux" or "vpp" (got ${String(order)})`);
    }
    const ring = async (length: number): Promise<Ring> => ({
      length,
      ring: await pool.alloc(length * AQ_DESCRIPTOR_SIZE, 4096),
      buffers: await pool.alloc(length * AQ_BUFFER_SIZE, 4096),
    });
    return new AdminQueue(bar, await ring(atqLength), await ring(arqLength), order);
  }

  get atqLength(): number {
    return this.atq.length;
  }
  get arqLength(): number {
    return this.arq.length;
  }
  /** IOVAs of the rings (what the base-address registers were given). */
  get atqBase(): bigint {
    return this.atq.ring.iova;
  }
  get arqBase(): bigint {
    return this.arq.ring.iova;
  }
  /** The ATQ slot the next command goes to. */
  get nextToUse(): number {
    return this.atqUse;
  }

  /** Programs both queues (zeroed rings, ARQ buffers posted, ARQT = length − 1) in the chosen order. */
  async setup(): Promise<void> {
    this.atq.ring.bytes.fill(0);
    this.arq.ring.bytes.fill(0);
    this.atqUse = 0;
    this.atqClean = 0;
    this.arqClean = 0;
    if (this.order === "linux") {
      await this.programLinux(Reg.VF_ATQH1, Reg.VF_ATQT1, Reg.VF_ATQLEN1, Reg.VF_ATQBAL1, Reg.VF_ATQBAH1, this.atq);
      for (let i = 0; i < this.arq.length; i++) this.postArqBuffer(i);
      await this.programLinux(Reg.VF_ARQH1, Reg.VF_ARQT1, Reg.VF_ARQLEN1, Reg.VF_ARQBAL1, Reg.VF_ARQBAH1, this.arq);
    } else {
      await this.programVpp(Reg.VF_ATQH1, Reg.VF_ATQT1, Reg.VF_ATQLEN1, Reg.VF_ATQBAL1, Reg.VF_ATQBAH1, this.atq);
      await this.programVpp(Reg.VF_ARQH1, Reg.VF_ARQT1, Reg.VF_ARQLEN1, Reg.VF_ARQBAL1, Reg.VF_ARQBAH1, this.arq);
      for (let i = 0; i < this.arq.length; i++) this.postArqBuffer(i);
    }
    await this.bar.write(Reg.VF_ARQT1, this.arq.length - 1);
    this.enabled = true;
  }

  private async programLinux(h: number, t: number, len: number, bal: number, bah: number, q: Ring): Promise<void> {
    await this.bar.write(h, 0);
    await this.bar.write(t, 0);
    await this.bar.write(len, q.length | AqLen.ENABLE);
    await this.bar.write(bal, lo32(q.ring.iova));
    await this.bar.write(bah, hi32(q.ring.iova));
    // iavf_config_asq_regs/arq_regs: read the base back to check the device took it.
    const back = await this.bar.read(bal);
    if (back !== lo32(q.ring.iova)) {
      throw new IavfClientError(
        "AdminQueue",
        `the device did not keep the queue base: wrote 0x${lo32(q.ring.iova).toString(16)} at 0x${bal.toString(16)}, read 0x${back.toString(16)}`,
      );
    }
  }

  private async programVpp(h: number, t: number, len: number, bal: number, bah: number, q: Ring): Promise<void> {
    await this.bar.write(len, 0);
    await this.bar.write(t, 0);
    await this.bar.write(h, 0);
    await this.bar.write(bal, lo32(q.ring.iova));
    await this.bar.write(bah, hi32(q.ring.iova));
    await this.bar.write(len, q.length | AqLen.ENABLE);
  }

  /** Re-initialises ARQ descriptor `i`: BUF (| LB), datalen = buffer size, the buffer's address. */
  private postArqBuffer(i: number): void {
    const addr = this.arq.buffers.iova + BigInt(i * AQ_BUFFER_SIZE);
    writeAqDescriptor(this.arq.ring.view, i * AQ_DESCRIPTOR_SIZE, {
      flags: AqFlag.BUF | (AQ_BUFFER_SIZE > AQ_LARGE_BUF ? AqFlag.LB : 0),
      opcode: 0,
      datalen: AQ_BUFFER_SIZE,
      retval: 0,
      cookieHigh: 0,
      cookieLow: 0,
      param0: 0,
      param1: 0,
      addrHigh: hi32(addr),
      addrLow: lo32(addr),
    });
  }

  /**
   * Puts `command` (with `payload` copied into the slot's buffer, when not empty) at next_to_use and writes ATQT.
   * Resolves with the slot. Reclaims completed slots first; refuses when every slot is still owned by the device.
   */
  async post(command: AqCommand, payload: Uint8Array = new Uint8Array(0)): Promise<number> {
    if (!this.enabled) throw new IavfClientError("Closed", "the admin queue is not set up");
    if (payload.length > AQ_BUFFER_SIZE) {
      throw new IavfClientError(
        "InvalidArgument",
        `a message holds at most ${AQ_BUFFER_SIZE} bytes (${payload.length})`,
      );
    }
    if (this.unusedSlots() === 0) await this.reclaimByHead();
    if (this.unusedSlots() === 0)
      throw new IavfClientError("AdminQueue", "the send queue is full (ATQH does not move)");
    const slot = this.atqUse;
    const addr = this.atq.buffers.iova + BigInt(slot * AQ_BUFFER_SIZE);
    if (payload.length > 0) this.atq.buffers.bytes.set(payload, slot * AQ_BUFFER_SIZE);
    writeAqDescriptor(this.atq.ring.view, slot * AQ_DESCRIPTOR_SIZE, {
      flags: command.flags,
      opcode: command.opcode,
      datalen: payload.length,
      retval: 0,
      cookieHigh: command.cookieHigh ?? 0,
      cookieLow: command.cookieLow ?? 0,
      param0: command.param0 ?? 0,
      param1: command.param1 ?? 0,
      addrHigh: payload.length > 0 ? hi32(addr) : 0,
      addrLow: payload.length > 0 ? lo32(addr) : 0,
    });
    this.atqUse = (slot + 1) % this.atq.length;
    await this.bar.write(Reg.VF_ATQT1, this.atqUse);
    return slot;
  }

  /** The descriptor at ATQ `slot` as it is in memory now (the device's write-back once DD is set). */
  atqDescriptor(slot: number): AqDescriptor {
    return readAqDescriptor(this.atq.ring.view, slot * AQ_DESCRIPTOR_SIZE);
  }

  /** The descriptor at ARQ slot `i` as it is in memory now. */
  arqDescriptor(i: number): AqDescriptor {
    return readAqDescriptor(this.arq.ring.view, i * AQ_DESCRIPTOR_SIZE);
  }

  /** Whether the device wrote DD back into ATQ `slot`. */
  atqDone(slot: number): boolean {
    return (this.atq.ring.view.getUint16(slot * AQ_DESCRIPTOR_SIZE, true) & AqFlag.DD) !== 0;
  }

  /** Reads ATQH (the device's head). */
  async atqHead(): Promise<number> {
    return (await this.bar.read(Reg.VF_ATQH1)) & AQ_HEAD_TAIL_MASK;
  }

  /**
   * Waits until ATQH reaches next_to_use (`iavf_asq_done`), polling the register, then returns the write-back of
   * `slot`. Rejects with `Timeout` after `timeoutMs`.
   */
  async waitAtq(slot: number, timeoutMs = ASQ_CMD_TIMEOUT_MS): Promise<AqDescriptor> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if ((await this.atqHead()) === this.atqUse) break;
      if (Date.now() > end) {
        throw new IavfClientError("Timeout", `ATQ descriptor ${slot} not consumed in ${timeoutMs} ms (ATQH stuck)`);
      }
      await delay(1);
    }
    this.atqClean = this.atqUse;
    return this.atqDescriptor(slot);
  }

  /** Sends the direct queue-shutdown command (opcode 0x0003, param0 bit 0: driver unloading) and waits for it. */
  async queueShutdown(unloading: boolean): Promise<AqDescriptor> {
    const slot = await this.post({ opcode: AqOpcode.QUEUE_SHUTDOWN, flags: AqFlag.SI, param0: unloading ? 1 : 0 });
    return this.waitAtq(slot);
  }

  /** Whether an ARQ message is waiting (DD at next_to_clean, read from memory: no register access). */
  arqPending(): boolean {
    return (this.arq.ring.view.getUint16(this.arqClean * AQ_DESCRIPTOR_SIZE, true) & AqFlag.DD) !== 0;
  }

  /**
   * Takes every message the device posted (up to ARQH), re-posts their buffers and returns ARQT to the device, as
   * `iavf_clean_arq_element` does.
   */
  async receive(): Promise<ArqMessage[]> {
    if (!this.enabled) return [];
    const head = (await this.bar.read(Reg.VF_ARQH1)) & AQ_HEAD_TAIL_MASK;
    if (head >= this.arq.length) {
      throw new IavfClientError("AdminQueue", `ARQH ${head} is outside the ${this.arq.length}-descriptor ring`);
    }
    return this.take(head);
  }

  /**
   * Takes the messages the device wrote back (DD) from next_to_clean on, without reading ARQH: what the PF posted
   * before a reset zeroed the registers (a RESET_IMPENDING, say). Buffers are re-posted; ARQT is written only while
   * the queue is enabled.
   */
  async receivePosted(): Promise<ArqMessage[]> {
    return this.take(undefined);
  }

  /** Messages from next_to_clean up to `head` (or, without it, while DD is set), each with DD set. */
  private async take(head: number | undefined): Promise<ArqMessage[]> {
    const out: ArqMessage[] = [];
    let last = -1;
    // A descriptor without DD before ARQH is not the device's yet (or ARQH was zeroed by a reset): stop there.
    while (this.arqClean !== head && this.arqPending() && out.length < this.arq.length) {
      const i = this.arqClean;
      const descriptor = readAqDescriptor(this.arq.ring.view, i * AQ_DESCRIPTOR_SIZE);
      const n = Math.min(descriptor.datalen, AQ_BUFFER_SIZE);
      const payload = this.arq.buffers.bytes.slice(i * AQ_BUFFER_SIZE, i * AQ_BUFFER_SIZE + n);
      out.push({ descriptor, payload });
      this.postArqBuffer(i);
      last = i;
      this.arqClean = (i + 1) % this.arq.length;
    }
    if (last >= 0) await this.bar.write(Reg.VF_ARQT1, last);
    return out;
  }

  /** Reads ATQLEN and ARQLEN: whether the queues are still enabled (a VF reset clears ENABLE). */
  async lengths(): Promise<{ readonly atq: number; readonly arq: number }> {
    return { atq: await this.bar.read(Reg.VF_ATQLEN1), arq: await this.bar.read(Reg.VF_ARQLEN1) };
  }

  /**
   * `iavf_shutdown_adminq`: the queue-shutdown command when the send queue is still alive (ATQLEN.ENABLE, skipped
   * with `command` false), then head, tail, length and base of both queues written 0.
   */
  async shutdown(command = true): Promise<void> {
    if (!this.enabled) return;
    try {
      if (command && ((await this.bar.read(Reg.VF_ATQLEN1)) & AqLen.ENABLE) !== 0) {
        await this.queueShutdown(true).catch(() => undefined); // a dead mailbox must not stop the shutdown
      }
    } finally {
      this.enabled = false;
    }
    for (const r of [Reg.VF_ATQH1, Reg.VF_ATQT1, Reg.VF_ATQLEN1, Reg.VF_ATQBAL1, Reg.VF_ATQBAH1]) {
      await this.bar.write(r, 0);
    }
    for (const r of [Reg.VF_ARQH1, Reg.VF_ARQT1, Reg.VF_ARQLEN1, Reg.VF_ARQBAL1, Reg.VF_ARQBAH1]) {
      await this.bar.write(r, 0);
    }
  }

  /** Forgets the queues without touching the device (it was reset, or is gone). */
  forget(): void {
    this.enabled = false;
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  /** Free ATQ slots after reclaiming completed ones from memory (`IAVF_DESC_UNUSED`). */
  private unusedSlots(): number {
    while (this.atqClean !== this.atqUse && this.atqDone(this.atqClean)) {
      this.atqClean = (this.atqClean + 1) % this.atq.length;
    }
    const n = this.atq.length;
    return (this.atqClean > this.atqUse ? 0 : n) + this.atqClean - this.atqUse - 1;
  }

  /** `iavf_clean_asq`: everything before ATQH is done, whatever its DD bit says. */
  private async reclaimByHead(): Promise<void> {
    const head = await this.atqHead();
    if (head < this.atq.length) this.atqClean = head;
  }
}
