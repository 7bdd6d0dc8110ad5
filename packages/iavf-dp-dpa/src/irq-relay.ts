// Queue interrupts from the delegate to the guest. The delegate's pair q raises its own vector `delegateVector(q)`
// (CONFIG_IRQ_MAP sent by the plan), whose eventfd this process holds; the front then raises the guest's vectors of
// that pair through the NIC view, which applies the guest's INTENA (held until it re-arms) and MSI-X masks, and
// writes the guest's eventfd. The delegate's vector is armed only while the guest's is: a polling guest, which never
// arms, costs nothing; an interrupt-driven one costs one eventfd wake and one register write per interrupt.
import type { EmudevResources } from "@emu/emudev";
import { DynCtl, MAX_VECTORS, vfintDynCtln1 } from "@emu/iavf-common";
import { type IavfNic, REGISTER_BAR, rxQueueId, txQueueId } from "@emu/iavf-emu";
import { enableMsix, type IrqBinding, type VfioDevice } from "@emu/vfio-device";
import { PciIrq } from "@emu/vfio-user-proto";

/** The delegate's vector for pair q: one per pair, round robin over its queue vectors (vector 0 is the mailbox). */
export function delegateVector(q: number, vectors: number): number {
  return 1 + (q % Math.max(1, vectors - 1));
}

/** INTENA, no ITR update (as Linux's NAPI re-arm). */
const ARM = DynCtl.INTENA | DynCtl.ITR_INDX_MASK;

export class IrqRelay {
  #binding: IrqBinding | undefined;
  #off: (() => void) | undefined;
  /** Interrupts taken from the delegate. */
  taken = 0;

  constructor(
    private readonly device: VfioDevice,
    private readonly pairs: number,
    /** The delegate's MSI-X vectors (GET_VF_RESOURCES max_vectors). */
    private readonly vectors: number,
    private readonly report: (e: unknown) => void,
  ) {}

  /** Assigns eventfds to the delegate's queue vectors (MSI-X enabled in its config space) and follows `dev`'s guest. */
  async start(dev: EmudevResources, nic: IavfNic): Promise<void> {
    await this.stop();
    const count = Math.min(this.pairs, this.vectors - 1);
    if (count < 1) return;
    await enableMsix(
      this.device,
      Array.from({ length: count + 1 }, (_, v) => v),
    );
    this.#binding = await this.device.enableIrqs(PciIrq.MSIX, 1, count, (vector) => this.onDelegate(dev, nic, vector));
    this.#off = nic.watchInterrupts((v, armed) => {
      if (armed) this.armFor(dev, v);
    });
    // The guest's queue vectors (its MSI-X table: vector 0 is the mailbox) that it armed before we followed it.
    for (let v = 1; v < MAX_VECTORS; v++) if (nic.interruptArmed(v)) this.armFor(dev, v);
  }

  async stop(): Promise<void> {
    this.#off?.();
    this.#off = undefined;
    const b = this.#binding;
    this.#binding = undefined;
    await b?.disable().catch((e) => this.report(e));
  }

  /** The delegate raised `vector`: the guest's vectors of the pairs behind it are raised (as its controls allow). */
  private onDelegate(dev: EmudevResources, nic: IavfNic, vector: number): void {
    this.taken++;
    const raised = new Set<number>();
    for (let q = 0; q < this.pairs; q++) {
      if (delegateVector(q, this.vectors) !== vector) continue;
      for (const id of [rxQueueId(q), txQueueId(q)]) {
        const v = dev.queue(id).irqVector;
        if (v > 0 && !raised.has(v)) {
          raised.add(v);
          nic.interrupt(v);
        }
      }
    }
  }

  /** The guest armed `v`: arm the delegate's vectors of the pairs that raise it. */
  private armFor(dev: EmudevResources, v: number): void {
    if (this.#binding === undefined) return;
    const arm = new Set<number>();
    for (let q = 0; q < this.pairs; q++)
      if (dev.queue(rxQueueId(q)).irqVector === v || dev.queue(txQueueId(q)).irqVector === v)
        arm.add(delegateVector(q, this.vectors));
    for (const dv of arm) {
      const word = new Uint8Array(4);
      new DataView(word.buffer).setUint32(0, ARM, true);
      this.device.regionWrite(REGISTER_BAR, BigInt(vfintDynCtln1(dv - 1)), word).catch((e) => this.report(e));
    }
  }
}
