// The contract of a port driver, in two halves: the control half lives on the main thread (configure, start, stop,
// link, info) and describes, as plain data, what a thread needs to run the data half; the data half is built inside
// each worker thread from that description and moves packets (rxBurst/txBurst). Nothing of the data path runs on the
// event loop.
import type { ArgsOf, DevargsSchema } from "@emu/emudev";
import type { MbufPool } from "./mbuf-pool.js";

/** A port's queue counts and ring sizes, as the application configures them. */
export interface PortConfig {
  readonly rxQueues: number;
  readonly txQueues: number;
  /** RX ring size (descriptors) per queue. */
  readonly rxDesc: number;
  /** TX ring size per queue. */
  readonly txDesc: number;
  /** Where received packets' buffers come from (DPDK's rx_queue_setup mempool); transmitted buffers go back to it. */
  readonly pool: MbufPool;
  /**
   * What receive-side scaling hashes (`RssHf` bits, DPDK's `rss_hf`, within the capabilities' `rssHf`; 0: no
   * hashing); absent: the driver's default.
   */
  readonly rssHf?: number;
}

/** What a driver supports; `configure` is checked against it. */
export interface PortCapabilities {
  readonly maxRxQueues: number;
  readonly maxTxQueues: number;
  /** Largest ring size a queue accepts (default 65535). */
  readonly maxDesc?: number;
  /** Reported link speed when up, in Mbit/s (default 10000). */
  readonly speedMbps?: number;
  /** The RSS hash types the port can hash (`RssHf` bits, DPDK's flow_type_rss_offloads; default 0: no RSS). */
  readonly rssHf?: number;
}

export interface LinkStatus {
  readonly up: boolean;
  readonly speedMbps: number;
  readonly duplex: "full" | "half";
  readonly autoneg: boolean;
}

/** A typed name for something the application offers drivers (`PortRegistry.provide`, `PortHost.service`). */
export interface ServiceKey<T> {
  readonly id: string;
  /** Never set: carries T. */
  readonly __type?: T;
}

/** A service key: two keys with the same id name the same service. */
export function serviceKey<T>(id: string): ServiceKey<T> {
  return { id };
}

/** What a driver sees of a port of its registry, its own or another (a `Port` is one). */
export interface PeerPort {
  readonly control: PortControl;
  /** Threads that hold the port's data half now. */
  readonly leases: number;
  /** The configuration of its last `configure` (undefined before). */
  readonly config: PortConfig | undefined;
}

/** What a driver is given when it makes a port. */
export interface PortHost {
  /** The port's name, e.g. "net_ring1". */
  readonly name: string;
  readonly devargs: string;
  /** Another port of the same registry (net_ring's peer). */
  port(name: string): PeerPort | undefined;
  /** A service the application provided (e.g. its EmudevRegistry, for a port over an emulated device). */
  service<T>(key: ServiceKey<T>): T | undefined;
}

/** Where a thread finds a port's data half: a module and the plain data it needs. */
export interface PortDataSource {
  /** URL of an ES module exporting `openPortData: PortDataFactory` (e.g. `new URL("./data.js", import.meta.url).href`). */
  readonly module: string;
  /** Structured-cloneable: numbers (fd numbers are process-wide), strings, SharedArrayBuffers. */
  readonly params: unknown;
}

/** The control half of a port (main thread). */
export interface PortControl {
  readonly capabilities: PortCapabilities;
  readonly mac: Uint8Array;
  /** Checks and takes a configuration; the port is stopped. Throw (a PortError) to refuse. */
  configure?(config: PortConfig): void | Promise<void>;
  /** Brings the port up (open files, fds, interfaces) for `config`. */
  start(config: PortConfig): void | Promise<void>;
  /** No thread runs the data half any more: release what `start` took. */
  stop(): void | Promise<void>;
  /** The port goes away (after `stop` if it was started). */
  close(): void | Promise<void>;
  /** The link while started (the port reports it down otherwise). Default: up. */
  link?(): boolean;
  /** The data half for `config`, while started. */
  data(config: PortConfig): PortDataSource;
  /**
   * Counters the device keeps itself, cumulative while started (a NIC's missed packets: frames it dropped for want of
   * a posted buffer): added to the port's statistics, at port level.
   */
  deviceCounters?(): DeviceCounters;
  /** Driver-specific lines for `info()` (e.g. the TAP interface's name). */
  details?(): Readonly<Record<string, string>>;
  /**
   * Live migration, for a port over a device that can move (e.g. a vfio-user device to another server process):
   * while started, even with threads running its data half, the device moves to `target` (driver-defined: a socket
   * path) and the port carries on there. Resolves with what the move took; on failure the port stays where it was.
   */
  migrate?(target: string): Promise<PortMigration>;
}

/** What a port's live migration took (`PortControl.migrate`). */
export interface PortMigration {
  /**
   * What the traffic sees, in ms: from the device stopping (or the port's data path pausing, if earlier) to the data
   * path running on the device at the target.
   */
  readonly downtimeMs: number;
  /** The whole move, including the port's own switch, in ms. */
  readonly totalMs: number;
  /** Bytes of device state moved. */
  readonly deviceStateBytes: number;
}

/** What a device counts itself (see `PortControl.deviceCounters`). */
export interface DeviceCounters {
  readonly imissed?: number;
  readonly ierrors?: number;
  readonly oerrors?: number;
}

/** A port driver: ports named `<name><n>` are made by it from devargs. */
export interface PortDriver<S extends DevargsSchema = DevargsSchema> {
  /** e.g. "net_pcap" */
  readonly name: string;
  /** The devargs keys it accepts. */
  readonly args: S;
  create(host: PortHost, args: ArgsOf<S>): PortControl | Promise<PortControl>;
}

/** Counters a data half bumps itself (packets and bytes are counted for it). */
export type DriverCounter = "ierrors" | "imissed" | "rxNombuf" | "oerrors";

/** What a data half is given inside its thread. */
export interface PortDataEnv {
  readonly port: string;
  /** The port's pool, mapped in this thread. */
  readonly pool: MbufPool;
  readonly rxQueues: number;
  readonly txQueues: number;
  readonly rxDesc: number;
  readonly txDesc: number;
  /** The queues this thread serves: no other thread touches them while it runs. */
  readonly servedRx: readonly number[];
  readonly servedTx: readonly number[];
  count(counter: DriverCounter, queue: number, n: number): void;
}

/**
 * The data half of a port, in one thread. Bursts follow DPDK's rules: `rxBurst` fills bufs[0..k) with buffers the
 * caller now owns (k ≤ n); `txBurst` takes ownership of bufs[0..k) (k ≤ n; they are freed once sent) and leaves
 * bufs[k..n) the caller's.
 */
export interface PortDataDriver {
  rxBurst(queue: number, bufs: Uint32Array, n: number): number;
  txBurst(queue: number, bufs: Uint32Array, n: number): number;
  /** Push out what is buffered (a file's write buffer); called when the thread idles and before `close`. */
  flush?(): void;
  /** The thread stops serving the port: give back buffers held, close what was opened here. */
  close(): void;
}

/** What a driver's data module exports as `openPortData`. */
export type PortDataFactory = (params: unknown, env: PortDataEnv) => PortDataDriver | Promise<PortDataDriver>;
