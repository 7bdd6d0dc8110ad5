// The interrupt controls of BAR0 in front of the MSI-X vectors: VFINT_DYN_CTL01 (vector 0, the mailbox) and
// VFINT_DYN_CTLN1(v - 1) (queue vectors), the mailbox causes (VFINT_ICR01 / VFINT_ICR0_ENA1), and the ITR registers.
//
// A vector fires only while its INTENA is set, and firing clears INTENA (drivers re-arm after each interrupt); a
// cause that arrives while INTENA is clear is held and fires when the driver re-arms. SWINT_TRIG with INTENA fires at
// once. A write with ITR_INDX 0..2 stores INTERVAL into that ITR. CLEARPBA and SWINT_TRIG read back as 0.
import { DynCtl, Icr0, Reg, vfintDynCtln1, vfintItr01, vfintItrn1 } from "@emu/iavf-common";

/** Where the controls live: trapped registers (vector 0's ITRs, the DYN_CTLs) and the RX doorbell page (ITRN1). */
export interface InterruptRegisters {
  get(offset: number): number;
  set(offset: number, value: number): void;
  /** VFINT_ITRN1 words live in shared memory (the RX-tail page); read and write them there. */
  getShared(offset: number): number;
  setShared(offset: number, value: number): void;
}

/** What raising a vector became: sent to the client, pending behind an MSI-X mask, dropped, or held by INTENA. */
export type VectorResult = "delivered" | "pending" | "dropped" | "held";

const WRITE_ONLY = DynCtl.CLEARPBA | DynCtl.SWINT_TRIG;
const ITR_COUNT = 3;

/** The DYN_CTL register of MSI-X `vector`. */
export function dynCtlOffset(vector: number): number {
  return vector === 0 ? Reg.VFINT_DYN_CTL01 : vfintDynCtln1(vector - 1);
}

/** The ITR register `index` (0..2) of MSI-X `vector`, and whether it is in shared memory. */
function itrRegister(vector: number, index: number): { offset: number; shared: boolean } {
  return vector === 0
    ? { offset: vfintItr01(index), shared: false }
    : { offset: vfintItrn1(index, vector - 1), shared: true };
}

export class InterruptControl {
  private readonly held: boolean[];
  /** INTENA of each vector as `onArmChange` was last told. */
  private readonly told: boolean[];
  /** Told when a vector's INTENA changes (a guest write, or firing); not told of a reset's clearing. */
  onArmChange: ((vector: number, armed: boolean) => void) | undefined;
  /** Told of every guest write of a vector's DYN_CTL register, with the value written (before it takes effect here). */
  onWrite: ((vector: number, value: number) => void) | undefined;

  constructor(
    private readonly vectors: number,
    private readonly regs: InterruptRegisters,
    /** Raises the MSI-X vector towards the client. */
    private readonly raise: (vector: number) => "delivered" | "pending" | "dropped",
  ) {
    this.held = new Array(vectors).fill(false);
    this.told = new Array(vectors).fill(false);
  }

  /** A guest write of VFINT_DYN_CTL01 / VFINT_DYN_CTLN1. */
  writeDynCtl(vector: number, value: number): void {
    this.onWrite?.(vector, value);
    const index = (value & DynCtl.ITR_INDX_MASK) >>> DynCtl.ITR_INDX_SHIFT;
    if (index !== DynCtl.ITR_NONE) this.setItr(vector, index, (value & DynCtl.INTERVAL_MASK) >>> DynCtl.INTERVAL_SHIFT);
    this.regs.set(dynCtlOffset(vector), (value & ~WRITE_ONLY) >>> 0);
    if ((value & DynCtl.INTENA) !== 0 && ((value & DynCtl.SWINT_TRIG) !== 0 || this.held[vector])) this.deliver(vector);
    this.tell(vector);
  }

  /** Tells `onArmChange` when INTENA of `vector` differs from what it was last told. */
  private tell(vector: number): void {
    const armed = this.armed(vector);
    if (armed === this.told[vector]) return;
    this.told[vector] = armed;
    this.onArmChange?.(vector, armed);
  }

  /** Whether INTENA of `vector` is set. */
  armed(vector: number): boolean {
    return (this.regs.get(dynCtlOffset(vector)) & DynCtl.INTENA) !== 0;
  }

  /** A cause for `vector`: delivered if armed (which disarms it), else held until the driver re-arms. */
  fire(vector: number): VectorResult {
    if (!this.armed(vector)) {
      this.held[vector] = true;
      return "held";
    }
    return this.deliver(vector);
  }

  private deliver(vector: number): VectorResult {
    this.held[vector] = false;
    const off = dynCtlOffset(vector);
    this.regs.set(off, (this.regs.get(off) & ~DynCtl.INTENA) >>> 0);
    const r = this.raise(vector);
    this.tell(vector);
    return r;
  }

  /** The admin queue posted a message: ICR01.ADMINQ, and vector 0 if the cause is enabled (VFINT_ICR0_ENA1). */
  mailboxCause(): VectorResult | "disabled" {
    this.regs.set(Reg.VFINT_ICR01, (this.regs.get(Reg.VFINT_ICR01) | Icr0.ADMINQ) >>> 0);
    if ((this.regs.get(Reg.VFINT_ICR0_ENA1) & Icr0.ADMINQ) === 0) return "disabled";
    return this.fire(0);
  }

  /** A guest read of VFINT_ICR01: the causes, cleared by the read. */
  readIcr(): number {
    const v = this.regs.get(Reg.VFINT_ICR01);
    this.regs.set(Reg.VFINT_ICR01, 0);
    return v;
  }

  /** ITR `index` (0..2) of `vector`, in 2 µs units. */
  itr(vector: number, index: number): number {
    if (!Number.isInteger(vector) || vector < 0 || vector >= this.vectors) return 0;
    if (!Number.isInteger(index) || index < 0 || index >= ITR_COUNT) return 0;
    const r = itrRegister(vector, index);
    return r.shared ? this.regs.getShared(r.offset) : this.regs.get(r.offset);
  }

  private setItr(vector: number, index: number, interval: number): void {
    const r = itrRegister(vector, index);
    if (r.shared) this.regs.setShared(r.offset, interval);
    else this.regs.set(r.offset, interval);
  }

  /** Held causes and told INTENA states as bitmasks (bit v = vector v), for a migration stream. */
  snapshot(): { held: number; told: number } {
    let held = 0;
    let told = 0;
    for (let v = 0; v < this.vectors; v++) {
      if (this.held[v]) held |= 1 << v;
      if (this.told[v]) told |= 1 << v;
    }
    return { held, told };
  }

  /** Restores `snapshot()` (the registers are restored by the caller). */
  restore(s: { held: number; told: number }): void {
    for (let v = 0; v < this.vectors; v++) {
      this.held[v] = (s.held & (1 << v)) !== 0;
      this.told[v] = (s.told & (1 << v)) !== 0;
    }
  }

  /** Nothing held (the registers are cleared by the caller). */
  reset(): void {
    this.held.fill(false);
    this.told.fill(false);
  }
}
