// net_ring: ports over shared rings inside one process, as DPDK's ring PMD. Each port owns one ring per RX queue;
// its TX queue q enqueues into RX ring q of its peer. Alone (`net_ring0`) a port is its own peer, a loopback, as
// DPDK's `--vdev net_ring0`; `net_ring1,peer=net_ring0` pairs two ports like a cable: what one sends, the other
// receives, from any threads (each ring has one producer thread and one consumer thread).
import { arg } from "@emu/emudev";
import type { PortConfig, PortControl, PortDriver, PortHost } from "../../driver.js";
import { PortError } from "../../errors.js";
import { randomMac } from "../../mac.js";
import { PacketRing } from "../../ring.js";

export interface RingParams {
  /** This port's RX rings, one per RX queue. */
  readonly rx: readonly SharedArrayBuffer[];
  /** The peer's RX rings this port's TX queues feed, one per TX queue. */
  readonly tx: readonly SharedArrayBuffer[];
}

const args = {
  peer: arg.string({ default: "", help: "another net_ring port to pair with (default: itself, a loopback)" }),
};

function ringSize(desc: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(desc, 1)));
}

class RingControl implements PortControl {
  readonly capabilities = { maxRxQueues: 64, maxTxQueues: 64, maxDesc: 16384 };
  readonly mac = randomMac();
  peer: RingControl = this;
  rings: PacketRing[] = [];
  config: PortConfig | undefined;
  started = false;

  constructor(
    readonly name: string,
    private readonly host: PortHost,
  ) {}

  configure(config: PortConfig): void {
    const size = ringSize(config.rxDesc);
    if (this.rings.length === config.rxQueues && this.rings.every((r) => r.capacity === size)) return;
    if (this.peer !== this && (this.host.port(this.peer.name)?.leases ?? 0) > 0)
      throw new PortError(
        "BadState",
        `cannot change ${this.name}'s RX queues while its peer ${this.peer.name} forwards (it sends into them)`,
      );
    this.#drain();
    this.rings = Array.from({ length: config.rxQueues }, () => PacketRing.create(size));
    this.config = config;
  }

  start(config: PortConfig): void {
    this.config = config;
    this.started = true;
  }

  stop(): void {
    this.started = false;
  }

  close(): void {
    this.#drain();
    this.rings = [];
    if (this.peer !== this) {
      this.peer.peer = this.peer;
      this.peer = this;
    }
  }

  link(): boolean {
    return this.peer.started;
  }

  data(config: PortConfig) {
    const peer = this.peer;
    if (peer.config === undefined || peer.rings.length === 0)
      throw new PortError("BadState", `${this.name} sends to ${peer.name}, which is not configured`);
    if (config.txQueues > peer.rings.length)
      throw new PortError(
        "InvalidValue",
        `${this.name} has ${config.txQueues} TX queues but its peer ${peer.name} only ${peer.rings.length} RX queues`,
      );
    if (peer.config.pool.id !== config.pool.id)
      throw new PortError("Pool", `${this.name} and its peer ${peer.name} must use the same mbuf pool`);
    const params: RingParams = {
      rx: this.rings.map((r) => r.buffer),
      tx: peer.rings.slice(0, config.txQueues).map((r) => r.buffer),
    };
    return { module: new URL("./data.js", import.meta.url).href, params };
  }

  details(): Record<string, string> {
    return { peer: this.peer.name };
  }

  /** Buffers left in the rings go back to the pool. */
  #drain(): void {
    const pool = this.config?.pool;
    if (pool === undefined) return;
    const bufs = new Uint32Array(256);
    for (const r of this.rings) {
      const ring = PacketRing.from(r.buffer);
      for (let k = ring.dequeue(bufs, bufs.length); k > 0; k = ring.dequeue(bufs, bufs.length)) pool.free(bufs, k);
    }
  }
}

export const netRing: PortDriver<typeof args> = {
  name: "net_ring",
  args,
  create(host, a) {
    const control = new RingControl(host.name, host);
    if (a.peer !== "") {
      const other = host.port(a.peer)?.control;
      if (!(other instanceof RingControl))
        throw new PortError("Devargs", `${host.name}: peer ${a.peer} is not a net_ring port`);
      if (other.peer !== other)
        throw new PortError("Devargs", `${host.name}: ${a.peer} is already paired with ${other.peer.name}`);
      if (other.started) throw new PortError("BadState", `${host.name}: stop ${a.peer} before pairing with it`);
      other.peer = control;
      control.peer = other;
    }
    return control;
  },
};
