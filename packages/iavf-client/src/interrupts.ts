/**
 * MSI-X for the driver: the vectors' eventfds (through the `VfioDevice`), the MSI-X enable bit in config space (as
 * QEMU forwards it; kernel VFIO virtualises it), and the register writes of Linux's `iavf_misc_irq_enable/disable`
 * and `iavf_irq_enable_queues` around the mailbox vector 0.
 */
import { DynCtl, Icr0, Reg, vfintDynCtln1 } from "@emu/iavf-common";
import { decodeConfigSpace, PciMsix } from "@emu/pci-config";
import type { InterruptListener, IrqBinding, VfioDevice } from "@emu/vfio-device";
import { PciIrq, PciRegion } from "@emu/vfio-user-proto";
import type { Bar0 } from "./bar0.js";
import { deviceFailure, IavfClientError } from "./errors.js";

/** What Linux writes to enable a vector: INTENA and ITR_INDX = 3 (no ITR update). */
const ENABLE = DynCtl.INTENA | DynCtl.ITR_INDX_MASK;

export class Interrupts {
  private binding: IrqBinding | undefined;
  /** Interrupts seen per vector. */
  readonly counts: number[];

  constructor(
    private readonly device: VfioDevice,
    private readonly bar: Bar0,
    readonly vectors: number,
    private readonly listener: InterruptListener,
  ) {
    this.counts = new Array(vectors).fill(0);
  }

  /** Sets MSI-X enable in config space and assigns one eventfd per vector (0..vectors−1). */
  async enable(): Promise<void> {
    await this.disable();
    try {
      const info = await this.device.getIrqInfo(PciIrq.MSIX);
      if (info.count < this.vectors) {
        throw new IavfClientError(
          "Unsupported",
          `the device has ${info.count} MSI-X vectors, the driver needs ${this.vectors}`,
        );
      }
      await this.setMsixEnable(true);
      this.binding = await this.device.enableIrqs(PciIrq.MSIX, 0, this.vectors, (vector, count) => {
        if (vector < this.counts.length) this.counts[vector] = (this.counts[vector] ?? 0) + 1;
        this.listener(vector, count);
      });
    } catch (e) {
      throw deviceFailure("cannot set up MSI-X", e);
    }
  }

  /** De-assigns the eventfds (best effort). */
  async disable(): Promise<void> {
    const b = this.binding;
    this.binding = undefined;
    await b?.disable().catch(() => undefined);
  }

  get enabled(): boolean {
    return this.binding !== undefined;
  }

  /** `iavf_misc_irq_enable`: DYN_CTL01 = INTENA | ITR_INDX, ICR0_ENA1 = ADMINQ. */
  async miscEnable(): Promise<void> {
    await this.bar.write(Reg.VFINT_DYN_CTL01, ENABLE);
    await this.bar.write(Reg.VFINT_ICR0_ENA1, Icr0.ADMINQ);
  }

  /** `iavf_misc_irq_disable`: DYN_CTL01 = 0. */
  async miscDisable(): Promise<void> {
    await this.bar.write(Reg.VFINT_DYN_CTL01, 0);
  }

  /** The reads Linux's mailbox handler makes first ("these reads clear the registers"): ICR01, ICR0_ENA1. */
  async acknowledge(): Promise<number> {
    const icr = await this.bar.read(Reg.VFINT_ICR01);
    await this.bar.read(Reg.VFINT_ICR0_ENA1);
    return icr;
  }

  /** `iavf_irq_enable_queues`: DYN_CTLN1(v − 1) = INTENA | ITR_INDX for every queue vector. */
  async queuesEnable(): Promise<void> {
    for (let v = 1; v < this.vectors; v++) await this.bar.write(vfintDynCtln1(v - 1), ENABLE);
  }

  /** `iavf_irq_disable`: DYN_CTLN1(v − 1) = 0 for every queue vector. */
  async queuesDisable(): Promise<void> {
    for (let v = 1; v < this.vectors; v++) await this.bar.write(vfintDynCtln1(v - 1), 0);
  }

  private async setMsixEnable(on: boolean): Promise<void> {
    const cfg = await this.device.regionRead(PciRegion.CONFIG, 0n, 256);
    const d = decodeConfigSpace(cfg);
    if (!d.ok) throw new IavfClientError("Unsupported", `config space does not decode: ${d.error.message}`);
    const msix = d.value.capabilities.find((c) => c.kind === "msix");
    if (msix === undefined) throw new IavfClientError("Unsupported", "the device has no MSI-X capability");
    const at = msix.offset + PciMsix.FLAGS;
    const ctl = (cfg[at] ?? 0) | ((cfg[at + 1] ?? 0) << 8);
    const v = on ? ctl | PciMsix.FLAGS_ENABLE : ctl & ~PciMsix.FLAGS_ENABLE;
    if (v !== ctl) await this.device.regionWrite(PciRegion.CONFIG, BigInt(at), Uint8Array.of(v & 0xff, v >> 8));
  }
}
