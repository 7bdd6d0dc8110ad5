// One emu_iavf device: the emudev driver instance behind a device name. It owns the register file of BAR0, the
// mailbox (admin queues + the virtchnl PF side, served one step at a time), the interrupt controls, the VF reset flow
// (VF-initiated by RESET_VF, PF-initiated by `pfReset`, FLR and DEVICE_RESET by the client, and a quiet reset when the
// client leaves), the link, and the NIC view handed to providers.
import type { AttributeDescription, DriverHost, DriverInstance } from "@emu/emudev";
import {
  AqLen,
  BAR0_SIZE,
  encodeVirtchnl,
  MAX_VECTORS,
  mbpsToLegacyLinkSpeed,
  PfEventSeverity,
  qrxTail,
  qtxTail,
  Reg,
  VfCap,
  VfrState,
  type VirtchnlMessage,
  VirtchnlOp,
  VirtchnlStatus,
  vfintDynCtln1,
  virtchnlOpName,
} from "@emu/iavf-common";
import { MigrationState } from "@emu/vfio-user-proto";
import type { DeviceContext, DeviceModel } from "@emu/vfio-user-server";
import { IAVF_ATTRIBUTE, type IavfLink, type IavfNic, type RingHeads } from "./accessor.js";
import { AdminQueues, type ArqMessage } from "./admin-queue.js";
import { Bar0 } from "./bar0.js";
import { dynCtlOffset, InterruptControl, type VectorResult } from "./interrupts.js";
import { DOORBELL_PAGES, iavfPciDescription, REGISTER_BAR } from "./layout.js";
import { IavfMigration } from "./migration.js";
import { NicState } from "./nic-state.js";
import { rxQueueId, txQueueId } from "./queue-ids.js";
import { readRssRegister, writeRssRegister } from "./rss-registers.js";
import { IAVF_CAPABILITIES, VirtchnlPf } from "./virtchnl-pf.js";

/** The device's settings from its devargs. */
export interface IavfSettings {
  readonly queuePairs: number;
  readonly mac: string;
  readonly maxMtu: number;
  readonly speedMbps: number;
  /** auto: up while a provider is attached; up/down: as given until set. */
  readonly link: "auto" | "up" | "down";
}

/** One line of the virtchnl conversation (`configure({ onVirtchnl })`). */
export interface VirtchnlLogEntry {
  /** "request": VF → PF; "reply" and "event": PF → VF. */
  readonly direction: "request" | "reply" | "event";
  readonly opcode: number;
  /** e.g. "CONFIG_VSI_QUEUES". */
  readonly name: string;
  /** The status of a reply. */
  readonly status?: number;
  /** Payload bytes. */
  readonly length: number;
  /** The request as decoded (absent when it did not decode). */
  readonly request?: VirtchnlMessage;
  /** Why a reply carries an error status. */
  readonly why?: string;
}

/** `dev.configure(config)` of an emu_iavf device. */
export interface IavfConfig {
  /** Each message of the virtchnl conversation, for logs. */
  readonly onVirtchnl?: (entry: VirtchnlLogEntry) => void;
  /** Milliseconds from a VF reset to VFACTIVE (default 10: INPROGRESS, then COMPLETED, each half of it). */
  readonly resetDelayMs?: number;
  /** What went wrong inside the device that no guest request can be told (default: a process warning). */
  readonly onError?: (e: unknown) => void;
}

/** The VSI id given to the VF. */
const VSI_ID = 1;
const EMPTY = new Uint8Array(0);

/** Who reset the VF: RESET_VF, `pfReset`, the client (DEVICE_RESET or FLR), the client leaving, the device stopping. */
type ResetKind = "vf" | "pf" | "client" | "disconnect" | "stop";

export class IavfDevice implements DriverInstance {
  readonly info;
  readonly doorbells;
  readonly attributes: Readonly<Record<string, AttributeDescription>>;
  private readonly state: NicState;
  private readonly pf: VirtchnlPf;
  private readonly bar: Bar0;
  private readonly irqs: InterruptControl;
  private readonly aq: AdminQueues;
  private readonly nic: IavfNic;
  private link: IavfLink;
  /** The running server's context (BAR0's shared memory is reached through it, once the server is built). */
  private ctx: DeviceContext | undefined;
  private chain: Promise<void> = Promise.resolve();
  private resetTimer: NodeJS.Timeout | undefined;
  /** VF resets so far, of any kind. */
  private resets = 0;
  private activeWaiters: (() => void)[] = [];
  private config: IavfConfig = {};
  private readonly armListeners = new Set<(vector: number, armed: boolean) => void>();
  private readonly dynCtlListeners = new Set<(vector: number, value: number) => void>();
  private ringHeads: RingHeads | undefined;
  /** The migration callbacks (one per device: a stream in progress does not outlive a server, but stats do). */
  readonly migration: IavfMigration;

  constructor(
    private readonly host: DriverHost,
    private readonly settings: IavfSettings,
  ) {
    const n = settings.queuePairs;
    this.info = { type: "iavf", queueCount: 2 * n, features: BigInt(IAVF_CAPABILITIES) };
    this.doorbells = Array.from({ length: n }, (_, q) => [
      { id: rxQueueId(q), region: REGISTER_BAR, offset: qrxTail(q), size: 4 as const },
      { id: txQueueId(q), region: REGISTER_BAR, offset: qtxTail(q), size: 4 as const },
    ]).flat();
    this.state = new NicState(n, settings.mac);
    this.link = { up: settings.link === "up", speedMbps: settings.speedMbps };
    this.bar = new Bar0({ write: (o, v) => this.onRegisterWrite(o, v), read: (o) => this.onRegisterRead(o) });
    this.bar.set(Reg.VFGEN_RSTAT, VfrState.VFACTIVE);
    this.irqs = new InterruptControl(MAX_VECTORS, this.interruptRegisters(), (v) => this.raise(v));
    this.irqs.onArmChange = (v, armed) => this.tellEach(this.armListeners, v, armed);
    this.irqs.onWrite = (v, value) => this.tellEach(this.dynCtlListeners, v, value);
    this.aq = new AdminQueues(this.bar, host.dma, this.state.counters, () => this.irqs.mailboxCause());
    this.pf = new VirtchnlPf({
      state: this.state,
      host,
      vsiId: VSI_ID,
      queuePairs: n,
      vectors: MAX_VECTORS,
      maxMtu: settings.maxMtu,
      defaultMac: settings.mac,
    });
    this.nic = this.makeNic();
    this.attributes = this.makeAttributes();
    this.migration = this.makeMigration();
  }

  private makeMigration(): IavfMigration {
    const dev = this;
    return new IavfMigration({
      queuePairs: this.settings.queuePairs,
      defaultMac: this.settings.mac,
      bar: this.bar,
      state: this.state,
      pf: this.pf,
      irqs: this.irqs,
      aq: this.aq,
      host: this.host,
      mem: () => this.mem,
      get link() {
        return dev.link;
      },
      set link(l: IavfLink) {
        const changed = l.up !== dev.link.up || l.speedMbps !== dev.link.speedMbps;
        dev.link = l;
        if (changed) dev.host.attributeChanged("link");
      },
      ringHeads: () => this.ringHeads,
      idle: () => this.chain,
      clear: () => this.clearQuietly(),
      report: (e) => this.report(e),
    });
  }

  // ---- emudev driver instance ----

  model(ctx: DeviceContext): DeviceModel {
    this.ctx = ctx;
    return {
      pci: iavfPciDescription(),
      regions: {
        [REGISTER_BAR]: {
          memory: true,
          mmap: DOORBELL_PAGES,
          read: (offset, length) => this.bar.read(offset, length),
          write: (offset, data) => this.bar.write(offset, data),
        },
      },
      reset: () => this.resetVf("client"),
      onDisconnect: () => this.resetVf("disconnect"),
      migration: this.migration,
    };
  }

  configure(config: Readonly<Record<string, unknown>>): void {
    const known = new Set(["onVirtchnl", "resetDelayMs", "onError"]);
    const unknown = Object.keys(config).filter((k) => !known.has(k));
    if (unknown.length > 0)
      throw new Error(`unknown settings ${unknown.join(", ")} (accepted: ${[...known].join(", ")})`);
    const c = config as IavfConfig;
    for (const k of ["onVirtchnl", "onError"] as const)
      if (c[k] !== undefined && typeof c[k] !== "function") throw new Error(`${k} must be a function`);
    const d = c.resetDelayMs;
    if (d !== undefined && !(Number.isInteger(d) && d >= 0 && d <= 1000))
      throw new Error(`resetDelayMs must be 0..1000, got ${String(d)}`);
    this.config = c;
  }

  /**
   * With link=auto the link follows whether a data path is attached. A data path attached while the guest's queues
   * are enabled starts every ring from its first descriptor, where the guest's driver is not: the VF is reset
   * (RESET_IMPENDING, as a PF does), so the driver sets its rings up again and both ends start together.
   */
  providerChanged(provider: string | undefined): void {
    if (this.settings.link === "auto") this.setLink(provider !== undefined);
    if (provider !== undefined && this.pf.active && this.queuesRunning()) void this.pfReset();
  }

  private queuesRunning(): boolean {
    for (let q = 0; q < 2 * this.settings.queuePairs; q++) if (this.host.queue(q).enabled) return true;
    return false;
  }

  stopped(): void {
    this.ctx = undefined; // the region memory is unmapped with the server: the reset must not touch it
    this.resetVf("stop");
  }

  // ---- registers ----

  /** BAR0's shared memory (the doorbell pages), while the device is started (not once the server unmapped it). */
  private get mem(): Uint8Array | undefined {
    const m = this.ctx?.regionMemory(REGISTER_BAR);
    return m !== undefined && m.byteLength > 0 ? m : undefined;
  }

  /** Not stopped by a migration (no DMA, no interrupt while stopped). */
  private get running(): boolean {
    const s = this.ctx?.migrationState ?? MigrationState.RUNNING;
    return s === MigrationState.RUNNING || s === MigrationState.PRE_COPY;
  }

  private interruptRegisters() {
    return {
      get: (o: number) => this.bar.get(o),
      set: (o: number, v: number) => this.bar.set(o, v),
      getShared: (o: number) => this.sharedWord(o),
      setShared: (o: number, v: number) => {
        if (this.mem !== undefined) new DataView(this.mem.buffer, this.mem.byteOffset).setUint32(o, v >>> 0, true);
      },
    };
  }

  private sharedWord(o: number): number {
    return this.mem === undefined ? 0 : new DataView(this.mem.buffer, this.mem.byteOffset).getUint32(o, true);
  }

  private onRegisterRead(offset: number): number | undefined {
    if (offset === Reg.VFINT_ICR01) return this.irqs.readIcr();
    return readRssRegister(this.state, offset);
  }

  private onRegisterWrite(offset: number, value: number): Promise<void> | undefined {
    switch (offset) {
      case Reg.VF_ATQT1:
        return this.serially(() => this.aq.processAtq((op, payload) => this.onMessage(op, payload)));
      case Reg.VF_ARQT1:
        return this.serially(() => this.aq.flush());
      case Reg.VF_ARQLEN1:
        return (value & AqLen.ENABLE) === 0 ? this.serially(() => this.aq.restartArq()) : undefined;
      case Reg.VF_ARQH1:
        return this.serially(() => this.aq.restartArq());
      case Reg.VF_ATQLEN1:
        return undefined;
      case Reg.VFINT_DYN_CTL01:
        this.irqs.writeDynCtl(0, value);
        return undefined;
    }
    if (offset >= vfintDynCtln1(0) && offset < vfintDynCtln1(MAX_VECTORS - 1)) {
      this.irqs.writeDynCtl((offset - vfintDynCtln1(0)) / 4 + 1, value);
      return undefined;
    }
    if (writeRssRegister(this.state, offset, (o) => this.bar.get(o), this.settings.queuePairs))
      this.host.attributeChanged("rss");
    return undefined;
  }

  /** Calls every listener of `set` with `a` and `b`; one that throws is reported, the others still told. */
  private tellEach<A, B>(set: ReadonlySet<(a: A, b: B) => void>, a: A, b: B): void {
    for (const l of set)
      try {
        l(a, b);
      } catch (e) {
        this.report(e);
      }
  }

  private raise(vector: number): "delivered" | "pending" | "dropped" {
    try {
      return this.host.irq(vector).trigger();
    } catch {
      return "dropped"; // not started
    }
  }

  // ---- mailbox ----

  /** Runs `step` after every mailbox step before it; failures are reported, never thrown to the guest's access. */
  private serially(step: () => Promise<void> | void): Promise<void> {
    const next = this.chain.then(step).catch((e: unknown) => this.report(e));
    this.chain = next;
    return next;
  }

  private report(e: unknown): void {
    if (this.config.onError) this.config.onError(e);
    else process.emitWarning(`emu_iavf ${this.host.name}: ${e instanceof Error ? e.message : String(e)}`);
  }

  private log(entry: VirtchnlLogEntry): void {
    try {
      this.config.onVirtchnl?.(entry);
    } catch (e) {
      this.report(e);
    }
  }

  /** One virtchnl request from the ATQ; true when the VF was reset (the ATQ stops). */
  private async onMessage(opcode: number, payload: Uint8Array): Promise<boolean> {
    const out = this.pf.handle(opcode, payload);
    const name = virtchnlOpName(opcode);
    if (out.kind === "reset") {
      this.log({ direction: "request", opcode, name, length: payload.length, request: { kind: "ResetVf" } });
      this.resetVf("vf");
      return true;
    }
    const { reply } = out;
    this.log({
      direction: "request",
      opcode,
      name,
      length: payload.length,
      ...(out.request ? { request: out.request } : {}),
    });
    if (reply.status !== VirtchnlStatus.SUCCESS) this.state.counters.virtchnlErrors++;
    const body = reply.payload ?? EMPTY;
    await this.aq.post({ opcode, status: reply.status, payload: body });
    this.log({
      direction: "reply",
      opcode,
      name,
      status: reply.status,
      length: body.length,
      ...(reply.why === undefined ? {} : { why: reply.why }),
    });
    if (reply.linkEvent) await this.postEvent(this.linkEvent());
    return false;
  }

  private linkEvent(): ArqMessage {
    const adv = (this.pf.granted & VfCap.CAP_ADV_LINK_SPEED) !== 0;
    const linkSpeed = adv ? this.link.speedMbps : mbpsToLegacyLinkSpeed(this.link.speedMbps);
    const event = { type: "LinkChange" as const, linkSpeed, linkUp: this.link.up, severity: PfEventSeverity.INFO };
    return { opcode: VirtchnlOp.EVENT, status: 0, payload: encodeVirtchnl({ kind: "Event", event }).payload };
  }

  private async postEvent(m: ArqMessage): Promise<void> {
    await this.aq.post(m);
    this.log({ direction: "event", opcode: m.opcode, name: virtchnlOpName(m.opcode), length: m.payload.length });
  }

  private setLink(up: boolean, speedMbps = this.link.speedMbps): void {
    if (!(Number.isInteger(speedMbps) && speedMbps >= 0 && speedMbps <= 0xffff_ffff))
      throw new RangeError(`link speed ${String(speedMbps)} Mbps is not a 32-bit count`);
    if (up === this.link.up && speedMbps === this.link.speedMbps) return;
    this.link = { up, speedMbps };
    this.host.attributeChanged("link");
    if (this.pf.active && this.mem !== undefined && this.running)
      void this.serially(() => this.postEvent(this.linkEvent()));
  }

  // ---- resets ----

  /**
   * The VF reset (§4.9 of the design notes): ARQLEN/ATQLEN.ENABLE cleared and VFGEN_RSTAT INPROGRESS before anything
   * else, every register and doorbell zeroed, the configuration forgotten (the version kept), queues disabled, then
   * VFACTIVE — at once for a client reset or a disconnect, and for a VF or PF reset after `resetDelayMs` (INPROGRESS
   * for the first half, COMPLETED for the second).
   */
  private resetVf(kind: ResetKind): void {
    this.resets++;
    this.clearQuietly();
    this.bar.set(Reg.VFGEN_RSTAT, VfrState.INPROGRESS);
    // emudev reports a DEVICE_RESET or an FLR itself; a stopped device was made quiet by the client leaving.
    if (kind !== "client" && kind !== "stop") this.host.reset();
    clearTimeout(this.resetTimer);
    this.resetTimer = undefined;
    const delay = this.config.resetDelayMs ?? 10;
    if ((kind === "vf" || kind === "pf") && delay > 0) {
      // INPROGRESS for the first half, COMPLETED for the second, then VFACTIVE: each state can be seen by a driver.
      this.resetTimer = setTimeout(
        () => {
          this.bar.set(Reg.VFGEN_RSTAT, VfrState.COMPLETED);
          this.resetTimer = setTimeout(() => this.activate(), delay - Math.floor(delay / 2));
        },
        Math.floor(delay / 2),
      );
    } else this.activate();
  }

  /** Every register, doorbell and setting back to a reset VF's (the counters and the version are kept). */
  private clearQuietly(): void {
    this.bar.clear(this.allRegisters());
    if (this.mem !== undefined) for (const p of DOORBELL_PAGES) this.mem.fill(0, p.offset, p.offset + p.size);
    this.aq.clear();
    this.irqs.reset();
    this.state.reset();
    this.pf.reset();
  }

  private activate(): void {
    this.resetTimer = undefined;
    this.bar.set(Reg.VFGEN_RSTAT, VfrState.VFACTIVE);
    for (const w of this.activeWaiters.splice(0)) w();
  }

  private *allRegisters(): Generator<number> {
    for (let o = 0; o < BAR0_SIZE; o += 4) yield o;
  }

  private pfReset(): Promise<void> {
    const active = new Promise<void>((resolve) => this.activeWaiters.push(resolve));
    void this.serially(async () => {
      const before = this.resets;
      if (this.pf.active && this.mem !== undefined) {
        const event = { type: "ResetImpending" as const, severity: PfEventSeverity.CERTAIN_DOOM };
        await this.postEvent({
          opcode: VirtchnlOp.EVENT,
          status: 0,
          payload: encodeVirtchnl({ kind: "Event", event }).payload,
        });
        // The reset clears ARQH: a driver that reads the ARQ up to ARQH (Linux's clean_arq) must get the chance to
        // see the event first. Half the reset delay, as long as each reset state lasts.
        const notice = Math.floor((this.config.resetDelayMs ?? 10) / 2);
        if (notice > 0) await new Promise((resolve) => setTimeout(resolve, notice));
      }
      // Another reset (the client's, the device stopping) in the meantime already did it (and its activation
      // resolves the waiter).
      if (this.resets === before) this.resetVf("pf");
    });
    return active;
  }

  // ---- the NIC view and attributes ----

  private makeNic(): IavfNic {
    const dev = this;
    const s = this.state;
    return {
      _tag: "IavfNic",
      queuePairs: this.settings.queuePairs,
      vsiId: VSI_ID,
      defaultMac: this.settings.mac,
      get capabilities() {
        return dev.pf.granted;
      },
      get link() {
        return dev.link;
      },
      setLink: (up, speed) => this.setLink(up, speed),
      rxQueue: (q) => s.rxq[q],
      txQueue: (q) => s.txq[q],
      queueItrIndex: (q, dir) => (dir === "rx" ? s.rxItr[q] : s.txItr[q]) ?? 3,
      rss: () => s.rss(),
      filters: () => s.filters(),
      accepts: (dst, at, vlan) => s.accepts(dst, at, vlan),
      stats: () => s.ethStats(),
      addStats: (delta) => s.addStats(delta),
      interrupt: (v): VectorResult => (this.mem === undefined || !this.validVector(v) ? "dropped" : this.irqs.fire(v)),
      interruptArmed: (v) => this.validVector(v) && this.irqs.armed(v),
      watchInterrupts: (listener) => {
        const l = (v: number, armed: boolean) => listener(v, armed);
        this.armListeners.add(l);
        return () => this.armListeners.delete(l);
      },
      watchDynCtl: (listener) => {
        const l = (v: number, value: number) => listener(v, value);
        this.dynCtlListeners.add(l);
        return () => this.dynCtlListeners.delete(l);
      },
      itr: (v, i) => this.irqs.itr(v, i),
      wbOnItr: (v) => this.validVector(v) && v > 0 && (this.bar.get(dynCtlOffset(v)) & (1 << 30)) !== 0,
      counters: () => ({ ...s.counters }),
      pfReset: () => this.pfReset(),
      bindRingHeads: (heads) => {
        this.ringHeads = heads;
        return () => {
          if (this.ringHeads === heads) this.ringHeads = undefined;
        };
      },
    };
  }

  private validVector(v: number): boolean {
    return Number.isInteger(v) && v >= 0 && v < MAX_VECTORS;
  }

  private makeAttributes(): Record<string, AttributeDescription> {
    return {
      link: {
        get: () => this.link.up,
        set: (v) => {
          if (typeof v !== "boolean") throw new TypeError("link is true (up) or false (down)");
          this.setLink(v);
        },
      },
      speed: {
        get: () => this.link.speedMbps,
        set: (v) => this.setLink(this.link.up, v as number),
      },
      mac: { get: () => this.settings.mac },
      queues: { get: () => this.settings.queuePairs },
      mtu: { get: () => this.settings.maxMtu },
      rss: { get: () => this.state.rss() },
      filters: { get: () => this.state.filters() },
      irqMap: { get: () => Array.from({ length: this.info.queueCount }, (_, id) => this.host.queue(id).irqVector) },
      stats: { get: () => this.state.ethStats() },
      [IAVF_ATTRIBUTE]: { get: () => this.nic },
    };
  }
}
