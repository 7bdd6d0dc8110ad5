// The hostile guest's machinery: a vfio-user client (the VMM) with guest memory DMA-mapped (a memfd, with its fd or
// message-based), BAR0 through REGION_READ/WRITE and its doorbell pages, admin queues programmed by hand, and a
// region that is mapped, then unmapped, and aimed at afterwards. Every wait on the device has a deadline (a hang).
//
// Guest memory (1 MiB at GUEST) is laid out so that what the device may write is known: the ring areas and the ARQ
// buffers. The canary in the middle is never a ring base nor an ARQ buffer (ATQ buffers are never aimed at it either,
// since an ARQ ring moved onto the ATQ ring would take their addresses), so the device has no reason to touch it.
import { FuzzFailure } from "@emu/fuzz-kit";
import {
  AQ_BUFFER_SIZE,
  type AqDescriptor,
  AqFlag,
  AqLen,
  Reg,
  readAqDescriptor,
  VfrState,
  writeAqDescriptor,
} from "@emu/iavf-common";
import { closeFds, type Mapping, memfdCreate, mmap } from "@emu/sys";
import { RegionIo } from "@emu/vfio-device";
import { VfioUserClient } from "@emu/vfio-user-client";

export const GUEST = 0x4000_0000n;
export const GUEST_SIZE = 0x10_0000;
/** Offsets in guest memory. */
export const AREA = {
  ATQ: 0x0000,
  ARQ: 0x8000,
  ATQ_BUF: 0x10000,
  CANARY: 0x50000,
  CANARY_END: 0x90000,
  ARQ_BUF: 0x90000,
  /** Spare ring area (rings moved here, some straddling the table's end). */
  ALT: 0xd0000,
} as const;
/** A region mapped at the start of some sessions and unmapped later: the device must never touch it again. */
export const GONE = GUEST + 0x20_0000n;
const GONE_SIZE = 0x1_0000;

function ownMemory(name: string, size: number): { fd: number; map: Mapping } {
  const fd = memfdCreate(name, BigInt(size), { sealSize: true });
  try {
    return { fd, map: mmap(fd, 0n, size, "rw") };
  } catch (e) {
    closeFds([fd]);
    throw e;
  }
}

const CANARY_BYTE = (i: number): number => (i * 131 + 7) & 0xff;

/** `p` or a hang after `ms`. */
export async function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FuzzFailure("hang", `the device did not answer ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Ring {
  /** Where the guest thinks the ring is (offset in guest memory). */
  at: number;
  len: number;
}

export class Guest {
  readonly atq: Ring = { at: AREA.ATQ, len: 32 };
  readonly arq: Ring = { at: AREA.ARQ, len: 32 };
  /** ATQ next_to_use, ARQ next_to_clean. */
  ntu = 0;
  ntc = 0;
  private gone: { fd: number; map: Mapping; mapped: boolean } | undefined;

  private constructor(
    readonly client: VfioUserClient,
    readonly memory: Uint8Array,
    readonly bar: RegionIo,
    private readonly hangMs: number,
    private readonly own: { fd: number; map: Mapping },
  ) {}

  /**
   * Connects and maps guest memory: our own memfd (kept after the close, so that what the device wrote can still be
   * checked then), with its fd or message-based; with `withGone` the region to unmap later, also ours.
   */
  static async open(path: string, hangMs: number, messageBased: boolean, withGone: boolean): Promise<Guest> {
    const own = ownMemory("emu-fuzz-guest", GUEST_SIZE);
    let client: VfioUserClient | undefined;
    try {
      client = await deadline(VfioUserClient.connect(path), hangMs, "the connection");
      const memory = new Uint8Array(own.map.buffer);
      for (let i = AREA.CANARY; i < AREA.CANARY_END; i++) memory[i] = CANARY_BYTE(i);
      await deadline(
        client.dmaMap(GUEST, BigInt(GUEST_SIZE), { messageBased, file: { fd: own.fd, offset: 0n } }),
        hangMs,
        "DMA_MAP",
      );
      const bar = await deadline(RegionIo.open(client, 0), hangMs, "BAR0's region info");
      const g = new Guest(client, memory, bar, hangMs, own);
      if (withGone) await g.mapGone();
      return g;
    } catch (e) {
      await client?.close().catch(() => undefined);
      own.map.unmap();
      closeFds([own.fd]);
      throw e;
    }
  }

  private async mapGone(): Promise<void> {
    const { fd, map } = ownMemory("emu-fuzz-gone", GONE_SIZE);
    this.gone = { fd, map, mapped: false };
    await deadline(
      this.client.dmaMap(GONE, BigInt(GONE_SIZE), { file: { fd, offset: 0n } }),
      this.hangMs,
      "DMA_MAP of the region to unmap",
    );
    this.gone.mapped = true;
  }

  get goneMapped(): boolean {
    return this.gone?.mapped === true;
  }

  async unmapGone(): Promise<void> {
    if (this.gone?.mapped !== true) return;
    await deadline(this.client.dmaUnmap(GONE, BigInt(GONE_SIZE)), this.hangMs, "DMA_UNMAP");
    this.gone.mapped = false;
    // The device could write it while it was mapped (rings and buffers aimed at it); from now on it may not.
    const bytes = new Uint8Array(this.gone.map.buffer);
    for (let i = 0; i < GONE_SIZE; i++) bytes[i] = CANARY_BYTE(i + 3);
  }

  /** Where the device wrote what it had no business writing: the canary, or the region once unmapped. */
  trespasses(): string[] {
    const out: string[] = [];
    for (let i = AREA.CANARY; i < AREA.CANARY_END; i++)
      if (this.memory[i] !== CANARY_BYTE(i)) {
        let j = i;
        while (j < AREA.CANARY_END && this.memory[j] !== CANARY_BYTE(j)) j++;
        out.push(
          `guest memory at +0x${i.toString(16)}..+0x${j.toString(16)} (the canary, never given to the device) was written: ${Buffer.from(this.memory.subarray(i, Math.min(j, i + 32))).toString("hex")}`,
        );
        break;
      }
    if (this.gone !== undefined && !this.gone.mapped) {
      // Unmapped by DMA_UNMAP (or with the connection): the device must not have written it since.
      const bytes = new Uint8Array(this.gone.map.buffer);
      for (let i = 0; i < GONE_SIZE; i++)
        if (bytes[i] !== CANARY_BYTE(i + 3)) {
          out.push(`the unmapped region at +0x${i.toString(16)} was written after its DMA_UNMAP`);
          break;
        }
    }
    return out;
  }

  /** Closes the connection; the memory stays ours until `release`. */
  async close(): Promise<void> {
    this.bar.close();
    await deadline(this.client.close(), this.hangMs, "the close");
  }

  release(): void {
    for (const m of [this.own, this.gone]) {
      if (m === undefined) continue;
      m.map.unmap();
      closeFds([m.fd]);
    }
    this.gone = undefined;
  }

  get view(): DataView {
    return new DataView(this.memory.buffer, this.memory.byteOffset, this.memory.byteLength);
  }

  r32(offset: number): Promise<number> {
    return deadline(this.bar.read32(BigInt(offset)), this.hangMs, `a read of BAR0+0x${offset.toString(16)}`);
  }

  w32(offset: number, value: number): Promise<void> {
    return deadline(
      this.bar.write32(BigInt(offset), value >>> 0),
      this.hangMs,
      `a write of BAR0+0x${offset.toString(16)}`,
    );
  }

  /** Polls VFGEN_RSTAT until VFACTIVE (a reset that never completes is a hang). */
  async untilActive(): Promise<void> {
    const end = Date.now() + this.hangMs;
    while (((await this.r32(Reg.VFGEN_RSTAT)) & 3) !== VfrState.VFACTIVE) {
      if (Date.now() > end)
        throw new FuzzFailure("hang", `VFGEN_RSTAT did not reach VFACTIVE within ${this.hangMs} ms`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  desc(ring: Ring, index: number): AqDescriptor {
    return readAqDescriptor(this.view, ring.at + 32 * index);
  }

  /** An ARQ buffer posted in slot i (its buffer in the ARQ buffer area; slots beyond 64 share). */
  postArq(i: number, over: Partial<AqDescriptor> = {}): void {
    const addr = GUEST + BigInt(AREA.ARQ_BUF + (i % 64) * AQ_BUFFER_SIZE);
    writeAqDescriptor(this.view, this.arq.at + 32 * i, {
      flags: AqFlag.BUF | AqFlag.LB,
      opcode: 0,
      datalen: AQ_BUFFER_SIZE,
      retval: 0,
      cookieHigh: 0,
      cookieLow: 0,
      param0: 0,
      param1: 0,
      addrHigh: Number(addr >> 32n),
      addrLow: Number(addr & 0xffff_ffffn),
      ...over,
    });
  }

  /** Both admin queues in Linux's order (H, T, LEN|ENABLE, BAL, BAH) or VPP's (LEN last), ARQ buffers posted. */
  async initAdminQueues(atqLen: number, arqLen: number, order: "linux" | "vpp"): Promise<void> {
    this.atq.at = AREA.ATQ;
    this.atq.len = atqLen;
    this.arq.at = AREA.ARQ;
    this.arq.len = arqLen;
    this.ntu = 0;
    this.ntc = 0;
    this.memory.fill(0, AREA.ATQ, AREA.ATQ_BUF);
    for (let i = 0; i < arqLen; i++) this.postArq(i);
    const rings = [
      [Reg.VF_ATQH1, Reg.VF_ATQT1, Reg.VF_ATQLEN1, Reg.VF_ATQBAL1, Reg.VF_ATQBAH1, this.atq],
      [Reg.VF_ARQH1, Reg.VF_ARQT1, Reg.VF_ARQLEN1, Reg.VF_ARQBAL1, Reg.VF_ARQBAH1, this.arq],
    ] as const;
    for (const [h, t, len, bal, bah, ring] of rings) {
      const base = GUEST + BigInt(ring.at);
      const program = [() => this.w32(bal, Number(base & 0xffff_ffffn)), () => this.w32(bah, Number(base >> 32n))];
      if (order === "linux") {
        await this.w32(h, 0);
        await this.w32(t, 0);
        await this.w32(len, ring.len | AqLen.ENABLE);
        for (const p of program) await p();
      } else {
        await this.w32(len, 0);
        await this.w32(t, 0);
        await this.w32(h, 0);
        for (const p of program) await p();
        await this.w32(len, ring.len | AqLen.ENABLE);
      }
    }
    await this.w32(Reg.VF_ARQT1, arqLen - 1);
  }
}
