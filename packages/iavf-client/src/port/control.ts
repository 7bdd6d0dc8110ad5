/**
 * `net_iavf_client` (DPDK's vdev of that name: `--vdev 'net_iavf_client0,path=<vfio-user socket>'`): a port over an
 * iavf VF reached through a vfio-user socket, driven by `IavfDriver`. Made: the socket is connected and the VF probed
 * (queue pairs it offers, its MAC). Started: the driver brings the VF up for the configuration (queue pairs, ring
 * sizes, the pool's buffer size), DMA-maps the port's packet pool so the device reads and writes the buffers
 * themselves, posts the RX rings and hands the rings to the forwarding threads. Stopped: the VF is closed as Linux
 * removes it, every buffer back in the pool. A reset of the VF pauses the threads' rings and starts them over after.
 */
import { type ArgSpec, arg } from "@emu/emudev";
import type { EthStats } from "@emu/iavf-common";
import type { DeviceCounters, PortConfig, PortControl, PortDriver, PortHost, PortMigration } from "@emu/port";
import { PortError, RSS_ALL } from "@emu/port";
import { type KeptDmaMemory, type MigrationReport, migrateDevice, VfioUserClient } from "@emu/vfio-user-client";
import type { RingState } from "../datapath/ring-state.js";
import { RxQueue } from "../datapath/rx-queue.js";
import type { SharedPair } from "../datapath/share.js";
import { TxQueue } from "../datapath/tx-queue.js";
import type { DmaRegion } from "../dma-pool.js";
import { IavfDriver } from "../driver.js";
import { IavfClientError, isIavfClientError } from "../errors.js";
import type { IavfClientParams } from "./data.js";
import { PairIo } from "./pair-io.js";
import { henaOfRssHf } from "./rss-hena.js";

const args = {
  path: arg.string({ help: "the vfio-user socket of the VF (e.g. served by emu_iavf)" }),
  intr: arg.bool({ default: false, help: "serve the mailbox on its MSI-X vector (default: polled)" }),
  mac: arg.mac({ default: new Uint8Array(0), help: "use this MAC instead of the PF's" }),
  promisc: arg.bool({ default: true, help: "promiscuous mode, as testpmd sets on every port (default on)" }),
  rss_key: {
    parse(v: string): Uint8Array {
      if (!/^([0-9a-f]{2})+$/i.test(v)) throw new Error("must be hex bytes (two digits each)");
      return Uint8Array.from(v.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
    },
    default: new Uint8Array(0),
    help: "the RSS hash key in hex, as many bytes as the VF's key (default: a random one, as Linux and DPDK make)",
  } satisfies ArgSpec<Uint8Array>,
};

/** How often the VF's statistics are read while started. */
const STATS_MS = 100;

const fail = (host: PortHost, what: string, e: unknown): PortError =>
  new PortError("Io", `${host.name}: ${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });

const macText = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
const macBytes = (s: string) => Uint8Array.from(s.split(":"), (h) => Number.parseInt(h, 16));

/** The started state: the running driver, the pool's mapping, the shared rings. */
interface Running {
  readonly nic: IavfDriver;
  /** GET_STATS at start, and the latest of the periodic ones. */
  readonly stats: { base: EthStats; last: EthStats };
  readonly poolRegion: DmaRegion;
  readonly shared: SharedPair[];
  readonly off: () => void;
}

/** How long a forwarding thread may take to finish the burst it is in once its ring is paused for a migration. */
const QUIESCE_TIMEOUT_MS = 1000;

class IavfClientPort implements PortControl {
  readonly capabilities;
  readonly mac: Uint8Array;
  private running: Running | undefined;
  /** DMA memory of the connections a migration closed (the driver's rings and buffers live in it): released last. */
  private readonly kept: KeptDmaMemory[] = [];

  constructor(
    private readonly host: PortHost,
    private dev: VfioUserClient,
    private readonly options: {
      readonly interrupts: boolean;
      readonly mac: string | undefined;
      readonly promiscuous: boolean;
      readonly rssKey: Uint8Array | undefined;
    },
    maxPairs: number,
    mac: string,
  ) {
    this.capabilities = {
      maxRxQueues: maxPairs,
      maxTxQueues: maxPairs,
      maxDesc: 4096,
      speedMbps: 10_000,
      rssHf: RSS_ALL,
    };
    this.mac = macBytes(mac);
  }

  configure(config: PortConfig): void {
    const name = this.host.name;
    if (config.rxQueues !== config.txQueues)
      throw new PortError("InvalidValue", `${name}: an iavf VF has queue pairs: as many RX as TX queues, please`);
    for (const [what, n] of [
      ["RX", config.rxDesc],
      ["TX", config.txDesc],
    ] as const)
      if (n < 64 || n % 32 !== 0)
        throw new PortError("InvalidValue", `${name}: ${what} ring size ${n} must be 64..4096, a multiple of 32`);
    if (config.pool.dataRoom < 1024)
      throw new PortError("InvalidValue", `${name}: the pool's data room (${config.pool.dataRoom}) is below 1024`);
  }

  async start(config: PortConfig): Promise<void> {
    this.configure(config);
    const rxBufferSize = Math.floor(Math.min(config.pool.dataRoom, 16256) / 128) * 128;
    let nic: IavfDriver;
    try {
      nic = await IavfDriver.attach(this.dev, {
        queuePairs: config.rxQueues,
        txRingSize: config.txDesc,
        rxRingSize: config.rxDesc,
        rxBufferSize,
        maxPacketSize: Math.min(rxBufferSize, 9728),
        interrupts: this.options.interrupts,
        ownBuffers: false,
        // The port's hash types as DPDK's iavf sends them; none asked: Linux's default set.
        rssHena: config.rssHf === undefined ? true : henaOfRssHf(config.rssHf),
        promiscuous: this.options.promiscuous,
        statsIntervalMs: STATS_MS,
        ...(this.options.mac ? { mac: this.options.mac } : {}),
        ...(this.options.rssKey ? { rssKey: this.options.rssKey } : {}),
      });
    } catch (e) {
      throw fail(this.host, "cannot bring the VF up", e);
    }
    try {
      const desc = config.pool.describe();
      const poolRegion = await nic.mapFile(desc.fd, desc.size);
      const shared = nic.shareRings();
      const base = await nic.stats();
      const stats = { base, last: base };
      const offs = [
        nic.on("reset", ({ done }) => this.onReset(done)),
        nic.on("stats", (s) => {
          stats.last = s;
        }),
      ];
      this.running = {
        nic,
        poolRegion,
        shared,
        stats,
        off: () => {
          for (const f of offs) f();
        },
      };
      for (const io of this.pairIo(config)) io.refill();
    } catch (e) {
      await nic.close();
      throw isIavfClientError(e) ? fail(this.host, "cannot share the rings", e) : e;
    }
  }

  /** The control half's own view of every pair (main thread, no worker holds them now). */
  private pairIo(config: PortConfig): PairIo[] {
    const r = this.running;
    if (r === undefined) return [];
    return r.nic.queuePairs.map((p, q) => {
      const s = r.shared[q] as SharedPair;
      const tail = (ring: typeof p.tx) => (v: number) => void ring.writeTail(v)?.catch(() => undefined);
      return new PairIo(
        new RxQueue(p.rx.view, s.rxState, tail(p.rx)),
        new TxQueue(p.tx.view, s.txState, tail(p.tx)),
        config.pool,
        Number(r.poolRegion.iova),
      );
    });
  }

  /** A reset began: the threads leave the rings alone; it is done: they start them over (or we do, if none runs). */
  private onReset(done: boolean): void {
    const r = this.running;
    if (r === undefined) return;
    for (const s of r.shared) {
      for (const st of [s.rxState, s.txState]) {
        if (done) st.bumpGeneration();
        st.paused = !done;
      }
    }
    const port = this.host.port(this.host.name);
    if (done && port !== undefined && port.leases === 0 && port.config) {
      for (const io of this.pairIo(port.config)) {
        io.restartTx();
        io.restartRx();
      }
    }
  }

  async stop(): Promise<void> {
    const r = this.running;
    if (r === undefined) return;
    this.running = undefined;
    r.off();
    await r.nic.close(); // DISABLE_QUEUES, RESET_VF: the device touches the buffers no more
    const port = this.host.port(this.host.name);
    if (port?.config) {
      this.running = r;
      for (const io of this.pairIo(port.config)) io.release();
      this.running = undefined;
    }
  }

  async close(): Promise<void> {
    await this.stop();
    await this.dev.close();
    for (const k of this.kept.splice(0)) k.release();
  }

  /**
   * Live migration to the server on `target` (a socket path). Traffic flows on while the driver's memory is mapped
   * there and its BAR0 opened, and through pre-copy (`migrateDevice`). Once both devices are stopped (the source's
   * state read, the destination resuming) the rings pause, and their threads finish the bursts under way while the
   * destination restores the state (acknowledged, bounded: a thread that does not let go fails the migration and the
   * source runs on), so that no thread writes a tail while the doorbells are handed over. The destination runs, BAR0
   * and the threads' doorbells follow it, every tail is written again from the ring's state (one a thread wrote to the
   * stopped source reached it only) and the rings resume. The downtime reported is what the traffic sees: from the
   * source stopping to the rings running on the destination. Then the old connection is closed, as a VMM ends the
   * source (its server sees the client go: its device is free for another, e.g. a migration back), its DMA memory kept
   * until the port closes. On failure nothing moved.
   */
  async migrate(target: string): Promise<PortMigration> {
    const r = this.running;
    if (r === undefined) throw new PortError("BadState", `${this.host.name} is not started`);
    const t0 = performance.now();
    let next: VfioUserClient;
    try {
      next = await VfioUserClient.connect(target);
    } catch (e) {
      throw fail(this.host, `cannot connect to ${target}`, e);
    }
    const states = r.shared.flatMap((s) => [s.txState, s.rxState]);
    let report: MigrationReport;
    try {
      report = await r.nic.moveTo(next, (from, to, beforeRun) =>
        migrateDevice(from as VfioUserClient, to as VfioUserClient, {
          // Both devices stopped: the rings pause; their threads finish their bursts while the destination restores.
          whileResuming: async () => {
            for (const st of states) st.paused = true;
            await beforeRun();
          },
          whileStopped: () => this.quiesce(states),
        }),
      );
    } catch (e) {
      for (const st of states) st.paused = false;
      await next.close().catch(() => undefined);
      throw fail(this.host, `cannot move to ${target}`, e);
    }
    const old = this.dev;
    this.dev = next;
    let resumedAt: number;
    try {
      await this.rewriteTails(r);
    } finally {
      for (const st of states) st.paused = false;
      resumedAt = performance.now();
      this.kept.push(await old.closeKeepingMemory()); // the device moved: the source ends even if a tail write failed
    }
    return {
      downtimeMs: resumedAt - report.stoppedAt,
      totalMs: performance.now() - t0,
      deviceStateBytes: report.deviceStateBytes,
    };
  }

  /** Waits until no forwarding thread is inside a burst of the paused `states`; refuses after the timeout. */
  private async quiesce(states: readonly RingState[]): Promise<void> {
    const done = await Promise.all(states.map((st) => st.quiesce(QUIESCE_TIMEOUT_MS)));
    const stuck = done.filter((ok) => !ok).length;
    if (stuck > 0)
      throw new IavfClientError(
        "Timeout",
        `${stuck} ring(s) still in a forwarding thread's burst ${QUIESCE_TIMEOUT_MS} ms after the pause`,
      );
  }

  /** After a move: every ring's tail written to the new device from the ring's state (a late store reached the old). */
  private async rewriteTails(r: Running): Promise<void> {
    for (const [q, p] of r.nic.queuePairs.entries()) {
      const s = r.shared[q] as SharedPair;
      for (const [ring, st] of [
        [p.tx, s.txState],
        [p.rx, s.rxState],
      ] as const) {
        st.load();
        await ring.writeTail(st.ntu);
      }
    }
  }

  /** The VF's own counts (GET_STATS every 100 ms, as DPDK's iavf reads imissed): frames dropped for want of a buffer. */
  deviceCounters(): DeviceCounters {
    const s = this.running?.stats;
    if (s === undefined) return {};
    return {
      imissed: Number(s.last.rxDiscards - s.base.rxDiscards),
      oerrors: Number(s.last.txErrors - s.base.txErrors),
    };
  }

  link(): boolean {
    return this.running?.nic.link.up ?? false;
  }

  data(): { module: string; params: IavfClientParams } {
    const r = this.running;
    if (r === undefined) throw new PortError("BadState", `${this.host.name} is not started`);
    return {
      module: new URL("./data.js", import.meta.url).href,
      params: { pairs: r.shared.map((s) => ({ rx: s.rx, tx: s.tx })), poolIova: Number(r.poolRegion.iova) },
    };
  }

  details(): Readonly<Record<string, string>> {
    const nic = this.running?.nic;
    return {
      socket: this.dev.address.socketPath,
      ...(nic
        ? {
            virtchnl: `${nic.pfVersion?.major}.${nic.pfVersion?.minor}`,
            doorbells: nic.doorbellsMapped ? "mapped" : "region writes",
            mailbox: this.options.interrupts ? `vector 0, ${nic.interruptCounts[0] ?? 0} interrupts` : "polled",
            pool: `zero copy at IOVA 0x${this.running?.poolRegion.iova.toString(16)}`,
          }
        : {}),
    };
  }
}

/** Connects and probes the VF: what it offers (queue pairs, MAC), then lets it go until the port starts. */
async function probe(
  host: PortHost,
  dev: VfioUserClient,
  interrupts: boolean,
): Promise<{ pairs: number; mac: string }> {
  let nic: IavfDriver;
  try {
    nic = await IavfDriver.attach(dev, { interrupts, ownBuffers: false, statsIntervalMs: 0 });
  } catch (e) {
    throw fail(host, "the VF does not come up", e);
  }
  const r = nic.resources;
  const vsi = r?.vsis.find((v) => v.vsiId === nic.vsiId);
  const pairs = Math.min(r?.numQueuePairs ?? 1, vsi?.numQueuePairs ?? 1, 16);
  const mac = nic.mac;
  await nic.close();
  return { pairs, mac };
}

export const netIavfClient: PortDriver<typeof args> = {
  name: "net_iavf_client",
  args,
  async create(host, a) {
    let dev: VfioUserClient;
    try {
      dev = await VfioUserClient.connect(a.path);
    } catch (e) {
      throw fail(host, `cannot connect to ${a.path}`, e);
    }
    try {
      const mac = a.mac.length === 6 ? macText(a.mac) : undefined;
      const found = await probe(host, dev, a.intr);
      return new IavfClientPort(
        host,
        dev,
        { interrupts: a.intr, mac, promiscuous: a.promisc, rssKey: a.rss_key.length > 0 ? a.rss_key : undefined },
        found.pairs,
        mac ?? found.mac,
      );
    } catch (e) {
      await dev.close();
      throw e;
    }
  },
};
