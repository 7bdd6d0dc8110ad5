// An emudev device: the application's handle (lifecycle, provider binding) over the resources a data path uses
// (queues, IRQs, doorbells, regions, attributes, the DMA table, events), and the driver-facing side behind them.
import { PciIrq } from "@emu/vfio-user-proto";
import {
  createServer,
  type DeviceContext,
  DeviceError,
  type DeviceModel,
  isDeviceError,
  type RegionFileOffer,
  type VfioUserServer,
} from "@emu/vfio-user-server";
import { AttributeTable } from "./attributes.js";
import { DmaTableImpl } from "./dma-table.js";
import { type DoorbellInfo, doorbellInfo } from "./doorbells.js";
import type { DeviceInfo, DriverHost, DriverInstance } from "./driver.js";
import { EmudevError } from "./errors.js";
import { type EmudevEvent, type EmudevEvents, EventHub } from "./events.js";
import { type IrqInfo, type IrqWatcher, irqInfo } from "./irqs.js";
import { hookModel, type ModelHooks } from "./model-hooks.js";
import type { EmudevProvider, ProviderRegistry } from "./provider.js";
import { type QueueInfo, QueueTable, type QueueUpdate } from "./queues.js";
import type { EmudevResources, EmudevState, RegionInfo } from "./resources.js";

/** The application's handle on a device. */
export interface EmudevDevice extends EmudevResources {
  /** The bound provider's name. */
  readonly provider: string | undefined;
  /** Driver-specific settings (created or stopped only). */
  configure(config?: Readonly<Record<string, unknown>>): void;
  /** Serves the device on its socket (configured or stopped only). */
  start(): Promise<void>;
  /** Closes the socket and its client; resources are kept, `start` serves again. */
  stop(): Promise<void>;
  /** Stops, detaches the provider, drops the device from its registry. Idempotent. */
  close(): Promise<void>;
  /** Binds the device to a registered provider (one at a time, not when closed). */
  attach(provider: string): void;
  detach(): void;
}

/** What a device needs from the registry that made it. */
export interface DeviceSetup {
  readonly name: string;
  readonly driver: string;
  readonly socketPath: string;
  readonly providers: ProviderRegistry;
  readonly onError: (e: unknown) => void;
  readonly onClosed: () => void;
}

const START_FROM: readonly EmudevState[] = ["configured", "stopped"];
const CONFIGURE_FROM: readonly EmudevState[] = ["created", "configured", "stopped"];

export class EmudevDeviceImpl implements EmudevDevice {
  readonly name: string;
  readonly driver: string;
  readonly socketPath: string;
  state: EmudevState = "created";
  ready = false;
  features = 0n;
  readonly dma: DmaTableImpl;
  private readonly hub: EventHub;
  private instance!: DriverInstance;
  private queueTable!: QueueTable;
  private attrs!: AttributeTable;
  private server: VfioUserServer | undefined;
  private model: DeviceModel | undefined;
  private bound: EmudevProvider | undefined;
  private starting: Promise<VfioUserServer> | undefined;
  private readonly irqWatchers = new Set<IrqWatcher>();
  private stopping: Promise<void> | undefined;

  constructor(private readonly setup: DeviceSetup) {
    this.name = setup.name;
    this.driver = setup.driver;
    this.socketPath = setup.socketPath;
    this.hub = new EventHub(setup.onError);
    this.dma = new DmaTableImpl(() => this.server?.context.dma);
  }

  /** Second step of construction: the driver's instance (made with `host`). */
  adopt(instance: DriverInstance): void {
    this.instance = instance;
    const n = instance.info.queueCount;
    if (!Number.isSafeInteger(n) || n < 0)
      throw new EmudevError("InvalidValue", `${this.name}: driver says queueCount ${n}`);
    this.queueTable = new QueueTable(n, (queue, enabled) => {
      this.emit({ kind: "queueState", queue, enabled });
      this.callProvider((p) => p.ops.queueStateSet(this, queue, enabled));
    });
    this.attrs = new AttributeTable(instance.attributes ?? {}, (name, value) =>
      this.emit({ kind: "attribute", name, value }),
    );
  }

  get info(): DeviceInfo {
    return this.instance.info;
  }

  get offeredFeatures(): bigint {
    return this.info.features & (this.bound?.attributes.features ?? this.info.features);
  }

  get provider(): string | undefined {
    return this.bound?.name;
  }

  get connected(): boolean {
    return this.server?.context.connected ?? false;
  }

  on: EmudevEvents["on"] = (kind: string, listener: (e: never) => void) => this.hub.on(kind, listener);

  private emit(e: EmudevEvent): void {
    this.hub.emit(e);
  }

  /** Runs a provider op (if bound), reporting a throw or a rejection. */
  private callProvider(op: (p: EmudevProvider) => unknown): void {
    const p = this.bound;
    if (p === undefined) return;
    try {
      const r = op(p);
      if (r instanceof Promise) r.catch(this.setup.onError);
    } catch (e) {
      this.setup.onError(e);
    }
  }

  private refuse(what: string, hint: string): never {
    throw new EmudevError("BadState", `cannot ${what} ${this.name}: it is ${this.state}${hint ? `; ${hint}` : ""}`);
  }

  private running(): { ctx: DeviceContext; model: DeviceModel } {
    if (this.server === undefined || this.model === undefined) this.refuse("use the resources of", "start it first");
    return { ctx: this.server.context, model: this.model };
  }

  // ---- lifecycle ----

  configure(config: Readonly<Record<string, unknown>> = {}): void {
    if (!CONFIGURE_FROM.includes(this.state)) this.refuse("configure", this.state === "started" ? "stop it first" : "");
    try {
      this.instance.configure?.(config);
    } catch (e) {
      if (e instanceof EmudevError) throw e;
      const why = e instanceof Error ? e.message : String(e);
      throw new EmudevError("InvalidValue", `${this.name} refused its configuration: ${why}`, { cause: e });
    }
    this.state = "configured";
  }

  async start(): Promise<void> {
    if (!START_FROM.includes(this.state)) this.refuse("start", this.state === "created" ? "configure it first" : "");
    this.state = "started";
    this.starting = createServer({
      socketPath: this.socketPath,
      onError: this.setup.onError,
      device: (ctx) => {
        ctx.irq.onChange((index, vectors) => this.irqsChanged(index, vectors)); // lives as long as this server
        this.model = hookModel(this.instance.model(ctx), this.hooks());
        return this.model;
      },
    });
    try {
      this.server = await this.starting;
      this.server.context.dma.addDirtySource(this.dma.dirtySource);
    } catch (e) {
      this.state = "stopped";
      this.model = undefined;
      throw e;
    } finally {
      this.starting = undefined;
    }
  }

  private hooks(): ModelHooks {
    return {
      reset: (reason) => this.wasReset(reason),
      dmaMapped: (region) => {
        this.dma.mapped(region);
        this.emit({ kind: "dmaTable", change: "map", region });
      },
      dmaUnmapping: (region) => {
        this.emit({ kind: "dmaTable", change: "unmap", region });
        this.dma.unmapped(region);
      },
      connection: (connected) => {
        if (!connected) this.setNotReady(); // its guest memory is gone
        this.emit({ kind: "connection", connected });
      },
      migrationDone: () => this.callProvider((p) => p.ops.migrationDone?.(this)),
      // A stop the provider cannot make throws through (the arc is refused); starting again is only reported.
      migrationRunning: (running) =>
        running
          ? this.callProvider((p) => p.ops.migrationRunning?.(this, true))
          : this.bound?.ops.migrationRunning?.(this, false),
      // A provider that cannot be migrated refuses: "not supported" on the wire, its message to onError.
      migrationTransfer: () => {
        try {
          this.bound?.ops.migrationTransfer?.(this);
        } catch (e) {
          throw isDeviceError(e) ? e : new DeviceError("NotSupported", e instanceof Error ? e.message : String(e));
        }
      },
    };
  }

  async stop(): Promise<void> {
    if (this.state !== "started") this.refuse("stop", "");
    if (this.stopping !== undefined) return this.stopping;
    this.stopping = (async () => {
      try {
        await this.starting?.catch(() => undefined); // a stop during start closes what start made
        await this.server?.close();
      } finally {
        this.setNotReady();
        this.dma.clear();
        this.server = undefined;
        this.model = undefined;
        this.instance.stopped?.();
        this.state = "stopped";
        this.stopping = undefined;
      }
    })();
    return this.stopping;
  }

  async close(): Promise<void> {
    if (this.state === "closed") return;
    if (this.state === "started") await this.stop();
    else await this.stopping;
    if (this.bound !== undefined) this.detach();
    this.state = "closed";
    this.hub.clear();
    this.setup.onClosed();
  }

  // ---- provider binding ----

  attach(provider: string): void {
    if (this.state === "closed") this.refuse("attach a provider to", "");
    if (this.bound !== undefined)
      throw new EmudevError(
        "BadState",
        `${this.name} is already attached to provider ${this.bound.name}; detach first`,
      );
    this.bound = this.setup.providers.bind(provider, this.name, this.info.queueCount);
    this.callProvider((p) => p.ops.attached?.(this));
    if (this.features !== 0n) this.callProvider((p) => p.ops.featuresSet?.(this, this.features));
    if (this.ready) this.callProvider((p) => p.ops.deviceConfigured(this));
    this.tellDriver(provider);
  }

  /** The driver's `providerChanged`; a throw goes to `onError` (the binding stands). */
  private tellDriver(provider: string | undefined): void {
    try {
      this.instance.providerChanged?.(provider);
    } catch (e) {
      this.setup.onError(e);
    }
  }

  detach(): void {
    const p = this.bound;
    if (p === undefined) throw new EmudevError("NotBound", `${this.name} has no provider attached`);
    if (this.ready) this.callProvider((q) => q.ops.deviceClosed(this));
    this.callProvider((q) => q.ops.detached?.(this));
    this.bound = undefined;
    this.setup.providers.release(p.name);
    this.tellDriver(undefined);
  }

  // ---- driver side ----

  private setReady(): void {
    if (this.state !== "started") this.refuse("make ready", "start it first");
    if (this.ready) return;
    this.ready = true;
    this.emit({ kind: "ready" });
    this.callProvider((p) => p.ops.deviceConfigured(this));
  }

  private setNotReady(): void {
    if (!this.ready) return;
    this.ready = false;
    this.emit({ kind: "notReady" });
    this.callProvider((p) => p.ops.deviceClosed(this));
  }

  private wasReset(reason: "client" | "flr" | "driver"): void {
    this.setNotReady();
    this.queueTable.reset();
    this.features = 0n;
    this.emit({ kind: "reset", reason });
  }

  /** The driver-facing side handed to the driver's `create`. */
  host(): DriverHost {
    return {
      name: this.name,
      dma: this.dma,
      setQueue: (id: number, u: QueueUpdate) => this.queueTable.update(id, u),
      queue: (id: number) => this.queueTable.get(id),
      irq: (vector: number) => this.irq(vector),
      ready: () => this.setReady(),
      notReady: () => this.setNotReady(),
      reset: () => this.wasReset("driver"),
      setFeatures: (features: bigint) => {
        this.features = features;
        this.callProvider((p) => p.ops.featuresSet?.(this, features));
      },
      attributeChanged: (name: string) => this.attrs.changed(name),
      offeredFeatures: () => this.offeredFeatures,
    };
  }

  // ---- resources ----

  queue(id: number): QueueInfo {
    return this.queueTable.get(id);
  }

  queues(): readonly QueueInfo[] {
    return this.queueTable.all();
  }

  irq(vector: number): IrqInfo {
    const { ctx, model } = this.running();
    const cap = model.pci.capabilities?.find((c) => c.kind === "msix");
    const count = model.irqs?.msix ?? (cap?.kind === "msix" ? cap.tableSize : 0);
    return irqInfo(ctx, vector, count);
  }

  watchIrqs(listener: IrqWatcher): () => void {
    this.irqWatchers.add(listener);
    return () => {
      this.irqWatchers.delete(listener);
    };
  }

  /** The server's change notice, for the MSI-X vectors (the ones `irq` hands out); the client's reply awaits it. */
  private irqsChanged(index: number, vectors: readonly number[]): void | Promise<void> {
    if (index !== PciIrq.MSIX || this.irqWatchers.size === 0) return;
    const waits: Promise<void>[] = [];
    for (const w of [...this.irqWatchers]) {
      try {
        const r = w(vectors);
        if (r instanceof Promise) waits.push(r);
      } catch (e) {
        waits.push(Promise.reject(e)); // the others still run; the server reports it
      }
    }
    if (waits.length > 0) return Promise.all(waits).then(() => undefined);
  }

  doorbell(id: number): DoorbellInfo {
    const { ctx } = this.running();
    const d = this.instance.doorbells?.find((x) => x.id === id);
    if (d === undefined) throw new EmudevError("UnknownResource", `${this.name} has no doorbell ${id}`);
    return doorbellInfo(d, ctx.regionMemory(d.region));
  }

  doorbells(): readonly DoorbellInfo[] {
    return (this.instance.doorbells ?? []).map((d) => this.doorbell(d.id));
  }

  regions(): readonly RegionInfo[] {
    const { ctx, model } = this.running();
    return Object.keys(model.regions ?? {}).map((k) => {
      const offer = ctx.regionFileOffer(Number(k));
      return {
        index: Number(k),
        memory: ctx.regionMemory(Number(k)),
        fd: ctx.regionMemfd(Number(k)),
        offset: offer?.offset ?? 0n,
        offer,
      };
    });
  }

  offerRegionFile(index: number, offer: RegionFileOffer | undefined): void {
    const { ctx } = this.running();
    try {
      ctx.offerRegionFile(index, offer);
    } catch (e) {
      throw new EmudevError(
        "InvalidValue",
        `${this.name}: region ${index}: ${e instanceof Error ? e.message : String(e)}`,
        {
          cause: e,
        },
      );
    }
  }

  attribute(name: string): unknown {
    return this.attrs.get(name);
  }

  setAttribute(name: string, value: unknown): void {
    if (this.state === "closed") this.refuse("set an attribute of", "");
    this.attrs.set(name, value);
  }

  attributes(): readonly string[] {
    return this.attrs.names();
  }
}
