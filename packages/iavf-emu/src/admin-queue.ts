// The mailbox as the device serves it: the admin send queue (ATQ, VF → PF) and receive queue (ARQ, PF → VF), rings
// of 32-byte descriptors in guest memory reached through the emudev DMA table, located by the BAL/BAH/LEN/H/T
// registers. The ring base and length are read at every use (drivers program them in different orders and may move
// them), every guest address is checked by the DMA table, and what cannot be served is refused with an error in the
// descriptor, or — when not even the descriptor can be reached — flagged in LEN (CRIT) and counted.
import type { DmaTable } from "@emu/emudev";
import {
  AQ_BUFFER_SIZE,
  AQ_DESCRIPTOR_SIZE,
  AQ_HEAD_TAIL_MASK,
  type AqDescriptor,
  AqFlag,
  AqLen,
  AqOpcode,
  AqReturnCode,
  aqBufferAddress,
  encodeAqDescriptor,
  Reg,
  readAqDescriptor,
} from "@emu/iavf-common";
import type { IavfCounters } from "./nic-state.js";

/** The trapped registers the admin queues live in. */
export interface AqRegisterFile {
  get(offset: number): number;
  set(offset: number, value: number): void;
}

interface RingRegisters {
  readonly len: number;
  readonly bal: number;
  readonly bah: number;
  readonly head: number;
  readonly tail: number;
}

const ATQ: RingRegisters = {
  len: Reg.VF_ATQLEN1,
  bal: Reg.VF_ATQBAL1,
  bah: Reg.VF_ATQBAH1,
  head: Reg.VF_ATQH1,
  tail: Reg.VF_ATQT1,
};
const ARQ: RingRegisters = {
  len: Reg.VF_ARQLEN1,
  bal: Reg.VF_ARQBAL1,
  bah: Reg.VF_ARQBAH1,
  head: Reg.VF_ARQH1,
  tail: Reg.VF_ARQT1,
};

/** Messages for the ARQ kept while it is full (the driver returns slots by writing ARQT); more are dropped. */
const ARQ_BACKLOG = 64;

/** A message to post on the ARQ: virtchnl opcode, status and payload. */
export interface ArqMessage {
  readonly opcode: number;
  readonly status: number;
  readonly payload: Uint8Array;
}

/** What to do with a virtchnl message read from the ATQ; `true` stops the ATQ (the VF is being reset). */
export type MessageHandler = (opcode: number, payload: Uint8Array) => Promise<boolean> | boolean;

const u8 = (d: AqDescriptor): Uint8Array => encodeAqDescriptor(d);

export class AdminQueues {
  private readonly backlog: ArqMessage[] = [];

  constructor(
    private readonly regs: AqRegisterFile,
    private readonly dma: DmaTable,
    private readonly counters: IavfCounters,
    /** A message was posted on the ARQ (the mailbox interrupt cause). */
    private readonly posted: () => void,
  ) {}

  private ring(q: RingRegisters): { base: bigint; len: number } | undefined {
    const lenReg = this.regs.get(q.len);
    const len = lenReg & AqLen.LEN_MASK;
    if ((lenReg & AqLen.ENABLE) === 0 || len === 0) return undefined;
    return { base: (BigInt(this.regs.get(q.bah)) << 32n) | BigInt(this.regs.get(q.bal)), len };
  }

  private fault(q: RingRegisters, counter: "ringFaults" | "badTail"): void {
    this.counters[counter]++;
    const flag = counter === "ringFaults" ? AqLen.CRIT : AqLen.VFE;
    this.regs.set(q.len, (this.regs.get(q.len) | flag) >>> 0);
  }

  private async readDescriptor(base: bigint, index: number): Promise<AqDescriptor | undefined> {
    try {
      const b = await this.dma.read(base + BigInt(index * AQ_DESCRIPTOR_SIZE), AQ_DESCRIPTOR_SIZE);
      return readAqDescriptor(new DataView(b.buffer, b.byteOffset, b.length), 0);
    } catch {
      return undefined;
    }
  }

  /** Writes a descriptor back with its flags last, so a driver polling DD sees the rest first. */
  private async writeDescriptor(base: bigint, index: number, d: AqDescriptor): Promise<boolean> {
    const at = base + BigInt(index * AQ_DESCRIPTOR_SIZE);
    const bytes = u8(d);
    try {
      await this.dma.write(at + 2n, bytes.subarray(2));
      await this.dma.write(at, bytes.subarray(0, 2));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Serves the ATQ from ATQH up to ATQT: each descriptor is completed (DD|CMP, ERR and a retval on failure) and
   * ATQH advanced, then its message handed to `handle`. Stops early when a descriptor cannot be reached, or when
   * `handle` says so.
   */
  async processAtq(handle: MessageHandler): Promise<void> {
    const ring = this.ring(ATQ);
    if (ring === undefined) return;
    let head = this.regs.get(ATQ.head) & AQ_HEAD_TAIL_MASK;
    for (let served = 0; served < ring.len; served++) {
      const tail = this.regs.get(ATQ.tail) & AQ_HEAD_TAIL_MASK;
      if (tail >= ring.len || head >= ring.len) return this.fault(ATQ, "badTail");
      if (head === tail) return;
      const now = this.ring(ATQ); // re-read: a driver may move the ring between descriptors
      if (now === undefined) return;
      const desc = await this.readDescriptor(now.base, head);
      if (desc === undefined) return this.fault(ATQ, "ringFaults");
      const { retval, message } = await this.command(desc);
      const flags = desc.flags | AqFlag.DD | AqFlag.CMP | (retval === AqReturnCode.OK ? 0 : AqFlag.ERR);
      if (!(await this.writeDescriptor(now.base, head, { ...desc, flags, retval })))
        return this.fault(ATQ, "ringFaults");
      head = (head + 1) % now.len;
      this.regs.set(ATQ.head, head);
      if (message !== undefined && (await handle(message.opcode, message.payload))) return;
    }
  }

  /** One ATQ descriptor: its AQ return code, and the virtchnl message it carries, if any. */
  private async command(
    d: AqDescriptor,
  ): Promise<{ retval: number; message?: { opcode: number; payload: Uint8Array } }> {
    switch (d.opcode) {
      case AqOpcode.SEND_MSG_TO_PF:
        break;
      case AqOpcode.QUEUE_SHUTDOWN:
        return { retval: AqReturnCode.OK };
      case AqOpcode.SET_RSS_KEY:
      case AqOpcode.SET_RSS_LUT:
      case AqOpcode.GET_RSS_KEY:
      case AqOpcode.GET_RSS_LUT:
        return { retval: AqReturnCode.ENOSYS }; // RSS_AQ is never granted
      default:
        this.counters.unknownAqOpcode++;
        return { retval: AqReturnCode.ESRCH };
    }
    if ((d.flags & AqFlag.BUF) === 0 || d.datalen === 0)
      return { retval: AqReturnCode.OK, message: { opcode: d.cookieHigh, payload: new Uint8Array(0) } };
    if (d.datalen > AQ_BUFFER_SIZE) {
      this.counters.badBuffer++;
      return { retval: AqReturnCode.E2BIG };
    }
    try {
      const payload = await this.dma.read(aqBufferAddress(d), d.datalen);
      return { retval: AqReturnCode.OK, message: { opcode: d.cookieHigh, payload: payload.slice() } };
    } catch {
      this.counters.badBuffer++;
      return { retval: AqReturnCode.EFAULT };
    }
  }

  /**
   * Posts a message on the ARQ: into the buffer of the descriptor at ARQH, the descriptor written back (opcode
   * 0x0802, DD|CMP and the flags the driver posted, datalen, cookies), ARQH advanced, the mailbox cause raised. While
   * the ring is full the message waits (up to 64); with the ARQ disabled it is dropped.
   */
  async post(m: ArqMessage): Promise<void> {
    if (this.backlog.length > 0 || !(await this.postNow(m))) this.keep(m);
  }

  private keep(m: ArqMessage): void {
    if (this.ring(ARQ) === undefined) {
      this.counters.arqDropped++;
      return;
    }
    if (this.backlog.length >= ARQ_BACKLOG) {
      this.counters.arqDropped++;
      this.regs.set(ARQ.len, (this.regs.get(ARQ.len) | AqLen.OVFL) >>> 0);
      return;
    }
    this.backlog.push(m);
  }

  /** The driver returned ARQ slots (ARQT written): post what waited. */
  async flush(): Promise<void> {
    while (this.backlog.length > 0) {
      const m = this.backlog[0] as ArqMessage;
      if (!(await this.postNow(m))) return;
      this.backlog.shift();
    }
  }

  /** Posts `m` if there is a free slot; false when the ring is full (or disabled: then `m` is dropped, counted). */
  private async postNow(m: ArqMessage): Promise<boolean> {
    const ring = this.ring(ARQ);
    if (ring === undefined) {
      this.counters.arqDropped++;
      return true;
    }
    const head = this.regs.get(ARQ.head) & AQ_HEAD_TAIL_MASK;
    const tail = this.regs.get(ARQ.tail) & AQ_HEAD_TAIL_MASK;
    if (head >= ring.len || tail >= ring.len) {
      this.fault(ARQ, "badTail");
      this.counters.arqDropped++;
      return true;
    }
    if (head === tail) return false; // full: the driver keeps one slot empty
    const desc = await this.readDescriptor(ring.base, head);
    if (desc === undefined) {
      this.fault(ARQ, "ringFaults");
      this.counters.arqDropped++;
      return true;
    }
    const retval = await this.fill(desc, m.payload);
    const flags = desc.flags | AqFlag.DD | AqFlag.CMP | (retval === AqReturnCode.OK ? 0 : AqFlag.ERR);
    const done: AqDescriptor = {
      ...desc,
      flags,
      opcode: AqOpcode.SEND_MSG_TO_VF,
      datalen: m.payload.length,
      retval,
      cookieHigh: m.opcode,
      cookieLow: m.status,
    };
    if (!(await this.writeDescriptor(ring.base, head, done))) {
      this.fault(ARQ, "ringFaults");
      this.counters.arqDropped++;
      return true;
    }
    this.regs.set(ARQ.head, (head + 1) % ring.len);
    this.posted();
    return true;
  }

  /** Copies the payload into the posted buffer; the AQ return code for the descriptor. */
  private async fill(desc: AqDescriptor, payload: Uint8Array): Promise<number> {
    if (payload.length === 0) return AqReturnCode.OK;
    if ((desc.flags & AqFlag.BUF) === 0 || desc.datalen < payload.length) {
      this.counters.arqBadBuffer++;
      return AqReturnCode.E2BIG;
    }
    try {
      await this.dma.write(aqBufferAddress(desc), payload);
      return AqReturnCode.OK;
    } catch {
      this.counters.arqBadBuffer++;
      return AqReturnCode.EFAULT;
    }
  }

  /** Forgets what waited for the ARQ (the VF is being reset). */
  clear(): void {
    this.backlog.length = 0;
  }
}
