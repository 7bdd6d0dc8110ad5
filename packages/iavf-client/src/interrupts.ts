/**
 * MSI-X for the driver: the vectors' eventfds (through the `VfioDevice`), MSI-X enable in config space (the shared
 * `enableMsix`/`disableMsix` of `@emu/vfio-device`), and the register writes of Linux's `iavf_misc_irq_enable/disable`
 * and `iavf_irq_enable_queues` around the mailbox vector 0.
 */
import { DynCtl, Icr0, Reg, vfintDynCtln1 } from "@emu/iavf-common";
import { disableMsix, enableMsix, type InterruptListener, type IrqBinding, type VfioDevice } from "@emu/vfio-device";
import { PciIrq } from "@emu/vfio-user-proto";
import type { Bar0 } from "./bar0.js";
import { deviceFailure, IavfClientError } from "./errors.js";

/** What Linux writes to enable a vector: INTENA and ITR_INDX = 3 (no ITR update). */
const ENABLE = DynCtl.INTENA | DynCtl.ITR_INDX_MASK;

/** A live migration's move of the vectors (`Interrupts.bindOn`): kept or dropped once the migration is over. */
export interface IrqMove {
  /** The migration succeeded: the new device's eventfds are the vectors now; the old ones are let go. */
  commit(): Promise<void>;
  /** It failed: the new device's eventfds are let go; the old ones stay. */
  abort(): Promise<void>;
}

export class Interrupts {
  private binding: IrqBinding | undefined;
  /** Interrupts seen per vector. */
  readonly counts: number[];

  constructor(
    private device: VfioDevice,
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
      // What the guest kernel does (pci_enable_msix): the used table entries unmasked, then MSI-X Enable.
      await enableMsix(
        this.device,
        Array.from({ length: this.vectors }, (_, v) => v),
      );
      this.binding = await this.bind(this.device);
    } catch (e) {
      throw deviceFailure("cannot set up MSI-X", e);
    }
  }

  private bind(device: VfioDevice): Promise<IrqBinding> {
    return device.enableIrqs(PciIrq.MSIX, 0, this.vectors, (vector, count) => {
      if (vector < this.counts.length) this.counts[vector] = (this.counts[vector] ?? 0) + 1;
      this.listener(vector, count);
    });
  }

  /**
   * Live migration, at the destination before it runs (where QEMU's vfio-pci, loading the config state, enables
   * MSI-X): the same vectors, with eventfds of their own, assigned on `device` by SET_IRQS. MSI-X enable and the table
   * are the VMM's PCI state, copied by the migration; nothing is written to config space here.
   */
  async bindOn(device: VfioDevice): Promise<IrqMove> {
    if (this.binding === undefined) return { commit: async () => undefined, abort: async () => undefined };
    let next: IrqBinding;
    try {
      next = await this.bind(device);
    } catch (e) {
      throw deviceFailure("cannot assign the MSI-X eventfds on the new device", e);
    }
    return {
      commit: async () => {
        const old = this.binding;
        this.binding = next;
        this.device = device;
        await old?.disable().catch(() => undefined); // the stopped source's eventfds (its connection closes anyway)
      },
      abort: () => next.disable().catch(() => undefined),
    };
  }

  /** De-assigns the eventfds and clears MSI-X Enable (best effort: the device may be gone). */
  async disable(): Promise<void> {
    const b = this.binding;
    this.binding = undefined;
    if (b === undefined) return;
    await b.disable().catch(() => undefined);
    await disableMsix(this.device).catch(() => undefined);
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
}
