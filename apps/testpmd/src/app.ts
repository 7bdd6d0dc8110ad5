// testpmd's state and its port commands: the ports by id (as DPDK numbers them: the lowest free id), the packet
// buffer pool, the port and emudev registries, and what each port command prints.
import type { EmudevRegistry } from "@emu/emudev";
import { isEmudevError, parseDevargs } from "@emu/emudev";
import { isPortError, type MbufPool, type Port, type PortRegistry } from "@emu/port";
import { isVfioDeviceError, parseAddress } from "@emu/vfio-device";
import type { TestpmdOptions } from "./args.js";
import type { FwdMode } from "./fwd/modes-list.js";
import { portInfo, portSummary, rssHash } from "./views/ports.js";
import { nicStats, type Throughput } from "./views/stats.js";

/** Settings `set` commands change. */
export interface FwdSettings {
  mode: FwdMode;
  nbCores: number;
  burst: number;
  txpkts: number;
  flows: number;
  txonlyMultiFlow: boolean;
}

/** What a command does when it cannot: print the message, keep the prompt. */
export class CommandError extends Error {
  readonly _tag = "CommandError" as const;
  override readonly name = "CommandError";
}

/** An error a user should read (ours or a package's tagged one), as a line. */
export function describeError(e: unknown): string {
  if (isPortError(e) || isEmudevError(e) || e instanceof CommandError) return e.message;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

export class Testpmd {
  readonly ports: (Port | undefined)[] = [];
  readonly settings: FwdSettings;
  /** Forwarding lcores (all but the main one). */
  readonly fwdLcores: readonly number[];
  #lastShow = new Map<number, { t: number; ipackets: number; opackets: number; ibytes: number; obytes: number }>();

  constructor(
    readonly options: TestpmdOptions,
    readonly registry: PortRegistry,
    readonly emudev: EmudevRegistry,
    readonly pool: MbufPool,
    readonly out: (text: string) => void,
    /** True while forwarding runs (ports cannot stop then). */
    readonly forwarding: () => boolean,
    /** Bus addresses claimed by plugins: `<address>,<key>=1,…` makes a port of the driver named here. */
    readonly addressClaims: ReadonlyMap<string, string> = new Map(),
  ) {
    this.settings = {
      mode: options.forwardMode,
      nbCores: options.nbCores,
      burst: options.burst,
      txpkts: options.txpkts,
      flows: options.flows,
      txonlyMultiFlow: options.txonlyMultiFlow,
    };
    this.fwdLcores = options.lcores.slice(1).map((l) => l.id);
  }

  /** The CPUs an lcore's thread is pinned to (empty: not pinned; the main lcore's never is). */
  lcoreCpus(lcore: number): readonly number[] {
    return this.options.lcores.find((l) => l.id === lcore)?.cpus ?? [];
  }

  /** Ports in id order with their ids. */
  entries(): [number, Port][] {
    return this.ports.flatMap((p, id) => (p === undefined ? [] : [[id, p] as [number, Port]]));
  }

  /** `all` or a port id, as ids; prints DPDK's message and returns [] for an invalid one. */
  select(which: string): number[] {
    if (which === "all") return this.entries().map(([id]) => id);
    const id = Number(which);
    if (/^\d+$/.test(which) && this.ports[id] !== undefined) return [id];
    const valid = this.entries().map(([i]) => i);
    this.out(`Invalid port ${which}\nThe valid ports array is [ ${valid.join(" ")} ]\n`);
    return [];
  }

  /** Makes a port (or an emudev device, when its driver is an emudev driver) from devargs. */
  async attach(given: string, quiet = false): Promise<void> {
    const devargs = this.addressed(given) ?? this.numbered(given);
    const d = parseDevargs(devargs);
    if (this.emudev.driverNames().includes(d.driver)) {
      const dev = this.emudev.create(d);
      dev.configure();
      await dev.start();
      this.out(`EMUDEV: device ${dev.name} (driver ${d.driver}) created and started\n`);
      return;
    }
    if (!quiet) this.out("Attaching a new port...\n");
    const port = await this.registry.create(devargs);
    let id = this.ports.indexOf(undefined);
    if (id < 0) id = this.ports.length;
    this.ports[id] = port;
    if (!quiet) this.out(`Port ${id} is attached. Now total ports is ${this.entries().length}\nDone\n`);
  }

  /**
   * DPDK accepts a bare driver name as a vdev name (`port attach net_iavfbe,emu=emu_iavf0`): such a name gets the
   * lowest instance number no port or device of that driver has yet.
   */
  private numbered(devargs: string): string {
    const comma = devargs.indexOf(",");
    const name = comma < 0 ? devargs : devargs.slice(0, comma);
    if (!this.registry.hasDriver(name) && !this.emudev.driverNames().includes(name)) return devargs;
    const taken = new Set([...this.registry.ports().map((p) => p.name), ...this.emudev.deviceNames()]);
    let n = 0;
    while (taken.has(`${name}${n}`)) n++;
    return `${name}${n}${comma < 0 ? "" : devargs.slice(comma)}`;
  }

  /**
   * A bus address as the device name (`0000:af:01.0,dpa=1,emu=emu_iavf0`, an mdev UUID, `vfio-user:/path`): the
   * port driver a plugin claimed for one of the keys given as 1 makes it, with the address as its `addr`.
   */
  private addressed(devargs: string): string | undefined {
    const comma = devargs.indexOf(",");
    const head = comma < 0 ? devargs : devargs.slice(0, comma);
    const rest = comma < 0 ? "" : devargs.slice(comma);
    if (this.registry.hasDriver(head) || this.emudev.driverNames().includes(head) || /^[a-z_]+\d*$/.test(head))
      return undefined;
    const keys = rest
      .split(",")
      .filter((kv) => /^[a-z_]+=(1|true|yes|on)$/.test(kv))
      .map((kv) => kv.split("=")[0]!);
    const driver = keys.map((k) => this.addressClaims.get(k)).find((x) => x !== undefined);
    try {
      parseAddress(head);
    } catch (e) {
      if (!isVfioDeviceError(e)) throw e;
      // With a claimed key (dpa=1) the head was meant as a bus address: say what is wrong with it, rather than that
      // it is no driver name.
      if (driver !== undefined) throw new CommandError(e.message);
      return undefined;
    }
    if (driver === undefined) {
      const claimed = [...this.addressClaims.keys()].map((k) => `${k}=1`).join(", ") || "none";
      throw new CommandError(`${head}: no port driver takes this bus address with these devargs (claimed: ${claimed})`);
    }
    const named = this.numbered(driver);
    return `${named},addr=${head}${rest}`;
  }

  async detach(id: number): Promise<void> {
    const port = this.ports[id]!;
    if (port.state === "started") throw new CommandError("Port not stopped");
    this.out("Removing a device...\n");
    await port.close();
    this.ports[id] = undefined;
    this.#lastShow.delete(id);
    this.out(`Port ${id} is detached. Now total ports is ${this.entries().length}\nDone\n`);
  }

  /** Live migration of a started port's device to the server on `target`; forwarding goes on. */
  async migrate(id: number, target: string): Promise<void> {
    const port = this.ports[id]!;
    if (port.state !== "started") throw new CommandError("Port not started");
    this.out(`Migrating port ${id} to ${target}...\n`);
    const m = await port.migrate(target);
    this.out(
      `Port ${id} migrated: downtime ${m.downtimeMs.toFixed(2)} ms, ${m.deviceStateBytes} bytes of device state, ${m.totalMs.toFixed(1)} ms in all\nDone\n`,
    );
  }

  /** Configures (with the current queue settings) and starts stopped ports. */
  async startPorts(ids: readonly number[]): Promise<void> {
    for (const id of ids) {
      const port = this.ports[id]!;
      if (port.state === "started") continue;
      this.out(`Configuring Port ${id} (socket 0)\n`);
      const o = this.options;
      await port.configure({
        pool: this.pool,
        rxQueues: o.rxq,
        txQueues: o.txq,
        // testpmd's init_port_config: RSS only where there are several RX queues to spread over, of the types the
        // port can hash.
        rssHf: o.rxq > 1 ? o.rssHf & port.info().rssHfCapa : 0,
        ...(o.rxd > 0 ? { rxDesc: o.rxd } : {}),
        ...(o.txd > 0 ? { txDesc: o.txd } : {}),
      });
      await port.start();
      this.out(`Port ${id}: ${port.info().macText}\n`);
    }
    this.out("Checking link statuses...\nDone\n");
  }

  async stopPorts(ids: readonly number[]): Promise<void> {
    if (this.forwarding()) throw new CommandError("Please stop forwarding first");
    this.out("Stopping ports...\n");
    for (const id of ids) await this.ports[id]!.stop();
    this.out("Checking link statuses...\nDone\n");
  }

  async closePorts(ids: readonly number[]): Promise<void> {
    if (this.forwarding()) throw new CommandError("Please stop forwarding first");
    this.out("Closing ports...\n");
    for (const id of ids) {
      const port = this.ports[id]!;
      if (port.state === "started") {
        this.out(`Port ${id} is not stopped\n`);
        continue;
      }
      await port.close();
      this.ports[id] = undefined;
      this.out(`Port ${id} is closed\n`);
    }
    this.out("Done\n");
  }

  showStats(ids: readonly number[]): void {
    const now = performance.now();
    for (const id of ids) {
      const s = this.ports[id]!.stats();
      const last = this.#lastShow.get(id);
      const secs = last === undefined ? 0 : (now - last.t) / 1000;
      const rate = (cur: number, prev: number | undefined) =>
        secs > 0 && prev !== undefined ? Math.max(0, Math.round((cur - prev) / secs)) : 0;
      const t: Throughput = {
        rxPps: rate(s.ipackets, last?.ipackets),
        txPps: rate(s.opackets, last?.opackets),
        rxBps: rate(s.ibytes * 8, last === undefined ? undefined : last.ibytes * 8),
        txBps: rate(s.obytes * 8, last === undefined ? undefined : last.obytes * 8),
      };
      this.#lastShow.set(id, {
        t: now,
        ipackets: s.ipackets,
        opackets: s.opackets,
        ibytes: s.ibytes,
        obytes: s.obytes,
      });
      this.out(nicStats(id, s, t));
    }
  }

  clearStats(ids: readonly number[]): void {
    for (const id of ids) {
      this.ports[id]!.resetStats();
      this.#lastShow.delete(id);
      this.out(`\n  NIC statistics for port ${id} cleared\n`);
    }
  }

  showInfo(id: number): void {
    this.out(portInfo(id, this.ports[id]!.info()));
  }

  showRssHash(id: number): void {
    this.out(rssHash(this.ports[id]!.info()));
  }

  showSummary(ids: readonly number[]): void {
    this.out(
      portSummary(
        this.entries().length,
        ids.map((id) => [id, this.ports[id]!.info()] as const),
      ),
    );
  }

  /** The destination MAC of packets sent on `port` in mac/txonly/flowgen modes: 02:00:00:00:00:<port>. */
  peerMac(port: number): Uint8Array {
    return Uint8Array.of(2, 0, 0, 0, 0, port & 0xff);
  }

  /** Stops and closes every port and emudev device, as `quit` does. */
  async shutdown(): Promise<void> {
    for (const [id, port] of this.entries()) {
      if (port.state !== "started") continue;
      this.out(`\nStopping port ${id}...\nStopping ports...\n`);
      await port.stop();
      this.out("Done\n");
    }
    for (const [id, port] of this.entries()) {
      this.out(`\nShutting down port ${id}...\nClosing ports...\n`);
      await port.close();
      this.ports[id] = undefined;
      this.out(`Port ${id} is closed\nDone\n`);
    }
    for (const name of this.emudev.deviceNames()) {
      await this.emudev.device(name)?.close();
      this.out(`\nEMUDEV: device ${name} closed\n`);
    }
  }
}
