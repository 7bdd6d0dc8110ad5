// Queue interrupts handed to the delegate. The delegate's queues raise the guest's own vector numbers (the plan's
// IRQ map, `direct`), and each of those delegate vectors is given the guest's eventfd for it while the guest has one
// and has the vector unmasked: the delegate then signals the guest itself, this process is not on the path.
// Otherwise (no eventfd, masked) the vector is given an eventfd of ours, whose signal is raised as the guest's through
// the NIC view — left pending while masked, as the front's server does. The server tells us of every change of the
// guest's eventfds and masks (`dev.watchIrqs`) and answers the request that made it only once the delegate's vector
// points where it now must: a VMM that took an eventfd back knows the delegate signals it no more. The guest's writes
// of its vectors' DYN_CTLN1 (INTENA, the ITR index and interval) are passed on to the delegate's, which gates and
// moderates its own raising with them; a software interrupt the guest asks for (SWINT_TRIG) is the front's to raise.
import type { EmudevResources } from "@emu/emudev";
import { DynCtl, vfintDynCtln1 } from "@emu/iavf-common";
import { type IavfNic, REGISTER_BAR } from "@emu/iavf-emu";
import { EventFd } from "@emu/sys";
import { enableMsix, type VfioDevice } from "@emu/vfio-device";
import { PciIrq } from "@emu/vfio-user-proto";

/** INTENA, no ITR update (as Linux's NAPI re-arm). */
const ARM = DynCtl.INTENA | DynCtl.ITR_INDX_MASK;

export class IrqDirect {
  /** Per delegate vector in use: our eventfd (the fallback while the guest's cannot be handed over). */
  readonly #own = new Map<number, EventFd>();
  /** Per vector: whether the delegate holds the guest's eventfd now. */
  readonly #handed = new Map<number, boolean>();
  #off: (() => void)[] = [];
  #chain: Promise<void> = Promise.resolve();
  /** Interrupts that came through our eventfds (the guest's vector masked, or without an eventfd, at the time). */
  relayed = 0;

  constructor(
    private readonly device: VfioDevice,
    private readonly report: (e: unknown) => void,
  ) {}

  /** The vectors whose delegate vector holds the guest's eventfd now. */
  get direct(): number {
    let n = 0;
    for (const on of this.#handed.values()) if (on) n++;
    return n;
  }

  /** Takes over the delegate's vectors `vectors` (the guest's queue vectors, ≥ 1) for `dev`'s guest. */
  async start(dev: EmudevResources, nic: IavfNic, vectors: readonly number[]): Promise<void> {
    await this.stop();
    if (vectors.length === 0) return;
    await enableMsix(
      this.device,
      Array.from({ length: Math.max(...vectors) + 1 }, (_, v) => v),
    );
    for (const v of vectors) {
      const e = EventFd.create();
      e.watch(() => {
        this.relayed++;
        nic.interrupt(v);
      });
      this.#own.set(v, e);
    }
    await this.route(dev, vectors);
    this.#off.push(
      dev.watchIrqs((changed) => this.route(dev, changed)),
      nic.watchDynCtl((v, value) => {
        if (this.#own.has(v)) this.dynCtl(v, value & ~DynCtl.SWINT_TRIG);
      }),
    );
    // What the guest armed before we followed it is armed in the delegate too; and one interrupt of each, in case a
    // cause the delegate raised while its vector had no eventfd (before this) was lost: NAPI finds nothing, or what
    // waits.
    for (const v of vectors)
      if (nic.interruptArmed(v)) {
        this.dynCtl(v, ARM);
        nic.interrupt(v);
      }
  }

  /** Gives the vectors back: the delegate's de-assigned, our eventfds closed. */
  async stop(): Promise<void> {
    for (const off of this.#off.splice(0)) off();
    await this.#chain;
    const had = this.#own.size > 0;
    if (had) await this.device.disableIrqs(PciIrq.MSIX).catch((e) => this.report(e));
    for (const e of this.#own.values()) e.close();
    this.#own.clear();
    this.#handed.clear();
  }

  /**
   * Points the delegate's vectors `vectors` at the guest's eventfd, or ours: one after the other (a change notice
   * while one is under way waits for it). The server's reply to the guest's request waits for this.
   */
  private route(dev: EmudevResources, vectors: readonly number[]): Promise<void> {
    const next = this.#chain.then(async () => {
      for (const v of vectors) {
        const own = this.#own.get(v);
        if (own === undefined || own.closed) continue;
        let fd: number | undefined;
        try {
          const irq = dev.irq(v);
          fd = irq.masked() ? undefined : irq.eventfd();
        } catch {
          fd = undefined; // the device stopped: ours until it runs again
        }
        await this.device.setIrqs({
          index: PciIrq.MSIX,
          action: "trigger",
          start: v,
          count: 1,
          data: { kind: "eventfd", fds: [fd ?? own.fd] },
        });
        this.#handed.set(v, fd !== undefined);
      }
    });
    this.#chain = next.catch((e) => this.report(e));
    return next;
  }

  /** Writes `value` to the delegate's DYN_CTLN1 of vector `v`. */
  private dynCtl(v: number, value: number): void {
    const word = new Uint8Array(4);
    new DataView(word.buffer).setUint32(0, value, true);
    this.device.regionWrite(REGISTER_BAR, BigInt(vfintDynCtln1(v - 1)), word).catch((e) => this.report(e));
  }
}
