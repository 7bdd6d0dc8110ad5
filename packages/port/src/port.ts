// A port as the application handles it on the main thread: lifecycle, configuration, link, info and statistics
// around a driver's control half, and leases of its data half for the threads that run it.
import type { DeviceCounters, LinkStatus, PortConfig, PortControl, PortMigration } from "./driver.js";
import { PortError } from "./errors.js";
import { formatMac } from "./mac.js";
import type { MbufPool, MbufPoolDescription } from "./mbuf-pool.js";
import { RSS_ALL, rssHfNames } from "./rss.js";
import { type PortStats, StatsBlock } from "./stats.js";

export type PortState = "stopped" | "started" | "closed";

/** A configuration request: omitted counts keep the current ones (1 queue, 1024 descriptors at first). */
export interface PortConfigInput {
  readonly rxQueues?: number;
  readonly txQueues?: number;
  readonly rxDesc?: number;
  readonly txDesc?: number;
  readonly pool: MbufPool;
  /** What RSS hashes (`RssHf` bits; 0: nothing); absent: as configured before, else the driver's default. */
  readonly rssHf?: number;
}

export interface PortInfo {
  readonly name: string;
  readonly driver: string;
  /** The devargs after the name ("rx_pcap=a.pcap,tx_pcap=b.pcap"), "" when none. */
  readonly devargs: string;
  readonly mac: Uint8Array;
  /** "8A:EE:A0:15:C5:D7" */
  readonly macText: string;
  readonly state: PortState;
  readonly configured: boolean;
  readonly link: LinkStatus;
  readonly rxQueues: number;
  readonly txQueues: number;
  readonly rxDesc: number;
  readonly txDesc: number;
  readonly maxRxQueues: number;
  readonly maxTxQueues: number;
  readonly maxDesc: number;
  /** The RSS hash types the port can hash (`RssHf` bits; 0: no RSS). */
  readonly rssHfCapa: number;
  /** What RSS hashes as configured (`RssHf` bits); undefined: the driver's default. */
  readonly rssHf: number | undefined;
  /** Driver-specific facts (e.g. `iface`). */
  readonly details: Readonly<Record<string, string>>;
}

/** Everything a thread needs to run a port's data half (`openPortData`): structured-cloneable. */
export interface PortDataDescription {
  readonly port: string;
  readonly driver: string;
  readonly module: string;
  readonly params: unknown;
  readonly rxQueues: number;
  readonly txQueues: number;
  readonly rxDesc: number;
  readonly txDesc: number;
  readonly pool: MbufPoolDescription;
  readonly stats: SharedArrayBuffer;
}

/** A started port's data half lent to threads: the port cannot stop or reconfigure until every lease is released. */
export interface PortLease {
  readonly description: PortDataDescription;
  release(): void;
}

const DEFAULT_DESC = 1024;

export class Port {
  readonly name: string;
  readonly driver: string;
  readonly devargs: string;
  readonly control: PortControl;
  #state: PortState = "stopped";
  #config: PortConfig | undefined;
  #stats = new StatsBlock(0, 0);
  #leases = 0;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #onClosed: () => void;

  constructor(name: string, driver: string, devargs: string, control: PortControl, onClosed: () => void) {
    this.name = name;
    this.driver = driver;
    this.devargs = devargs;
    this.control = control;
    this.#onClosed = onClosed;
  }

  get state(): PortState {
    return this.#state;
  }

  /** Leases of the data half not yet released: threads that run this port's data path now. */
  get leases(): number {
    return this.#leases;
  }

  /** The configuration taken by `configure`, if any. */
  get config(): PortConfig | undefined {
    return this.#config;
  }

  /** Sets queue counts, ring sizes and the pool; the port must be stopped. */
  configure(input: PortConfigInput): Promise<void> {
    return this.#serial(async () => {
      this.#require("stopped", "configure");
      const c = this.control.capabilities;
      const maxDesc = c.maxDesc ?? 65535;
      let cfg: PortConfig = {
        rxQueues: input.rxQueues ?? this.#config?.rxQueues ?? 1,
        txQueues: input.txQueues ?? this.#config?.txQueues ?? 1,
        rxDesc: input.rxDesc ?? this.#config?.rxDesc ?? Math.min(DEFAULT_DESC, maxDesc),
        txDesc: input.txDesc ?? this.#config?.txDesc ?? Math.min(DEFAULT_DESC, maxDesc),
        pool: input.pool,
      };
      const rssHf = input.rssHf ?? this.#config?.rssHf;
      if (rssHf !== undefined) {
        if (!Number.isInteger(rssHf) || rssHf < 0 || rssHf > RSS_ALL || (rssHf & ~RSS_ALL) !== 0)
          throw new PortError(
            "InvalidValue",
            `${this.name}: RSS hash types 0x${rssHf.toString(16)} are not RssHf bits`,
          );
        const beyond = rssHf & ~(c.rssHf ?? 0);
        if (beyond !== 0)
          throw new PortError("InvalidValue", `${this.name} cannot hash RSS types ${rssHfNames(beyond)}`);
        cfg = { ...cfg, rssHf };
      }
      this.#check("RX queues", cfg.rxQueues, 1, c.maxRxQueues);
      this.#check("TX queues", cfg.txQueues, 1, c.maxTxQueues);
      this.#check("RX descriptors", cfg.rxDesc, 1, maxDesc);
      this.#check("TX descriptors", cfg.txDesc, 1, maxDesc);
      await this.control.configure?.(cfg);
      if (cfg.rxQueues !== this.#stats.rxQueues || cfg.txQueues !== this.#stats.txQueues)
        this.#stats = new StatsBlock(cfg.rxQueues, cfg.txQueues);
      this.#config = cfg;
    });
  }

  start(): Promise<void> {
    return this.#serial(async () => {
      if (this.#state === "started") return;
      this.#require("stopped", "start");
      if (this.#config === undefined)
        throw new PortError("BadState", `cannot start ${this.name}: it is not configured; configure it first`);
      await this.control.start(this.#config);
      this.#deviceBase = {}; // the device's counters start again with the port
      this.#state = "started";
    });
  }

  stop(): Promise<void> {
    return this.#serial(async () => {
      if (this.#state !== "started") return;
      if (this.#leases > 0)
        throw new PortError(
          "BadState",
          `cannot stop ${this.name}: ${this.#leases} thread(s) still run its data path; stop forwarding first`,
        );
      this.#state = "stopped";
      await this.control.stop();
    });
  }

  /** Moves a started port's device to `target` (drivers with `migrate`), its data half running on. */
  migrate(target: string): Promise<PortMigration> {
    return this.#serial(async () => {
      this.#require("started", "migrate");
      const m = this.control.migrate;
      if (m === undefined)
        throw new PortError(
          "Unsupported",
          `${this.name}: driver ${this.driver} cannot move its device (no live migration)`,
        );
      return m.call(this.control, target);
    });
  }

  /** Stops (if started) and closes; idempotent. */
  close(): Promise<void> {
    return this.#serial(async () => {
      if (this.#state === "closed") return;
      if (this.#leases > 0)
        throw new PortError("BadState", `cannot close ${this.name}: threads still run its data path`);
      const wasStarted = this.#state === "started";
      this.#state = "closed";
      try {
        if (wasStarted) await this.control.stop();
        await this.control.close();
      } finally {
        this.#onClosed();
      }
    });
  }

  link(): LinkStatus {
    const up = this.#state === "started" && (this.control.link?.() ?? true);
    return { up, speedMbps: this.control.capabilities.speedMbps ?? 10000, duplex: "full", autoneg: false };
  }

  info(): PortInfo {
    const c = this.control.capabilities;
    const cfg = this.#config;
    return {
      name: this.name,
      driver: this.driver,
      devargs: this.devargs,
      mac: this.control.mac,
      macText: formatMac(this.control.mac),
      state: this.#state,
      configured: cfg !== undefined,
      link: this.link(),
      rxQueues: cfg?.rxQueues ?? 0,
      txQueues: cfg?.txQueues ?? 0,
      rxDesc: cfg?.rxDesc ?? 0,
      txDesc: cfg?.txDesc ?? 0,
      maxRxQueues: c.maxRxQueues,
      maxTxQueues: c.maxTxQueues,
      maxDesc: c.maxDesc ?? 65535,
      rssHfCapa: c.rssHf ?? 0,
      rssHf: cfg?.rssHf,
      details: this.control.details?.() ?? {},
    };
  }

  stats(): PortStats {
    const s = this.#stats.snapshot();
    const d = this.#deviceCounters();
    if (d === undefined) return s;
    const b = this.#deviceBase;
    return {
      ...s,
      imissed: s.imissed + (d.imissed ?? 0) - (b.imissed ?? 0),
      ierrors: s.ierrors + (d.ierrors ?? 0) - (b.ierrors ?? 0),
      oerrors: s.oerrors + (d.oerrors ?? 0) - (b.oerrors ?? 0),
    };
  }

  /** Counters read zero from now on. */
  resetStats(): void {
    this.#stats.reset();
    this.#deviceBase = this.#deviceCounters() ?? {};
  }

  #deviceBase: DeviceCounters = {};

  /** The device's own counters while started. */
  #deviceCounters(): DeviceCounters | undefined {
    return this.#state === "started" ? this.control.deviceCounters?.() : undefined;
  }

  /** Lends the data half of a started port to threads (see PortLease). */
  lease(): PortLease {
    if (this.#state !== "started" || this.#config === undefined)
      throw new PortError("BadState", `${this.name} is ${this.#state}: start it before forwarding on it`);
    const cfg = this.#config;
    const src = this.control.data(cfg);
    const description: PortDataDescription = {
      port: this.name,
      driver: this.driver,
      module: src.module,
      params: src.params,
      rxQueues: cfg.rxQueues,
      txQueues: cfg.txQueues,
      rxDesc: cfg.rxDesc,
      txDesc: cfg.txDesc,
      pool: cfg.pool.describe(),
      stats: this.#stats.buffer,
    };
    this.#leases++;
    let released = false;
    return {
      description,
      release: () => {
        if (released) return;
        released = true;
        this.#leases--;
      },
    };
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op, op);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #require(state: PortState, what: string): void {
    if (this.#state !== state)
      throw new PortError(
        "BadState",
        `cannot ${what} ${this.name}: it is ${this.#state}${this.#state === "started" ? "; stop it first" : ""}`,
      );
  }

  #check(what: string, v: number, min: number, max: number): void {
    if (!Number.isInteger(v) || v < min || v > max)
      throw new PortError("InvalidValue", `${this.name}: ${what} ${v} out of range ${min}..${max}`);
  }
}
