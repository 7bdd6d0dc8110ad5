// One session of a hostile guest against emu_iavf: connect, map guest memory, program the admin queues, then batches
// of ATQ descriptors carrying virtchnl messages (fuzz/messages.ts) with descriptors that lie (flags, AQ opcodes,
// lengths, buffers outside the DMA table or in a region unmapped since), interleaved with rewrites of the ATQ/ARQ
// registers, ARQ buffers that lie, random BAR0 writes, VF resets (RESET_VF, FLR, DEVICE_RESET) and the unmap; the end
// is a close, sometimes with the device in the middle of a batch.
//
// The oracle, beyond crash and hang (every register access and ATQT write answered within the deadline; a reset
// reaches VFACTIVE): while the guest has not rewritten the rings, each ATQT write is served in full (ATQH = ATQT) or
// the VF was reset; each consumed descriptor is written back with DD|CMP (and ERR with a non-zero retval, or none);
// each consumed SEND_MSG_TO_PF that did not fail gets its reply on the ARQ, in order and with its opcode, unless the
// ARQ overflowed (OVFL); the ARQ never flags a fault it was not given; and the device never writes the canary in guest
// memory nor the region once unmapped.
import { FuzzFailure, type Rng, type SessionContext } from "@emu/fuzz-kit";
import {
  AQ_BUFFER_SIZE,
  AqFlag,
  AqLen,
  AqOpcode,
  AqReturnCode,
  Reg,
  VirtchnlOp,
  writeAqDescriptor,
} from "@emu/iavf-common";
import { AREA, deadline, GONE, GUEST, GUEST_SIZE, Guest } from "./guest.js";
import { message } from "./messages.js";

/** Config-space offset of the PCIe capability's Device Control (layout.ts: the capability at 0x4c). */
const PCIE_DEVCTL = 0x4c + 8;
const CONFIG_REGION = 7;
const RING_LENGTHS = [1, 2, 3, 8, 16, 32, 32, 64, 64, 128, 1023];

/** A descriptor posted in a batch: its slot, its virtchnl opcode, and whether the guest set ERR itself. */
interface Posted {
  readonly slot: number;
  readonly opcode: number;
  readonly guestErr: boolean;
}

export class HostileGuest {
  private readonly rng: Rng;
  private guest!: Guest;
  /** The share of descriptors and messages that lie. */
  private readonly hostility: number;
  /** The guest rewrote a ring's registers or memory: the ATQ/ARQ checks are off until the next init. */
  private atqDirty = false;
  private arqDirty = false;
  private step = 0;
  private sent = 0;

  constructor(
    private readonly ctx: SessionContext,
    private readonly path: string,
  ) {
    this.rng = ctx.rng;
    this.hostility = this.rng.pick([0.01, 0.05, 0.2, 0.6]);
  }

  private count(n = 1): void {
    this.sent += n;
    this.ctx.sent(n);
  }

  async play(): Promise<void> {
    const rng = this.rng;
    this.ctx.note("connect and map");
    this.guest = await Guest.open(this.path, this.ctx.hangMs, rng.chance(0.08), rng.chance(0.5));
    const abrupt = rng.chance(0.15);
    try {
      await this.init();
      while (this.sent < this.ctx.budget) await this.action();
      this.checkMemory();
      if (abrupt) {
        // The end in the middle of a batch: the device loses its guest while serving it.
        this.ctx.tally("end: close in a batch");
        this.post(this.rng.range(1, this.free()));
        void this.guest.w32(Reg.VF_ATQT1, this.guest.ntu).catch(() => undefined);
      } else this.ctx.tally("end: close");
      await this.guest.close();
      // After the close too: the device may not write what it had no business writing while it let go of us.
      this.checkMemory();
    } finally {
      await this.guest.close().catch(() => undefined);
      this.guest.release();
    }
  }

  private checkMemory(): void {
    const t = this.guest.trespasses();
    if (t.length > 0) throw new FuzzFailure("finding", t.join("; "));
  }

  private async init(): Promise<void> {
    this.ctx.note("admin queue init");
    await this.guest.untilActive();
    // Mostly rings a driver uses (Linux 32/32, DPDK 32..1023), the ARQ large enough for a batch's replies and
    // events; sometimes any length (an ARQ of 1 slot never has a free one: the driver keeps one empty).
    const odd = this.rng.chance(0.1);
    const atqLen = odd ? this.rng.pick(RING_LENGTHS) : this.rng.pick([32, 64, 256, 1023]);
    const arqLen = odd ? this.rng.pick(RING_LENGTHS) : Math.min(1023, Math.max(32, 2 * atqLen));
    await this.guest.initAdminQueues(atqLen, arqLen, this.rng.chance(0.8) ? "linux" : "vpp");
    this.count(11);
    // A ring of one slot never has a free one (the driver keeps one empty): nothing to check on it.
    this.atqDirty = atqLen < 2;
    this.arqDirty = arqLen < 2;
    this.step = 0;
  }

  private async action(): Promise<void> {
    const what = this.rng.weighted([
      [90, "batch"],
      [2, "rewrite ring"],
      [1.5, "lying ARQ buffers"],
      [1.5, "register"],
      [0.6, "reset"],
      [0.4, "reinit"],
      [0.5, "unmap"],
    ] as const);
    this.ctx.tally(`action: ${what}`);
    switch (what) {
      case "batch":
        return this.batch();
      case "rewrite ring":
        return this.rewriteRing();
      case "lying ARQ buffers":
        return this.lyingArqBuffers();
      case "register":
        return this.randomRegister();
      case "reset":
        return this.reset();
      case "reinit":
        return this.init();
      case "unmap":
        if (this.guest.goneMapped) {
          this.ctx.note("DMA_UNMAP under the running device");
          await this.guest.unmapGone();
          this.count();
        }
    }
  }

  /** Free ATQ slots as the guest sees them (one slot stays empty). */
  private free(): number {
    return Math.max(1, this.guest.atq.len - 1);
  }

  /** An address for an ATQ buffer: mostly its slot, else outside the table, in the unmapped region, or at the edge. */
  private atqBuffer(slot: number): bigint {
    const own = GUEST + BigInt(AREA.ATQ_BUF + (slot % 64) * AQ_BUFFER_SIZE);
    if (!this.rng.chance(this.hostility)) return own;
    return this.rng.weighted([
      [3, () => this.rng.u64()],
      [2, () => GONE + BigInt(this.rng.int(0x1_0000))],
      [2, () => GUEST + BigInt(GUEST_SIZE - this.rng.range(1, 64))],
      [1, () => GUEST - BigInt(this.rng.range(1, 4096))],
      [1, () => BigInt(this.rng.u32())],
      // Inside the buffer area, across slots (an ARQ ring moved onto the ATQ ring writes here: never into the canary).
      [2, () => own + BigInt(this.rng.int(AQ_BUFFER_SIZE)) - (slot % 64 === 63 ? BigInt(AQ_BUFFER_SIZE) : 0n)],
    ] as const)();
  }

  /** Writes `n` descriptors at ntu.. (messages in their buffers); returns what was posted, in order. */
  private post(n: number): Posted[] {
    const g = this.guest;
    const out: Posted[] = [];
    for (let k = 0; k < n; k++) {
      const slot = g.ntu;
      const m = message(this.rng, this.step++, this.hostility);
      this.ctx.tally(`message: ${m.how}`);
      const addr = this.atqBuffer(slot);
      // The message goes in the slot's own buffer; a descriptor aimed elsewhere has the device read what is there.
      g.memory.set(m.payload, AREA.ATQ_BUF + (slot % 64) * AQ_BUFFER_SIZE);
      const lie = this.rng.chance(this.hostility);
      const buf = m.payload.length > 0 ? AqFlag.BUF | AqFlag.RD | (m.payload.length > 512 ? AqFlag.LB : 0) : 0;
      const opcode =
        lie && this.rng.chance(0.3)
          ? this.rng.pick([0, 3, 0x802, 0x803, 0xb02, 0xb05, this.rng.u32() & 0xffff])
          : AqOpcode.SEND_MSG_TO_PF;
      const flags = lie && this.rng.chance(0.4) ? this.rng.u32() & 0xffff : AqFlag.SI | buf;
      writeAqDescriptor(g.view, g.atq.at + 32 * slot, {
        flags,
        opcode,
        datalen: lie && this.rng.chance(0.4) ? this.rng.interesting16() & 0xffff : m.payload.length,
        retval: lie ? this.rng.u32() & 0xffff : 0,
        cookieHigh: m.opcode >>> 0,
        cookieLow: lie ? this.rng.u32() : 0,
        param0: lie ? this.rng.u32() : 0,
        param1: lie ? this.rng.u32() : 0,
        addrHigh: Number(addr >> 32n),
        addrLow: Number(addr & 0xffff_ffffn),
      });
      out.push({ slot, opcode: m.opcode >>> 0, guestErr: (flags & AqFlag.ERR) !== 0 });
      g.ntu = (slot + 1) % g.atq.len;
    }
    this.count(n);
    return out;
  }

  /** A batch: descriptors posted, ATQT written (answered once served), then the ATQ and ARQ checked. */
  private async batch(): Promise<void> {
    const g = this.guest;
    // Up to what the ARQ and its backlog (64) hold of the replies and the LINK_CHANGE events that may follow them.
    const room = Math.max(1, Math.floor((g.arq.len - 1 + 64) / 2));
    const n = this.rng.range(1, Math.min(this.free(), room, this.rng.chance(0.2) ? 4 : 400));
    const head = this.atqDirty ? 0 : g.ntu;
    const posted = this.post(n);
    this.ctx.note(
      () => `a batch of ${n} descriptors (ATQ ${g.atq.len} at +0x${g.atq.at.toString(16)}, ARQ ${g.arq.len})`,
    );
    await g.w32(Reg.VF_ATQT1, g.ntu);
    const atqLen = await g.r32(Reg.VF_ATQLEN1);
    if ((atqLen & AqLen.ENABLE) === 0) {
      // A VF reset (RESET_VF among the messages): wait for it, then start over as a driver does.
      this.ctx.tally("VF reset by a message");
      await this.init();
      return;
    }
    if (this.atqDirty) return this.drain(undefined);
    const atqh = await g.r32(Reg.VF_ATQH1);
    if (atqh !== g.ntu)
      throw new FuzzFailure(
        "finding",
        `ATQT ${g.ntu} was written but ATQH is ${atqh} (it was ${head} before the batch)`,
      );
    const expected: number[] = [];
    for (const p of posted) {
      const d = g.desc(g.atq, p.slot);
      if ((d.flags & (AqFlag.DD | AqFlag.CMP)) !== (AqFlag.DD | AqFlag.CMP))
        throw new FuzzFailure(
          "finding",
          `ATQ descriptor ${p.slot} consumed without DD|CMP (flags 0x${d.flags.toString(16)})`,
        );
      // The device keeps the flags the guest posted: an ERR the guest set itself says nothing.
      const err = (d.flags & AqFlag.ERR) !== 0;
      if (err === (d.retval === AqReturnCode.OK) && !(err && p.guestErr))
        throw new FuzzFailure("finding", `ATQ descriptor ${p.slot}: ERR ${err} with retval ${d.retval}`);
      if (d.retval === AqReturnCode.OK && d.opcode === AqOpcode.SEND_MSG_TO_PF) expected.push(p.opcode);
    }
    await this.drain(expected);
  }

  /** Takes what the ARQ holds, returning slots until it has nothing more; checks it against `expected` replies. */
  private async drain(expected: number[] | undefined): Promise<void> {
    const g = this.guest;
    const replies: number[] = [];
    for (let round = 0; round < 200; round++) {
      const arqh = (await g.r32(Reg.VF_ARQH1)) & 0x3ff;
      if (arqh >= g.arq.len || arqh === g.ntc) break;
      while (g.ntc !== arqh) {
        const d = g.desc(g.arq, g.ntc);
        // PF events (LINK_CHANGE) have status 0; a VF-sent EVENT is refused with a non-zero status.
        if (!(d.cookieHigh === VirtchnlOp.EVENT && d.cookieLow === 0)) replies.push(d.cookieHigh >>> 0);
        if (!this.arqDirty && (d.flags & (AqFlag.DD | AqFlag.CMP)) !== (AqFlag.DD | AqFlag.CMP))
          throw new FuzzFailure("finding", `ARQ descriptor ${g.ntc} advanced past without DD|CMP`);
        g.postArq(g.ntc);
        g.ntc = (g.ntc + 1) % g.arq.len;
      }
      await g.w32(Reg.VF_ARQT1, (g.ntc + g.arq.len - 1) % g.arq.len);
      this.count();
    }
    if (expected === undefined || this.arqDirty) return;
    const arqLen = await g.r32(Reg.VF_ARQLEN1);
    if ((arqLen & (AqLen.CRIT | AqLen.VFE)) !== 0)
      throw new FuzzFailure("finding", `ARQLEN 0x${arqLen.toString(16)} flags a fault on a ring the guest kept sound`);
    if ((arqLen & AqLen.OVFL) !== 0) {
      this.ctx.tally("ARQ overflow (replies dropped, flagged)");
      await g.w32(Reg.VF_ARQLEN1, arqLen & ~AqLen.OVFL);
      return;
    }
    if (replies.length !== expected.length || replies.some((r, i) => r !== expected[i]))
      throw new FuzzFailure(
        "finding",
        `replies on the ARQ [${replies.join(",")}] are not those owed for the batch's messages [${expected.join(",")}]`,
      );
    this.ctx.tally("replies checked", replies.length);
  }

  /** ATQ/ARQ registers rewritten mid-stream: base moved (in the table, outside, straddling its end), length, H, T. */
  private async rewriteRing(): Promise<void> {
    const g = this.guest;
    const atq = this.rng.chance(0.5);
    const regs = atq
      ? { len: Reg.VF_ATQLEN1, bal: Reg.VF_ATQBAL1, bah: Reg.VF_ATQBAH1, h: Reg.VF_ATQH1, t: Reg.VF_ATQT1 }
      : { len: Reg.VF_ARQLEN1, bal: Reg.VF_ARQBAL1, bah: Reg.VF_ARQBAH1, h: Reg.VF_ARQH1, t: Reg.VF_ARQT1 };
    // Either ring moved may land on the other: neither is checked until the next init.
    this.atqDirty = true;
    this.arqDirty = true;
    const what = this.rng.pick(["base", "len", "head", "tail"] as const);
    this.ctx.note(`${atq ? "ATQ" : "ARQ"} ${what} rewritten`);
    this.ctx.tally(`rewrite: ${atq ? "ATQ" : "ARQ"} ${what}`);
    switch (what) {
      case "base": {
        const base = this.rng.weighted([
          [3, () => GUEST + BigInt(this.rng.pick([AREA.ATQ, AREA.ARQ, AREA.ALT]))],
          [2, () => GUEST + BigInt(GUEST_SIZE - 32 * this.rng.range(1, 8))],
          [2, () => GONE + BigInt(32 * this.rng.int(64))],
          [2, () => this.rng.u64()],
        ] as const)();
        await g.w32(regs.bal, Number(base & 0xffff_ffffn));
        await g.w32(regs.bah, Number(base >> 32n));
        break;
      }
      case "len":
        await g.w32(regs.len, this.rng.chance(0.7) ? this.rng.pick(RING_LENGTHS) | AqLen.ENABLE : this.rng.u32());
        break;
      case "head":
        await g.w32(regs.h, this.rng.chance(0.5) ? this.rng.int(1024) : this.rng.u32());
        break;
      case "tail":
        await g.w32(regs.t, this.rng.chance(0.5) ? this.rng.int(1024) : this.rng.u32());
        break;
    }
    this.count(2);
  }

  /** ARQ descriptors posted with buffers that lie: too small, no BUF, outside the table, in the unmapped region. */
  private async lyingArqBuffers(): Promise<void> {
    const g = this.guest;
    this.ctx.note("lying ARQ buffers");
    for (let i = 0; i < g.arq.len; i++) {
      if (!this.rng.chance(0.3)) continue;
      const addr = this.rng.weighted([
        [2, () => this.rng.u64()],
        [2, () => GONE + BigInt(this.rng.int(0x1_0000))],
        [1, () => GUEST + BigInt(GUEST_SIZE - this.rng.range(1, 64))],
        [2, () => GUEST + BigInt(AREA.ARQ_BUF + (i % 64) * AQ_BUFFER_SIZE)],
      ] as const)();
      g.postArq(i, {
        flags: this.rng.chance(0.5) ? this.rng.u32() & 0xffff : AqFlag.BUF,
        datalen: this.rng.chance(0.5) ? this.rng.int(64) : this.rng.interesting16() & 0xffff,
        addrHigh: Number(addr >> 32n),
        addrLow: Number(addr & 0xffff_ffffn),
      });
    }
    this.arqDirty = true;
    this.count();
  }

  /** A write anywhere in BAR0 but the ring bases (aimed only by `rewriteRing`, away from the canary). */
  private async randomRegister(): Promise<void> {
    const bases: number[] = [Reg.VF_ATQBAL1, Reg.VF_ATQBAH1, Reg.VF_ARQBAL1, Reg.VF_ARQBAH1];
    const rings: number[] = [Reg.VF_ATQLEN1, Reg.VF_ATQH1, Reg.VF_ATQT1, Reg.VF_ARQLEN1, Reg.VF_ARQH1, Reg.VF_ARQT1];
    let offset = this.rng.int(0x4000) * 4;
    if (bases.includes(offset)) offset = Reg.VFGEN_RSTAT;
    if (rings.includes(offset)) {
      this.atqDirty = true;
      this.arqDirty = true;
    }
    this.ctx.note(`BAR0+0x${offset.toString(16)} written`);
    await this.guest.w32(offset, this.rng.chance(0.5) ? this.rng.interesting32() : this.rng.u32());
    await this.guest.r32(offset);
    this.count(2);
  }

  /** A reset the driver did not ask for by message: FLR (PCIe Device Control) or DEVICE_RESET; then start over. */
  private async reset(): Promise<void> {
    const g = this.guest;
    if (this.rng.chance(0.5)) {
      this.ctx.note("FLR");
      this.ctx.tally("reset: FLR");
      const ctl = await deadline(
        g.client.regionRead(CONFIG_REGION, BigInt(PCIE_DEVCTL), 2),
        this.ctx.hangMs,
        "a config read",
      );
      await deadline(
        g.client.regionWrite(CONFIG_REGION, BigInt(PCIE_DEVCTL), Uint8Array.of(ctl[0] ?? 0, (ctl[1] ?? 0) | 0x80)),
        this.ctx.hangMs,
        "the FLR",
      );
    } else {
      this.ctx.note("DEVICE_RESET");
      this.ctx.tally("reset: DEVICE_RESET");
      await deadline(g.client.reset(), this.ctx.hangMs, "DEVICE_RESET");
    }
    this.count();
    await this.init();
  }
}
