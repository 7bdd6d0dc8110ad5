// One front device served by one delegate: the delegate iavf device is driven by @emu/iavf-client's driver (admin
// queue, VERSION, GET_VF_RESOURCES, resets, GET_STATS) as a control driver only — its own rings are disabled at once —
// and told, in its own virtchnl, what the front's guest configured: the guest's memory DMA-mapped at the same IOVAs,
// the guest's rings, vectors and enables. The guest's tail stores reach the delegate's doorbell page directly or
// through the relay thread (`doorbell-path.ts`); the delegate's queue interrupts are raised as the guest's
// (`irq-relay.ts`); its counters are added to the front's (GET_STATS); its link becomes the front's link.
import type { EmudevResources } from "@emu/emudev";
import { IavfDriver } from "@emu/iavf-client";
import { ETH_STATS_FIELDS, type EthStats, encodeVirtchnl } from "@emu/iavf-common";
import { type IavfNic, type IavfStatsDelta, iavf } from "@emu/iavf-emu";
import type { VfioDevice } from "@emu/vfio-device";
import { DELEGATE_IOVA_BASE, DmaMirror } from "./dma-mirror.js";
import { type DoorbellMode, DoorbellPath } from "./doorbell-path.js";
import { type FilterState, planFilters } from "./filter-plan.js";
import { IrqDirect } from "./irq-direct.js";
import { IrqRelay } from "./irq-relay.js";
import { guestPairs, guestVectorsFit, OFF_PAIR, type PairConfig, planQueues, queueVectors } from "./queue-plan.js";

/** How often the delegate's counters are read (GET_STATS) and added to the front's. */
const STATS_INTERVAL_MS = 100;

/** The delegate's own rings, enabled by the driver's bring-up (and again after each of its resets). */
const OWN_RINGS: PairConfig = {
  rxBase: -1n,
  rxLen: -1,
  rxBuf: 0,
  rxMax: 0,
  txBase: -1n,
  txLen: -1,
  rxOn: true,
  txOn: true,
  rxVec: -1,
  txVec: -1,
};

export interface DelegateCounters {
  /** How the guest's tails reach the delegate now: its page mapped by the guest, copied by the relay, or neither. */
  readonly doorbells: DoorbellMode;
  /** Tail values the relay thread copied. */
  readonly doorbellCopies: number;
  /**
   * Interrupts the delegate raised through this process (each then raised to the guest as its controls allow): all
   * of them on the relayed path; on the direct path only those of a vector the guest had masked or given no eventfd.
   */
  readonly interrupts: number;
  /** Guest vectors whose eventfd the delegate holds now (the direct path; 0 on the relayed one). */
  readonly directVectors: number;
  /** Guest mappings mirrored into the delegate now; refused ones (no fd, or in the delegate's own window). */
  readonly dmaMappings: number;
  readonly dmaRefused: number;
  /** Queue reconfigurations sent (each a plan of DISABLE/CONFIG/IRQ_MAP/ENABLE). */
  readonly syncs: number;
  /** Resets the delegate went through (its driver set it up again, and we the guest's queues). */
  readonly delegateResets: number;
}

export class Delegate {
  readonly #pairs: number;
  readonly #mirror: DmaMirror;
  readonly #vectors: number;
  readonly #irqs: IrqRelay;
  readonly #direct: IrqDirect;
  #irqsFor: EmudevResources | undefined;
  /** The interrupt path taken for `#irqsFor`: "relay", or "direct:<the guest's queue vectors>". */
  #irqKey: string | undefined;
  #filters: FilterState | undefined;
  #dev: EmudevResources | undefined;
  #nic: IavfNic | undefined;
  #off: (() => void)[] = [];
  #applied: PairConfig[];
  #chain: Promise<void> = Promise.resolve();
  #queued = false;
  readonly #doorbells: DoorbellPath;
  #timer: NodeJS.Timeout | undefined;
  #given: EthStats | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #syncs = 0;
  #resets = 0;

  private constructor(
    readonly device: VfioDevice,
    readonly driver: IavfDriver,
    private readonly report: (e: unknown) => void,
  ) {
    this.#pairs = driver.queueCount;
    this.#vectors = driver.resources?.maxVectors ?? 0;
    this.#irqs = new IrqRelay(device, this.#pairs, this.#vectors, report);
    this.#direct = new IrqDirect(device, report);
    this.#doorbells = new DoorbellPath(driver, report);
    this.#applied = Array.from({ length: this.#pairs }, () => OWN_RINGS);
    this.#mirror = new DmaMirror(device, report);
    driver.on("reset", (r) => {
      if (!r.done) return;
      this.#resets++;
      this.#applied = this.#applied.map(() => OWN_RINGS);
      this.#irqsFor = undefined; // a reset may have dropped the eventfds: assigned again
      this.#filters = undefined; // and the delegate forgot the filters
      this.schedule();
    });
    driver.on("link", (l) => this.#nic?.setLink(l.up, l.up ? l.speedMbps : undefined));
    driver.on("error", (e) => {
      this.report(e);
      this.#nic?.setLink(false);
    });
  }

  /**
   * Brings the delegate up as a control driver for `pairs` queue pairs (its own admin queue and DMA memory above
   * `DELEGATE_IOVA_BASE`), its own rings then disabled.
   * `device` stays the caller's on failure.
   */
  static async open(device: VfioDevice, pairs: number, report: (e: unknown) => void): Promise<Delegate> {
    const driver = await IavfDriver.attach(device, {
      queuePairs: pairs,
      interrupts: false,
      ownBuffers: false,
      promiscuous: false,
      statsIntervalMs: 0,
      txRingSize: 64,
      rxRingSize: 64,
      dma: { iovaBase: DELEGATE_IOVA_BASE },
    });
    const d = new Delegate(device, driver, report);
    try {
      await d.run(() => d.apply(d.#applied.map(() => OFF_PAIR)));
      d.#given = await driver.stats();
    } catch (e) {
      await driver.close().catch(() => undefined);
      throw e;
    }
    return d;
  }

  get pairs(): number {
    return this.#pairs;
  }

  counters(): DelegateCounters {
    return {
      doorbells: this.#doorbells.mode,
      doorbellCopies: this.#doorbells.copies,
      interrupts: this.#irqs.taken + this.#direct.relayed,
      directVectors: this.#direct.direct,
      dmaMappings: this.#mirror.size,
      dmaRefused: this.#mirror.refused,
      syncs: this.#syncs,
      delegateResets: this.#resets,
    };
  }

  /** Serves `dev` (an emu_iavf device) from now on: follows its DMA table, queues and connection. */
  bind(dev: EmudevResources): void {
    this.#dev = dev;
    this.#nic = iavf(dev);
    this.#off.push(
      dev.on("dmaTable", () => this.schedule()),
      dev.on("connection", () => this.schedule()),
      dev.on("reset", () => this.schedule()),
      dev.on("attribute", (e) => {
        if (e.name === "rss" || e.name === "filters" || e.name === "irqMap") this.schedule();
      }),
    );
    this.#doorbells.offer(dev); // a guest connecting from now on maps the delegate's doorbell page itself
    this.#timer = setInterval(() => void this.pullStats(), STATS_INTERVAL_MS);
    this.#timer.unref();
    if (this.driver.link.up) this.#nic.setLink(true, this.driver.link.speedMbps);
    this.schedule();
  }

  /** Brings the delegate to what the guest configured now (coalesced: one pass for a burst of changes). */
  schedule(): void {
    this.#doorbells.setEnabled(this.#dev);
    if (this.#queued || this.#closed) return;
    this.#queued = true;
    void this.run(async () => {
      this.#queued = false;
      await this.sync();
    }).catch((e) => this.report(e));
  }

  /** Stops serving the device: the guest's queues disabled in the delegate, the relay stopped, memory unmapped. */
  async unbind(): Promise<void> {
    if (this.#dev !== undefined) this.#doorbells.withdraw(this.#dev); // at once: the next guest maps the front's page
    for (const off of this.#off.splice(0)) off();
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.run(async () => {
      try {
        await this.apply(this.#applied.map(() => OFF_PAIR));
      } finally {
        // Whatever the delegate answered (it may be gone): no thread, eventfd or mapping of ours is left behind.
        await this.#doorbells.stop();
        await this.#irqs.stop();
        await this.#direct.stop();
        this.#irqsFor = undefined;
        this.#irqKey = undefined;
        await this.#mirror.clear();
      }
    });
    await this.pullStats();
    this.#dev = undefined;
    this.#nic = undefined;
  }

  /** Lets the delegate go: unbind, the driver closed (RESET_VF), the device closed. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.shutDown();
    return this.#closing;
  }

  private async shutDown(): Promise<void> {
    await this.unbind().catch((e) => this.report(e));
    this.#closed = true;
    await this.driver.close().catch((e) => this.report(e));
    await this.device.close().catch((e) => this.report(e));
    this.#mirror.drop();
  }

  private run(step: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(step);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  private async sync(): Promise<void> {
    const dev = this.#dev;
    const nic = this.#nic;
    if (dev === undefined || nic === undefined || this.driver.state !== "running") return;
    const started = dev.state === "started";
    await this.#mirror.sync(started ? dev.dma.files() : [], started ? dev.dma.regions() : []);
    await this.#doorbells.ensure(dev);
    const wanted = guestPairs(dev, nic, this.#pairs);
    // The guest's eventfds go to the delegate when its queue vectors fit the delegate's (irq-direct.ts); else relayed.
    const direct = guestVectorsFit(wanted, this.#vectors);
    const vectors = direct ? queueVectors(wanted) : [];
    const key = direct ? `direct:${vectors.join(",")}` : "relay";
    await this.apply(wanted, direct, key !== this.#irqKey);
    await this.applyFilters(nic);
    if (this.#irqsFor !== dev || this.#irqKey !== key) {
      await this.#irqs.stop();
      await this.#direct.stop();
      this.#irqsFor = undefined; // until the path is in place: a failure is tried again at the next pass
      this.#irqKey = undefined;
      try {
        if (direct) await this.#direct.start(dev, nic, vectors);
        else await this.#irqs.start(dev, nic);
      } catch (e) {
        await this.#direct.stop();
        await this.#irqs.stop();
        throw e;
      }
      this.#irqsFor = dev;
      this.#irqKey = key;
    }
  }

  /** Sends what takes the delegate from the applied configuration to `wanted`. */
  private async apply(wanted: PairConfig[], direct = false, remap = false): Promise<void> {
    const vsiId = this.driver.vsiId ?? 0;
    const plan = planQueues(vsiId, this.#applied, wanted, this.#vectors, direct, remap);
    const send = async (m: Parameters<typeof encodeVirtchnl>[0]) => {
      const e = encodeVirtchnl(m);
      await this.driver.mailbox.request(e.opcode, e.payload);
    };
    const { disable, enable } = plan;
    const touched = disable.rx | disable.tx | enable.rx | enable.tx;
    if (touched === 0 && plan.configure === undefined && plan.irqMap === undefined) return;
    this.#syncs++;
    // From here the applied state is unknown until every step succeeded: a failure leaves it "own rings" (all off
    // and reconfigured at the next pass).
    this.#applied = this.#applied.map(() => OWN_RINGS);
    if (disable.rx | disable.tx)
      await send({ kind: "DisableQueues", vsiId, rxQueues: disable.rx, txQueues: disable.tx });
    if (plan.configure !== undefined) await send(plan.configure);
    if (plan.irqMap !== undefined) await send(plan.irqMap);
    if (enable.rx | enable.tx) await send({ kind: "EnableQueues", vsiId, rxQueues: enable.rx, txQueues: enable.tx });
    this.#applied = wanted;
  }

  /** The guest's MAC/VLAN filters, promiscuous modes and RSS, as far as they changed. */
  private async applyFilters(nic: IavfNic): Promise<void> {
    const vsiId = this.driver.vsiId ?? 0;
    const { messages, state } = planFilters(vsiId, this.driver.capabilities, this.#filters, nic.filters(), nic.rss());
    this.#filters = undefined; // unknown until every message was accepted
    for (const m of messages) {
      const e = encodeVirtchnl(m);
      await this.driver.mailbox.request(e.opcode, e.payload);
    }
    this.#filters = state;
  }

  /** Adds what the delegate counted since the last read to the front's VSI counters. */
  private async pullStats(): Promise<void> {
    const nic = this.#nic;
    if (nic === undefined || this.driver.state !== "running") return;
    let now: EthStats;
    try {
      now = await this.driver.stats();
    } catch {
      return; // a reset or a close cut it off; the next round reads again
    }
    const before = this.#given;
    this.#given = now;
    if (before === undefined) return;
    const delta: Record<string, bigint> = {};
    for (const f of ETH_STATS_FIELDS) {
      const d = now[f] - before[f];
      if (d > 0n) delta[f] = d;
    }
    nic.addStats(delta as IavfStatsDelta);
  }
}
