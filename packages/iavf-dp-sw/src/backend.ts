// One emu_iavf device as the software data path serves it, on the main thread: it mirrors what the guest configured
// into the shared block (queues, guest memory files, the doorbell page, RSS, filters), quiesces the workers before
// anything they use goes away, relays their interrupt causes to the NIC view (which applies INTENA, holding and
// MSI-X masks, and writes the eventfd), keeps the armed-vector mirror exact, and hands their counters to the VF's
// statistics (GET_STATS) in batches.
import type { DirtySource, EmudevResources } from "@emu/emudev";
import { MAX_VECTORS } from "@emu/iavf-common";
import { type IavfNic, iavf, REGISTER_BAR, rxQueueId, txQueueId } from "@emu/iavf-emu";
import {
  AT,
  createBlocks,
  DIRTY_BITS,
  DIRTY_PAGE,
  F_MCAST_PROMISC,
  F_UCAST_PROMISC,
  F_VLAN_FILTER,
  F_VLAN_STRIP,
  H_ARMED,
  H_CAUSES,
  H_CLOSED,
  H_DB_EPOCH,
  H_DB_FD,
  H_DB_SIZE,
  H_DIRTY_ON,
  H_FILTER,
  H_HENA_HI,
  H_HENA_LO,
  H_MACS,
  H_MAPPINGS,
  H_PAIRS,
  H_READY,
  H_WAKE,
  M_DIRTY_BIT,
  M_FD,
  M_FLAGS,
  M_IOVA_HI,
  M_IOVA_LO,
  M_OFF_HI,
  M_OFF_LO,
  M_SIZE_HI,
  M_SIZE_LO,
  MAX_MACS,
  MAX_MAPPINGS,
  MAX_PAIRS,
  Q_BAD_TAIL,
  Q_BASE_HI,
  Q_BASE_LO,
  Q_ENABLED,
  Q_HEAD,
  Q_ITR_US,
  Q_LEN,
  Q_RX_BUF,
  Q_RX_KEEP_CRC,
  Q_RX_MAX,
  Q_TAIL_SEEN,
  Q_TSO_SENT,
  Q_VECTOR,
  RSS_KEY_BYTES,
  RSS_LUT_BYTES,
  type SharedBlocks,
} from "./layout.js";
import { Publisher } from "./publish.js";
import { flushPeriodically, StatsBook } from "./stats.js";

/** A guest memory mapping, as the DMA table names it. */
type Range = { readonly iova: bigint; readonly size: bigint };

/** Atomics.waitAsync (ES2024; Node 16+): not in the library typings this tree compiles against. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<unknown> | string };
  }
).waitAsync;

const lo32 = (v: bigint): number => Number(v & 0xffff_ffffn) | 0;
const hi32 = (v: bigint): number => Number((v >> 32n) & 0xffff_ffffn) | 0;

export class Backend {
  readonly blocks: SharedBlocks = createBlocks();
  readonly nic: IavfNic;
  readonly stats: StatsBook;
  readonly #pub: Publisher;
  readonly #ctl: Int32Array;
  readonly #pairs: number;
  readonly #off: (() => void)[] = [];
  #db: Uint8Array | undefined;
  #stopFlushing: (() => void) | undefined;
  #closed = false;
  /** A migration stopped the device: workers are held off the guest (H_READY 0) until it runs again. */
  #stopped = false;
  /** Interrupts delivered to the guest. */
  interrupts = 0;
  /** DMA logging: on, the mappings' bits as last published, and whether they changed while logging (report whole). */
  #logging = false;
  #layout: { iova: bigint; size: bigint; bit: number }[] = [];
  #layoutChanged = false;
  readonly #dirty: Int32Array;

  constructor(
    readonly dev: EmudevResources,
    private readonly onError: (e: unknown) => void,
  ) {
    this.nic = iavf(dev);
    this.#pairs = Math.min(this.nic.queuePairs, MAX_PAIRS);
    this.#pub = new Publisher(this.blocks);
    this.#ctl = this.#pub.ctl;
    this.stats = new StatsBook(this.blocks, this.nic);
    this.#dirty = new Int32Array(this.blocks.dirty);
    this.#off.push(
      dev.dma.addDirtySource(this.dirtySource()),
      dev.on("dmaTable", (e) => this.refresh(e.change === "unmap" ? e.region : undefined)),
      dev.on("attribute", (e) => {
        if (e.name === "rss" || e.name === "filters") this.refresh();
      }),
      dev.on("connection", () => this.refresh()),
      dev.on("reset", () => this.refreshArmed()),
      this.nic.watchInterrupts(() => queueMicrotask(() => this.onArm())),
      this.nic.bindRingHeads({
        read: (id) => this.#ctl[AT.queue(id) + Q_HEAD] ?? 0,
        write: (id, head) => this.setHead(id, head),
      }),
    );
    this.refresh();
    void this.relay();
    this.#stopFlushing = flushPeriodically(this.stats);
  }

  /** Threads running this device's data path. */
  get workers(): number {
    return this.#pub.workers();
  }

  /** Unmap handshakes that ran out of time. */
  get ackTimeouts(): number {
    return this.#pub.timeouts;
  }

  // ---- what the provider ops and events change ----

  /**
   * Publishes everything the guest configured. `going` is a mapping about to be unmapped (left out of the table);
   * then, and when anything was disabled, the call returns only once the workers stopped using what went.
   */
  refresh(going?: Range, quiesce = going !== undefined): void {
    if (this.#closed) return;
    if (!this.publishAll(going, quiesce))
      this.onError(new Error(`${this.dev.name}: a data-path thread did not stop using guest memory in time`));
    this.refreshArmed();
  }

  /** Publishes the configuration (see `refresh`); false when quiescing timed out. */
  private publishAll(going: Range | undefined, quiesce: boolean): boolean {
    if (this.#closed) return true;
    return this.#pub.publish((c) => {
      c[H_PAIRS] = this.#pairs;
      c[H_READY] = this.dev.ready && !this.#stopped ? 1 : 0;
      c[H_DIRTY_ON] = this.#logging ? 1 : 0;
      this.writeQueues(c);
      this.writeMappings(c, going);
      this.writeDoorbells(c);
      this.writeFilters(c);
      this.writeRss(c);
    }, quiesce);
  }

  /** Sets queue `id`'s head (enable, a migrated device) and forgets what the workers knew of the ring's progress. */
  private setHead(id: number, head: number): void {
    const q = AT.queue(id);
    this.#ctl[q + Q_HEAD] = head;
    this.#ctl[q + Q_BAD_TAIL] = -1;
    this.#ctl[q + Q_TSO_SENT] = 0;
    this.#ctl[q + Q_TAIL_SEEN] = -1;
  }

  /** A queue was enabled (its head starts at 0) or disabled (workers must be done with it before this returns). */
  queueChanged(id: number, enabled: boolean): void {
    if (enabled) this.setHead(id, 0);
    this.refresh(undefined, !enabled);
  }

  /**
   * Migration: stopped (`false`), no worker touches the guest, moves a head or raises a cause once this returns (each
   * worker inside a burst finishes it and acknowledges the new generation, see `Publisher`), and the counters are in
   * the VF's statistics; a worker that does not acknowledge within the bounded wait makes it throw, the device still
   * running (the migration arc is refused). Running again (`true`), the state as restored is served.
   */
  migrationRunning(running: boolean): void {
    this.#stopped = !running;
    if (running) {
      this.refresh();
      return;
    }
    if (!this.publishAll(undefined, true)) {
      // A thread still inside its burst after the bounded wait: the device is not stopped, the arc is refused.
      this.#stopped = false;
      this.refresh();
      throw new Error(`${this.dev.name}: a data-path thread did not finish its burst in time: the device runs on`);
    }
    this.refreshArmed();
    this.drain(); // causes raised before the stop reach the device (delivered, or held and saved with its state)
    this.stats.flush();
  }

  /** The configuration is gone: workers stop touching the guest before this returns. */
  closed(): void {
    this.refresh(undefined, true);
    this.stats.flush();
  }

  /** The provider let go of the device. */
  dispose(): void {
    if (this.#closed) return;
    this.#pub.publish((c) => {
      c[H_READY] = 0;
      c[H_DB_FD] = -1;
      c[H_MAPPINGS] = 0;
    }, true);
    this.#closed = true;
    for (const off of this.#off.splice(0)) off();
    this.#stopFlushing?.();
    this.stats.flush();
    Atomics.store(this.#ctl, H_CLOSED, 1);
    Atomics.add(this.#ctl, H_WAKE, 1);
    Atomics.notify(this.#ctl, H_WAKE);
  }

  private writeQueues(c: Int32Array): void {
    for (let q = 0; q < MAX_PAIRS; q++) {
      for (const id of [rxQueueId(q), txQueueId(q)]) {
        const at = AT.queue(id);
        const info = q < this.#pairs ? this.dev.queue(id) : undefined;
        const on = info?.enabled && info.size > 0;
        c[at + Q_ENABLED] = on ? 1 : 0;
        c[at + Q_BASE_LO] = on ? lo32(info.base) : 0;
        c[at + Q_BASE_HI] = on ? hi32(info.base) : 0;
        c[at + Q_LEN] = on ? info.size : 0;
        c[at + Q_VECTOR] = on ? info.irqVector : -1;
        if (id % 2 === 0) {
          const rx = on ? this.nic.rxQueue(q) : undefined;
          c[at + Q_RX_BUF] = rx?.databufferSize ?? 0;
          c[at + Q_RX_MAX] = rx?.maxPktSize ?? 0;
          c[at + Q_RX_KEEP_CRC] = rx !== undefined && !rx.crcStrip ? 1 : 0;
        }
      }
    }
  }

  private writeMappings(c: Int32Array, going: Range | undefined): void {
    let n = 0;
    let refused = 0;
    let bit = 0;
    const layout: { iova: bigint; size: bigint; bit: number }[] = [];
    for (const f of this.dev.state === "started" ? this.dev.dma.files() : []) {
      if (going !== undefined && f.iova === going.iova && f.size === going.size) continue;
      if (n === MAX_MAPPINGS) {
        refused++;
        continue;
      }
      const m = AT.mapping(n++);
      c[m + M_IOVA_LO] = lo32(f.iova);
      c[m + M_IOVA_HI] = hi32(f.iova);
      c[m + M_SIZE_LO] = lo32(f.size);
      c[m + M_SIZE_HI] = hi32(f.size);
      c[m + M_OFF_LO] = lo32(f.offset);
      c[m + M_OFF_HI] = hi32(f.offset);
      c[m + M_FD] = f.fd;
      c[m + M_FLAGS] = (f.readable ? 1 : 0) | (f.writable ? 2 : 0);
      // Each mapping's pages from a 32-bit word of its own, so a word is only ever one mapping's.
      const pages = Number((f.size + BigInt(DIRTY_PAGE) - 1n) / BigInt(DIRTY_PAGE));
      const fits = bit + pages <= DIRTY_BITS;
      c[m + M_DIRTY_BIT] = fits ? bit : -1;
      layout.push({ iova: f.iova, size: f.size, bit: fits ? bit : -1 });
      if (fits) bit += Math.ceil(pages / 32) * 32;
    }
    c[H_MAPPINGS] = n;
    const same =
      layout.length === this.#layout.length &&
      layout.every((l, i) => l.iova === this.#layout[i]?.iova && l.size === this.#layout[i]?.size);
    if (this.#logging && !same) this.#layoutChanged = true;
    this.#layout = layout;
    if (refused > 0)
      this.onError(new Error(`${this.dev.name}: ${refused} guest memory mapping(s) beyond ${MAX_MAPPINGS} not served`));
  }

  private writeDoorbells(c: Int32Array): void {
    let region: { memory: Uint8Array | undefined; fd: number | undefined } | undefined;
    try {
      region = this.dev.connected ? this.dev.regions().find((r) => r.index === REGISTER_BAR) : undefined;
    } catch {
      region = undefined; // not started
    }
    const memory = region?.memory;
    if (memory !== this.#db) {
      this.#db = memory;
      c[H_DB_EPOCH] = (c[H_DB_EPOCH]! + 1) | 0;
    }
    c[H_DB_FD] = memory !== undefined && region?.fd !== undefined ? region.fd : -1;
    c[H_DB_SIZE] = memory?.length ?? 0;
  }

  private writeFilters(c: Int32Array): void {
    const f = this.nic.filters();
    c[H_FILTER] =
      (f.unicastPromisc ? F_UCAST_PROMISC : 0) |
      (f.multicastPromisc ? F_MCAST_PROMISC : 0) |
      (f.vlans.length > 0 ? F_VLAN_FILTER : 0) |
      (f.vlanStripping ? F_VLAN_STRIP : 0);
    const macs = f.macs.slice(0, MAX_MACS);
    c[H_MACS] = macs.length;
    macs.forEach((m, i) => {
      const b = m.mac.split(":").map((h) => Number.parseInt(h, 16));
      c[AT.mac(i)] = (b[0]! << 8) | b[1]!;
      c[AT.mac(i) + 1] = (b[2]! << 24) | (b[3]! << 16) | (b[4]! << 8) | b[5]! | 0;
    });
    const vlans = new Uint32Array(128);
    for (const v of f.vlans) vlans[v >>> 5] = vlans[v >>> 5]! | (1 << (v & 31));
    c.set(new Int32Array(vlans.buffer), AT.vlans);
  }

  private writeRss(c: Int32Array): void {
    const r = this.nic.rss();
    c[H_HENA_LO] = lo32(r.hena);
    c[H_HENA_HI] = hi32(r.hena);
    const key = new Uint8Array(c.buffer, c.byteOffset + AT.key * 4, RSS_KEY_BYTES);
    key.set(r.key.subarray(0, RSS_KEY_BYTES));
    const lut = new Uint8Array(c.buffer, c.byteOffset + AT.lut * 4, RSS_LUT_BYTES);
    lut.set(r.lut.subarray(0, RSS_LUT_BYTES));
  }

  // ---- DMA dirty logging ----

  /** What the server asks at DMA_LOGGING_START/STOP and before each report. */
  private dirtySource(): DirtySource {
    return {
      logging: (pageSize) => {
        this.#dirty.fill(0);
        this.#layoutChanged = false;
        this.#logging = pageSize !== undefined;
        // On: the reply leaves once every worker records its writes (none writes unrecorded after it).
        this.refresh(undefined, this.#logging);
      },
      collect: (mark) => this.collectDirty(mark),
    };
  }

  /** Hands the pages the workers wrote to `mark` and clears their bits; a mapping not tracked goes whole. */
  private collectDirty(mark: (iova: bigint, length: bigint) => void): void {
    const d = this.#dirty;
    const whole = this.#layoutChanged;
    this.#layoutChanged = false;
    for (const l of this.#layout) {
      if (l.bit < 0 || whole) {
        mark(l.iova, l.size);
        if (l.bit < 0) continue;
      }
      const pages = Number((l.size + BigInt(DIRTY_PAGE) - 1n) / BigInt(DIRTY_PAGE));
      for (let w = l.bit >>> 5; w <= (l.bit + pages - 1) >>> 5; w++) {
        if (d[w] === 0) continue;
        const bits = Atomics.exchange(d, w, 0);
        for (let x = bits; x !== 0; x &= x - 1) {
          const page = w * 32 + (31 - Math.clz32(x & -x)) - l.bit;
          if (!whole) mark(l.iova + BigInt(page * DIRTY_PAGE), BigInt(DIRTY_PAGE));
        }
      }
    }
  }

  // ---- interrupts ----

  /** Wakes on the workers' causes and relays them, until disposed. */
  private async relay(): Promise<void> {
    const c = this.#ctl;
    while (!this.#closed) {
      const seen = Atomics.load(c, H_WAKE);
      try {
        this.drain();
      } catch (e) {
        this.onError(e);
      }
      if (this.#closed || Atomics.load(c, H_CLOSED) === 1) return;
      const w = waitAsync(c, H_WAKE, seen);
      if (w.async) await w.value;
    }
  }

  /** Hands every pending cause to the NIC view: delivered if its vector is armed, held by the device until then. */
  private drain(): void {
    const c = this.#ctl;
    for (let rounds = 0; rounds < 4; rounds++) {
      const causes = Atomics.exchange(c, H_CAUSES, 0);
      if (causes === 0) return;
      const vectors = new Uint8Array(MAX_VECTORS);
      for (let bits = causes; bits !== 0; bits &= bits - 1) {
        const v = c[AT.queue(31 - Math.clz32(bits & -bits)) + Q_VECTOR]!;
        if (v >= 0 && v < MAX_VECTORS) vectors[v] = 1;
      }
      for (let v = 0; v < MAX_VECTORS; v++)
        if (vectors[v] === 1 && this.nic.interrupt(v) === "delivered") this.interrupts++;
      if ((this.refreshArmed() & Atomics.load(c, H_CAUSES)) === 0) return;
    }
  }

  /** A vector's INTENA changed: the mirror follows; causes waiting for it go now. */
  private onArm(): void {
    if (this.#closed) return;
    if ((this.refreshArmed() & Atomics.load(this.#ctl, H_CAUSES)) !== 0) this.drain();
  }

  /** The queues whose vector is armed, and their ITRs, mirrored; returns the armed set. */
  private refreshArmed(): number {
    const c = this.#ctl;
    let armed = 0;
    for (let q = 0; q < this.#pairs; q++) {
      for (const [id, dir] of [
        [rxQueueId(q), "rx"],
        [txQueueId(q), "tx"],
      ] as const) {
        const v = c[AT.queue(id) + Q_VECTOR]!;
        if (v < 0) continue;
        const index = this.nic.queueItrIndex(q, dir);
        c[AT.queue(id) + Q_ITR_US] = index < 3 ? this.nic.itr(v, index) * 2 : 0;
        if (this.nic.interruptArmed(v)) armed |= 1 << id;
      }
    }
    Atomics.store(c, H_ARMED, armed);
    return armed;
  }
}
