// BAR0 as the guest reaches it: the trapped 32-bit registers (everything but the doorbell pages, which the server
// serves from shared memory), accesses of any size and alignment split into the registers they cover, and the
// registers with side effects handed to the device. Every register reads back what was written, except the
// read-only ones (VFGEN_RSTAT, VFINT_ICR01, which a read clears) and the write-only bits of the DYN_CTLs.
import { BAR0_SIZE, Reg, RSS_REGISTER_RANGE, vfintDynCtln1 } from "@emu/iavf-common";

/** Register offsets with side effects, and what the device does with them. */
export interface Bar0Effects {
  /** A write of a register the device acts on (its new value is already stored); may return a promise. */
  write(offset: number, value: number): Promise<void> | undefined;
  /** A read the device answers itself (VFINT_ICR01); undefined: the stored value. */
  read(offset: number): number | undefined;
}

const WORDS = BAR0_SIZE / 4;
const READ_ONLY = new Set<number>([Reg.VFGEN_RSTAT, Reg.VFINT_ICR01]);

/** Registers whose writes the device acts on. */
function isActive(offset: number): boolean {
  if (offset >= vfintDynCtln1(0) && offset < vfintDynCtln1(64)) return true;
  if (offset >= RSS_REGISTER_RANGE.offset && offset < RSS_REGISTER_RANGE.offset + RSS_REGISTER_RANGE.size) return true;
  switch (offset) {
    case Reg.VFINT_DYN_CTL01:
    case Reg.VF_ATQT1:
    case Reg.VF_ARQT1:
    case Reg.VF_ARQH1:
    case Reg.VF_ARQLEN1:
    case Reg.VF_ATQLEN1:
      return true;
    default:
      return false;
  }
}

export class Bar0 {
  /** The trapped registers' values. */
  private readonly words = new Uint32Array(WORDS);

  constructor(private readonly effects: Bar0Effects) {}

  get(offset: number): number {
    return this.words[offset >>> 2] ?? 0;
  }

  set(offset: number, value: number): void {
    if (offset >= 0 && offset < BAR0_SIZE) this.words[offset >>> 2] = value >>> 0;
  }

  /** Zeroes registers (a reset). */
  clear(offsets: Iterable<number>): void {
    for (const o of offsets) this.set(o, 0);
  }

  /** A guest read of `length` bytes at `offset` (trapped, so outside the doorbell pages). */
  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    const first = offset & ~3;
    for (let word = first; word < offset + length; word += 4) {
      const v = this.effects.read(word) ?? this.get(word);
      for (let b = 0; b < 4; b++) {
        const at = word + b - offset;
        if (at >= 0 && at < length) out[at] = (v >>> (8 * b)) & 0xff;
      }
    }
    return out;
  }

  /** A guest write: each register it covers is merged, stored and acted on in address order. */
  write(offset: number, data: Uint8Array): Promise<void> | undefined {
    let pending: Promise<void> | undefined;
    const first = offset & ~3;
    for (let word = first; word < offset + data.length; word += 4) {
      let v = this.get(word);
      for (let b = 0; b < 4; b++) {
        const at = word + b - offset;
        if (at < 0 || at >= data.length) continue;
        v = (v & ~(0xff << (8 * b))) | ((data[at] ?? 0) << (8 * b));
      }
      if (READ_ONLY.has(word)) continue;
      this.set(word, v);
      if (!isActive(word)) continue;
      const p =
        pending === undefined
          ? this.effects.write(word, v >>> 0)
          : pending.then(() => this.effects.write(word, v >>> 0));
      if (p !== undefined) pending = p;
    }
    return pending;
  }
}
