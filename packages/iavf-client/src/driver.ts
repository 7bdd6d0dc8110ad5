/**
 * `IavfDriver`, the guest-side iavf driver (the seeds' `iavf_client`) over any `VfioDevice`: brings the VF up with
 * the Linux driver's sequence, follows link and reset events, and gives stats, the queue pairs (ring memory, IOVA,
 * doorbell) and the raw mailbox.
 */
import {
  decodeVirtchnl,
  type EthStats,
  encodeVirtchnl,
  type GetVfResourcesReply,
  legacyLinkSpeedToMbps,
  type PfEvent,
  VfCap,
  VirtchnlOp,
} from "@emu/iavf-common";
import type { VfioDevice } from "@emu/vfio-device";
import { AdminQueue } from "./adminq.js";
import { Bar0 } from "./bar0.js";
import {
  configurePromiscuous,
  configureQueues,
  configureRss,
  deleteMac,
  disableQueues,
  enableQueues,
  getResources,
  negotiateVersion,
  waitOutOfReset,
} from "./bring-up.js";
import { DataPath } from "./data-path.js";
import { type SharedPair, sharePairs } from "./datapath/share.js";
import { DmaPool, type DmaRegion } from "./dma-pool.js";
import { deviceFailure, IavfClientError, isIavfClientError } from "./errors.js";
import type { DriverContext } from "./internal/context.js";
import { Emitter } from "./internal/emitter.js";
import { waitForChange } from "./internal/wait.js";
import { Interrupts } from "./interrupts.js";
import { Mailbox, type VirtchnlResult } from "./mailbox.js";
import { type MigrateDevice, moveDriver } from "./migrate.js";
import { type IavfDriverOptions, resolveOptions } from "./options.js";
import { Periodic, type PeriodicTask } from "./periodic.js";
import { allocateQueuePairs, type QueuePair } from "./queues.js";
import { type ResetCause, resetTask, watchdogCheck } from "./reset.js";

export type DriverState = "starting" | "running" | "resetting" | "failed" | "closed";

export interface LinkStatus {
  readonly up: boolean;
  /** Mbps (0 when unknown or down). */
  readonly speedMbps: number;
}

export interface IavfDriverEvents {
  readonly state: DriverState;
  readonly link: LinkStatus;
  /** A reset began (`done` false) or the VF is running again (`done` true). */
  readonly reset: { readonly cause: ResetCause; readonly done: boolean };
  /** Every EVENT the PF sent, decoded. */
  readonly event: PfEvent;
  /** The counters of each periodic GET_STATS (`statsIntervalMs`). */
  readonly stats: EthStats;
  /** What failed in the background (the watchdog, an interrupt, a reset): the driver is then `failed`. */
  readonly error: IavfClientError;
}

const DOWN: LinkStatus = { up: false, speedMbps: 0 };

export class IavfDriver {
  private readonly ctx: DriverContext;
  private readonly events = new Emitter<IavfDriverEvents>();
  private stateValue: DriverState = "starting";
  private linkValue: LinkStatus = DOWN;
  private task: Promise<unknown> = Promise.resolve();
  private resetQueued = false;
  private readonly periodic = new Periodic();
  /** The mailbox interrupt's handler: running, asked again while running, held off (a migration: served after). */
  private isr = { running: false, again: false, held: false };
  private shared: SharedPair[] | undefined;

  private constructor(ctx: DriverContext) {
    this.ctx = ctx;
    ctx.mailbox.onMessage((m) => this.onMessage(m));
  }

  /**
   * Brings the VF up: VFGEN_RSTAT, admin queue, VERSION, GET_VF_RESOURCES, vector 0, CONFIG_IRQ_MAP, ADD_ETH_ADDR,
   * CONFIG_VSI_QUEUES, ENABLE_QUEUES, RSS. Resolves once ENABLE_QUEUES was accepted (the link comes with an event:
   * see {@link waitForLink}). On failure everything set up so far is released and the device is left open.
   */
  static async attach(device: VfioDevice, options?: IavfDriverOptions): Promise<IavfDriver> {
    const o = resolveOptions(options);
    const bar = await Bar0.open(device, o.mapDoorbells);
    const pool = new DmaPool(device, o.dma);
    let driver: IavfDriver | undefined;
    try {
      const adminq = await AdminQueue.create(bar, pool, { atqLength: o.atqLength, arqLength: o.arqLength });
      // Polled until vector 0 is armed, as Linux's init runs from its watchdog before the misc interrupt exists.
      const mailbox = new Mailbox(adminq, { wait: "poll", replyTimeoutMs: o.replyTimeoutMs });
      driver = new IavfDriver({
        device,
        options: o,
        bar,
        pool,
        adminq,
        mailbox,
        irqs: undefined,
        pfVersion: undefined,
        resources: undefined,
        vsi: undefined,
        mac: "",
        vectors: 0,
        pairs: [],
        rssKey: undefined,
        dataPath: undefined,
        running: false,
      });
      await driver.bringUp();
      return driver;
    } catch (e) {
      if (driver) await driver.release();
      else {
        await pool.close();
        bar.close();
      }
      throw e;
    }
  }

  get state(): DriverState {
    return this.stateValue;
  }
  get link(): LinkStatus {
    return this.linkValue;
  }
  get mac(): string {
    return this.ctx.mac;
  }
  get queueCount(): number {
    return this.ctx.pairs.length;
  }
  /** Ring memory, IOVA, vector and doorbell of each queue pair. */
  get queuePairs(): readonly QueuePair[] {
    return this.ctx.pairs;
  }
  /** The PF's GET_VF_RESOURCES reply (the last one). */
  get resources(): GetVfResourcesReply | undefined {
    return this.ctx.resources;
  }
  get vsiId(): number | undefined {
    return this.ctx.vsi?.vsiId;
  }
  /** The capabilities the PF granted. */
  get capabilities(): number {
    return this.ctx.resources?.capabilities ?? 0;
  }
  get pfVersion(): { readonly major: number; readonly minor: number } | undefined {
    return this.ctx.pfVersion;
  }
  /** MSI-X vectors in use (vector 0 for the mailbox, one per queue vector). */
  get vectors(): number {
    return this.ctx.vectors;
  }
  /** Interrupts received per vector (empty in poll mode). */
  get interruptCounts(): readonly number[] {
    return this.ctx.irqs?.counts ?? [];
  }
  /** Whether queue-tail doorbells are plain stores into the mmapped doorbell area. */
  get doorbellsMapped(): boolean {
    return this.ctx.bar.doorbellsMapped;
  }
  /** The raw virtchnl API: `call(opcode, payload)` and the messages the driver did not claim. */
  get mailbox(): Mailbox {
    return this.ctx.mailbox;
  }

  /**
   * The driver's own packet I/O (`ownBuffers`): `txBurst(q, packets)`, `rxBurst(q, max)`, `waitRx(q, ms)`,
   * `txPending(q)`, `rxErrors(q)`. Bursts move nothing while the driver is not running (a reset, say).
   */
  get io(): DataPath {
    const dp = this.ctx.dataPath;
    if (dp === undefined)
      throw new IavfClientError("InvalidArgument", "no packet buffers of the driver's own (ownBuffers is off)");
    return dp;
  }

  /**
   * The rings of every queue pair as plain data for worker threads that run them with buffers of their own
   * (`ownBuffers: false`): each thread maps the ring and the doorbell page from the files named here; the software
   * state lives in the shared `RingState`s (after a reset, bump their generation: the serving threads start over).
   */
  shareRings(): SharedPair[] {
    if (this.ctx.options.ownBuffers)
      throw new IavfClientError("InvalidArgument", "the rings carry the driver's own buffers (ownBuffers is on)");
    this.shared = sharePairs(this.ctx.pairs);
    return this.shared;
  }

  /**
   * Live migration to `device` (another server of the same VF, see `moveDriver`): `migrate(from, to, beforeRun)`
   * moves the device state and calls `beforeRun` before the destination runs (in interrupt mode the vectors are
   * assigned there then); the driver and the rings last shared then use `device`: their threads must be paused by
   * the time `migrate` resolves (it may pause them once both devices are stopped, so that traffic flows through the
   * rest of the move) and their tails written again after (a tail written meanwhile reached the old device only). On
   * failure the old device is kept.
   */
  moveTo<T>(device: VfioDevice, migrate: MigrateDevice<T>): Promise<T> {
    this.live();
    return this.queue(async () => {
      this.stopTimers();
      this.isr.held = true;
      try {
        return await moveDriver(
          this.ctx,
          this.shared ?? [],
          device,
          migrate,
          () => this.periodic.running("stats") || this.isr.running,
        );
      } finally {
        this.isr.held = false;
        if (this.stateValue === "running") this.startTimers();
        // Whatever the mailbox vector raised meanwhile (or the source raised before it stopped) is served now.
        if (this.ctx.irqs !== undefined) this.onInterrupt(0);
      }
    });
  }

  /** DMA-maps the caller's file (a packet pool's memfd) at a free IOVA: the device reaches that memory itself. */
  mapFile(fd: number, size: number): Promise<DmaRegion> {
    this.live();
    return this.ctx.pool.mapFile(fd, size);
  }

  on<K extends keyof IavfDriverEvents>(kind: K, listener: (value: IavfDriverEvents[K]) => void): () => void {
    return this.events.on(kind, listener);
  }

  /** Resolves with the link once it is up (rejects with `Timeout`, or `Closed` if the driver stops first). */
  waitForLink(timeoutMs = 10_000): Promise<LinkStatus> {
    if (this.linkValue.up) return Promise.resolve(this.linkValue);
    return this.waitFor("link up", timeoutMs, () => (this.linkValue.up ? this.linkValue : undefined));
  }

  /** Resolves once the driver is `running` (after a reset, say). */
  waitUntilRunning(timeoutMs = 10_000): Promise<void> {
    return this.waitFor("running", timeoutMs, () => (this.stateValue === "running" ? true : undefined)).then(
      () => undefined,
    );
  }

  /**
   * GET_STATS of the VSI. Waits for a reset in progress to finish first, and asks again (up to 3 times) when a reset
   * cuts the request off.
   */
  async stats(): Promise<EthStats> {
    for (let attempt = 1; ; attempt++) {
      await this.waitUntilRunning(this.ctx.options.resetTimeoutMs);
      const e = encodeVirtchnl({ kind: "GetStatsRequest", vsiId: this.vsiId ?? 0, rxQueues: 0, txQueues: 0 });
      try {
        const r = await this.ctx.mailbox.request(e.opcode, e.payload);
        if (r.kind !== "GetStatsReply") throw new IavfClientError("BadReply", `GET_STATS answered ${r.kind}`);
        return r.stats;
      } catch (err) {
        if (!(isIavfClientError(err) && err.reason === "Reset") || attempt === 3) throw err;
      }
    }
  }

  /**
   * Resets the VF and brings it up again: `vf` sends RESET_VF (Linux's reset request), `device` resets the device
   * through VFIO. Resolves when the driver runs again.
   */
  async reset(kind: "vf" | "device" = "vf"): Promise<void> {
    this.live();
    await this.queue(() => this.doReset(kind));
  }

  /**
   * Undoes the bring-up: DISABLE_QUEUES, DEL_ETH_ADDR, RESET_VF (unless `resetOnClose` is false), the queue-shutdown
   * command, admin-queue registers zeroed, vectors released, DMA unmapped, BAR0 unmapped. The `VfioDevice` stays
   * open (it is the caller's). Idempotent; never throws for a device that is already gone.
   */
  async close(): Promise<void> {
    if (this.stateValue === "closed") return;
    this.stopTimers();
    const wasRunning = this.stateValue === "running";
    this.setState("closed");
    await this.task.catch(() => undefined);
    const ctx = this.ctx;
    const quietly = (p: Promise<unknown>) => p.catch(() => undefined);
    if (wasRunning && ctx.adminq.isEnabled) {
      await quietly(disableQueues(ctx));
      await quietly(deleteMac(ctx));
    }
    if (ctx.options.resetOnClose && ctx.adminq.isEnabled) await quietly(ctx.mailbox.send(VirtchnlOp.RESET_VF));
    await this.release();
  }

  private async release(): Promise<void> {
    this.stopTimers();
    this.stateValue = "closed";
    const ctx = this.ctx;
    ctx.mailbox.close();
    ctx.dataPath?.wakeAll();
    if (ctx.irqs) {
      await ctx.irqs.queuesDisable().catch(() => undefined);
      await ctx.irqs.miscDisable().catch(() => undefined);
      await ctx.irqs.disable();
    }
    await ctx.adminq.shutdown(true).catch(() => undefined);
    await ctx.pool.close();
    ctx.bar.close();
    this.setLink(DOWN);
  }

  private async bringUp(): Promise<void> {
    const ctx = this.ctx;
    await waitOutOfReset(ctx);
    await ctx.adminq.setup();
    await negotiateVersion(ctx);
    await getResources(ctx);
    if (ctx.options.interrupts) {
      ctx.irqs = new Interrupts(ctx.device, ctx.bar, ctx.vectors, (v) => this.onInterrupt(v));
      await ctx.irqs.enable();
    }
    const { pairs } = await allocateQueuePairs(
      ctx.pool,
      ctx.bar,
      ctx.options.queuePairs,
      ctx.options.txRingSize,
      ctx.options.rxRingSize,
      ctx.vectors - 1,
    );
    ctx.pairs = pairs;
    if (ctx.options.ownBuffers) {
      ctx.dataPath = await DataPath.create(ctx, pairs, ctx.options.rxBufferSize, {
        running: () => this.stateValue === "running",
        report: (e) => this.fail(deviceFailure("tail doorbell write", e)),
      });
    }
    if (ctx.irqs) {
      await ctx.irqs.miscEnable();
      ctx.mailbox.wait = "interrupt";
    }
    await configureQueues(ctx);
    ctx.running = true;
    await enableQueues(ctx);
    if (ctx.irqs) await ctx.irqs.queuesEnable();
    await configureRss(ctx);
    await configurePromiscuous(ctx);
    this.setState("running");
    this.startTimers();
  }

  private async doReset(cause: ResetCause): Promise<void> {
    if (this.stateValue === "closed" || this.stateValue === "failed") return;
    this.setState("resetting");
    this.ctx.running = false;
    this.setLink(DOWN);
    this.ctx.mailbox.abort(new IavfClientError("Reset", `the VF is being reset (${cause})`));
    this.events.emit("reset", { cause, done: false }, (e) => this.report(e));
    try {
      await resetTask(this.ctx, cause, () => {
        this.ctx.running = true;
      });
    } catch (e) {
      this.fail(deviceFailure(`reset (${cause}) failed`, e));
      throw this.state === "closed" ? new IavfClientError("Closed", "the driver was closed during the reset") : e;
    }
    if (this.state !== "resetting") return; // closed while resetting
    this.setState("running");
    this.events.emit("reset", { cause, done: true }, (e) => this.report(e));
  }

  private onMessage(m: VirtchnlResult): void {
    if (m.opcode !== VirtchnlOp.EVENT) return;
    const d = decodeEvent(m);
    if (d === undefined) return;
    this.events.emit("event", d, (e) => this.report(e));
    if (d.type === "LinkChange") {
      const adv = (this.capabilities & VfCap.CAP_ADV_LINK_SPEED) !== 0;
      const speedMbps = adv ? d.linkSpeed : legacyLinkSpeedToMbps(d.linkSpeed);
      // iavf_virtchnl_completion: a link-up before the queues are set up is ignored; another comes after ENABLE.
      if (d.linkUp && !this.ctx.running) return;
      this.setLink(d.linkUp ? { up: true, speedMbps } : DOWN);
    } else if (d.type === "ResetImpending") {
      this.scheduleReset("pf");
    }
  }

  /** Queues a reset unless one is queued or running. */
  private scheduleReset(cause: ResetCause): void {
    if (this.resetQueued || this.stateValue !== "running") return;
    this.resetQueued = true;
    this.queue(async () => {
      this.resetQueued = false;
      await this.doReset(cause);
    }).catch(() => undefined);
  }

  /** Vector 0 (`iavf_msix_aq` then `iavf_adminq_task`): read ICR01 and ICR0_ENA1, drain the ARQ, re-arm. */
  private onInterrupt(vector: number): void {
    if (vector !== 0) {
      this.ctx.dataPath?.interrupt(vector);
      return;
    }
    if (!this.serving() || this.isr.held) return;
    if (this.isr.running) {
      this.isr.again = true;
      return;
    }
    this.isr.running = true;
    void (async () => {
      const irqs = this.ctx.irqs;
      try {
        do {
          this.isr.again = false;
          await irqs?.acknowledge();
          await this.ctx.mailbox.service();
          if (this.serving()) await irqs?.miscEnable();
          // A message posted while the vector was still disarmed raises nothing: look once more.
          if (this.ctx.adminq.arqPending()) this.isr.again = true;
        } while (this.isr.again && this.serving());
      } catch (e) {
        this.fail(deviceFailure("mailbox interrupt", e));
      } finally {
        this.isr.running = false;
      }
    })();
  }

  /** Whether vector 0 is served: during bring-up and while running (a reset disarms it, as Linux does). */
  private serving(): boolean {
    return this.stateValue === "starting" || this.stateValue === "running";
  }

  /** The watchdog (reset detection: ARQLEN.ENABLE cleared; the ARQ serviced as Linux's watchdog queues it). */
  private startTimers(): void {
    const o = this.ctx.options;
    const running = () => this.stateValue === "running";
    const tasks: PeriodicTask[] = [{ name: "watchdog", everyMs: o.watchdogMs, run: () => this.watchdog() }];
    if (o.statsIntervalMs > 0)
      tasks.push({
        name: "stats",
        everyMs: o.statsIntervalMs,
        run: () =>
          running() ? this.stats().then((s) => this.events.emit("stats", s, (e) => this.report(e))) : undefined, // a reset or a close cutting it off is no failure: the watchdog reports a dead device
      });
    if (!o.interrupts)
      tasks.push({
        name: "arq poll",
        everyMs: o.pollIntervalMs,
        run: () =>
          running() && this.ctx.adminq.arqPending()
            ? this.ctx.mailbox.service().catch((e) => this.fail(deviceFailure("ARQ poll", e)))
            : undefined,
      });
    this.periodic.start(tasks);
  }

  private async watchdog(): Promise<void> {
    if (this.stateValue !== "running" || this.resetQueued) return;
    try {
      const reset = await watchdogCheck(this.ctx, () => this.stateValue === "running");
      if (reset) this.scheduleReset("detected");
    } catch (e) {
      if (this.stateValue === "running") this.fail(deviceFailure("watchdog", e));
    }
  }

  private stopTimers(): void {
    this.periodic.stop();
  }

  private queue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.task.then(op, op);
    this.task = run.catch(() => undefined);
    return run;
  }

  private live(): void {
    if (this.stateValue === "closed") throw new IavfClientError("Closed", "the driver is closed");
    if (this.stateValue === "failed") throw new IavfClientError("Device", "the driver failed; close it");
  }

  private waitFor<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
    return waitForChange(
      what,
      timeoutMs,
      check,
      () => (this.stateValue === "closed" || this.stateValue === "failed" ? this.stateValue : undefined),
      (test) => [this.events.on("link", test), this.events.on("state", test)],
    );
  }

  private setState(s: DriverState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.events.emit("state", s, (e) => this.report(e));
  }

  private setLink(l: LinkStatus): void {
    if (this.linkValue.up === l.up && this.linkValue.speedMbps === l.speedMbps) return;
    this.linkValue = l;
    this.events.emit("link", l, (e) => this.report(e));
  }

  private fail(e: IavfClientError): void {
    if (this.stateValue === "closed" || this.stateValue === "failed") return;
    this.stopTimers();
    this.ctx.running = false;
    this.setLink(DOWN);
    this.setState("failed");
    this.report(e);
  }

  private report(e: unknown): void {
    const err = e instanceof IavfClientError ? e : deviceFailure("listener", e);
    this.events.emit("error", err, () => undefined);
  }
}

function decodeEvent(m: VirtchnlResult): PfEvent | undefined {
  const d = decodeVirtchnl(VirtchnlOp.EVENT, m.payload, "reply");
  return d.ok && d.value.kind === "Event" ? d.value.event : undefined;
}
