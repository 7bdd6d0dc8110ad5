// Starting and stopping forwarding as testpmd does it: checks, the configuration printed, lcores started; at stop
// the per-stream, per-port and accumulated counters since start.
import type { PortStats } from "@emu/port";
import { threadAffinity } from "@emu/sys";
import { CommandError, type Testpmd } from "./app.js";
import { type FwdConfig, fwdConfig, sharedTxQueue } from "./fwd/config.js";
import { FwdEngine } from "./fwd/engine.js";
import { STREAM_DROPPED, STREAM_RX, STREAM_SLOTS, STREAM_TX } from "./fwd/modes.js";
import type { FwdMode } from "./fwd/modes-list.js";
import { MIN_TX_LEN } from "./fwd/packets.js";
import { fwdConfigView, fwdStartView, ODD_PORTS_WARNING } from "./views/fwd.js";
import { dumpLcoresView, lcoreReadyView } from "./views/lcores.js";
import { type FwdCounters, portFwdStats, streamFwdStats, totalFwdStats } from "./views/stats.js";

interface Session {
  readonly config: FwdConfig;
  readonly mode: FwdMode;
  readonly before: Map<number, PortStats>;
}

export class Forwarding {
  readonly engine = new FwdEngine();
  #session: Session | undefined;

  constructor(private readonly app: Testpmd) {
    this.engine.onError = (m) => app.out(`${m}\n`);
  }

  get running(): boolean {
    return this.#session !== undefined;
  }

  /** The current configuration (forwarding or not), from the started ports. */
  config(): FwdConfig {
    const ports = this.app.entries().map(([id, p]) => ({
      id,
      rxQueues: p.config?.rxQueues ?? this.app.options.rxq,
      txQueues: p.config?.txQueues ?? this.app.options.txq,
    }));
    return fwdConfig(ports, this.app.fwdLcores, this.app.settings.nbCores);
  }

  showConfig(): void {
    const c = this.config();
    if (c.oddPorts) this.app.out(ODD_PORTS_WARNING);
    this.app.out(fwdConfigView({ mode: this.app.settings.mode, config: c, peerMac: (p) => this.app.peerMac(p) }));
  }

  async start(txFirst = 0): Promise<void> {
    const app = this.app;
    if (this.#session !== undefined) throw new CommandError("Packet forwarding already started");
    const entries = app.entries();
    if (entries.length === 0) throw new CommandError("No port to forward on: attach one (port attach <devargs>)");
    if (entries.some(([, p]) => p.state !== "started")) throw new CommandError("Not all ports were started");
    const s = app.settings;
    if ((s.mode === "txonly" || s.mode === "flowgen" || txFirst > 0) && s.txpkts < MIN_TX_LEN)
      throw new CommandError(`txpkts ${s.txpkts} is shorter than the ${MIN_TX_LEN}-byte headers`);
    const config = this.config();
    const shared = sharedTxQueue(config);
    if (shared !== undefined)
      throw new CommandError(
        `TX queue ${shared.queue} of port ${shared.port} would be used by two lcores: give each port at least as many TX queues as RX queues (--txq)`,
      );
    this.showConfig();
    const ports = new Map(entries);
    app.out(
      fwdStartView(
        { mode: s.mode, config, peerMac: (p) => app.peerMac(p) },
        s,
        entries.map(([id, p]) => ({ id, ...p.config! })),
      ),
    );
    const before = new Map(entries.map(([id, p]) => [id, p.stats()] as const));
    await this.engine.start({
      config,
      ports,
      pool: app.pool,
      mode: s.mode,
      burst: s.burst,
      txpkts: s.txpkts,
      flows: s.flows,
      txonlyMultiFlow: s.txonlyMultiFlow,
      txFirst,
      peerMac: (p) => app.peerMac(p),
      cpus: (l) => app.lcoreCpus(l),
    });
    this.#session = { config, mode: s.mode, before };
    const pinning = app.fwdLcores.some((l) => app.lcoreCpus(l).length > 0);
    for (const lcore of config.lcores.map((l) => l.lcore)) {
      const t = this.engine.threads.get(lcore);
      if (t !== undefined && (pinning || t.unpinned !== undefined)) app.out(lcoreReadyView(lcore, t));
    }
  }

  /** dump_lcores: every lcore with the CPUs its thread runs on (or would, for a forwarding lcore not started). */
  dumpLcores(): void {
    const app = this.app;
    const main = threadAffinity(); // this thread's: the main lcore is never pinned, an unpinned lcore inherits it
    const rows = app.options.lcores.map((l, i) => {
      const cpus = i === 0 ? main : (this.engine.threads.get(l.id)?.cpus ?? (l.cpus.length > 0 ? l.cpus : main));
      return { lcore: l.id, cpus };
    });
    app.out(dumpLcoresView(rows));
  }

  async stop(): Promise<void> {
    const app = this.app;
    const session = this.#session;
    if (session === undefined) throw new CommandError("Packet forwarding not started");
    app.out("Telling cores to stop...\nWaiting for lcores to finish...\n");
    const { streams } = await this.engine.stop();
    this.#session = undefined;
    const cfg = session.config;
    const txDropped = new Map<number, number>();
    for (const st of cfg.streams) {
      const at = st.index * STREAM_SLOTS;
      txDropped.set(st.txPort, (txDropped.get(st.txPort) ?? 0) + streams[at + STREAM_DROPPED]!);
      if (cfg.streams.length > cfg.ports.length)
        app.out(
          streamFwdStats({
            ...st,
            rx: streams[at + STREAM_RX]!,
            tx: streams[at + STREAM_TX]!,
            dropped: streams[at + STREAM_DROPPED]!,
          }),
        );
    }
    const total = { rxPackets: 0, rxDropped: 0, txPackets: 0, txDropped: 0, rxErrors: 0, rxNombuf: 0 };
    for (const id of cfg.ports) {
      const port = app.ports[id];
      const was = session.before.get(id);
      if (port === undefined || was === undefined) continue;
      const now = port.stats();
      const c: FwdCounters = {
        rxPackets: now.ipackets - was.ipackets,
        rxDropped: now.imissed - was.imissed,
        txPackets: now.opackets - was.opackets,
        txDropped: txDropped.get(id) ?? 0,
        rxErrors: now.ierrors - was.ierrors,
        rxNombuf: now.rxNombuf - was.rxNombuf,
      };
      for (const k of Object.keys(total) as (keyof FwdCounters)[]) total[k] += c[k];
      app.out(portFwdStats(id, c));
    }
    app.out(totalFwdStats(total));
    app.out("\nDone.\n");
  }
}
