// What the guest configured through virtchnl that a data path needs and a PF keeps: queue settings, the RSS key, LUT
// and hash set, MAC and VLAN filters, promiscuous modes, and the VSI's counters. Kept here, read by a provider through
// the `iavf(dev)` accessor, reset with the VF.
import {
  DEFAULT_RSS_HENA,
  ETH_STATS_FIELDS,
  type EthStats,
  macNumber,
  RSS_KEY_SIZE,
  RSS_LUT_SIZE,
  type RxFilterTable,
  rxFilterAccepts,
} from "@emu/iavf-common";

/** An RX queue as CONFIG_VSI_QUEUES set it up (`virtchnl_rxq_info`). */
export interface IavfRxQueueConfig {
  readonly ringLen: number;
  readonly dmaRingAddr: bigint;
  /** Bytes each posted buffer holds. */
  readonly databufferSize: number;
  /** Longest frame the guest accepts (drop longer ones). */
  readonly maxPktSize: number;
  /** Strip the CRC (always, unless the CRC offload was granted and the guest asked to keep it). */
  readonly crcStrip: boolean;
  /** The descriptor format; without RX_FLEX_DESC it is 1, the 32-byte legacy write-back. */
  readonly rxdid: number;
}

/** A TX queue as CONFIG_VSI_QUEUES set it up (`virtchnl_txq_info`). */
export interface IavfTxQueueConfig {
  readonly ringLen: number;
  readonly dmaRingAddr: bigint;
}

/** RSS as the guest set it (CONFIG_RSS_KEY/LUT, SET_RSS_HENA, or the VFQF_* registers). Copies. */
export interface IavfRss {
  /** 52 bytes. */
  readonly key: Uint8Array;
  /** 64 entries, each a queue index. */
  readonly lut: Uint8Array;
  /** Enabled packet classifier types (bit n = pctype n). */
  readonly hena: bigint;
}

/** One MAC filter: `type` as the guest gave it (0 legacy, 1 primary, 2 extra). */
export interface IavfMacFilter {
  readonly mac: string;
  readonly type: number;
}

/** The receive filters (snapshot). */
export interface IavfFilters {
  /** The device's default MAC (GET_VF_RESOURCES) and the addresses the guest added. */
  readonly macs: readonly IavfMacFilter[];
  /** VLAN ids the guest added (empty: no VLAN filtering). */
  readonly vlans: readonly number[];
  readonly unicastPromisc: boolean;
  readonly multicastPromisc: boolean;
  /** ENABLE/DISABLE_VLAN_STRIPPING. */
  readonly vlanStripping: boolean;
}

/** Inputs a guest gave that the device ignored or refused without a virtchnl reply, by kind (for tests and logs). */
export interface IavfCounters {
  /** An ATQ or ARQ descriptor ring the device could not read or write (base outside the DMA table, length lying). */
  ringFaults: number;
  /** An admin-queue tail at or beyond the ring length. */
  badTail: number;
  /** An ATQ message buffer that could not be read or was longer than 4096 bytes. */
  badBuffer: number;
  /** ATQ descriptors with an admin-queue opcode other than send_msg_to_pf and queue shutdown. */
  unknownAqOpcode: number;
  /** virtchnl requests answered with an error status. */
  virtchnlErrors: number;
  /** Messages for the ARQ dropped: the queue was disabled, or the device's backlog was full. */
  arqDropped: number;
  /** ARQ buffers too small or not writable (the message went with ERR). */
  arqBadBuffer: number;
}

/** A counter delta a provider adds: any subset of the counters, as numbers or bigints. */
export type IavfStatsDelta = { readonly [K in keyof EthStats]?: number | bigint };

function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(":").map((h) => Number.parseInt(h, 16)));
}

/** The mutable state behind the accessor; the virtchnl handlers change it, a VF reset clears it. */
export class NicState implements RxFilterTable {
  readonly rxq: (IavfRxQueueConfig | undefined)[];
  readonly txq: (IavfTxQueueConfig | undefined)[];
  /** The ITR index (0..2) of each queue's interrupt (CONFIG_IRQ_MAP rxitr_idx/txitr_idx). */
  readonly rxItr: number[];
  readonly txItr: number[];
  private macs = new Map<number, IavfMacFilter>();
  private vlanSet = new Set<number>();
  unicastPromisc = false;
  multicastPromisc = false;
  vlanStripping = false;
  rssKey = new Uint8Array(RSS_KEY_SIZE);
  rssLut = new Uint8Array(RSS_LUT_SIZE);
  rssHena = 0n;
  private readonly stats: Record<keyof EthStats, bigint> = NicState.zeroStats();
  readonly counters: IavfCounters = {
    ringFaults: 0,
    badTail: 0,
    badBuffer: 0,
    unknownAqOpcode: 0,
    virtchnlErrors: 0,
    arqDropped: 0,
    arqBadBuffer: 0,
  };

  constructor(
    readonly queuePairs: number,
    readonly defaultMac: string,
  ) {
    this.rxq = new Array(queuePairs).fill(undefined);
    this.txq = new Array(queuePairs).fill(undefined);
    this.rxItr = new Array(queuePairs).fill(0);
    this.txItr = new Array(queuePairs).fill(0);
    this.reset();
  }

  private static zeroStats(): Record<keyof EthStats, bigint> {
    return Object.fromEntries(ETH_STATS_FIELDS.map((f) => [f, 0n])) as Record<keyof EthStats, bigint>;
  }

  /** Back to what a VF has after a reset: no queues, the default MAC only, no VLANs, no promisc, default RSS. */
  reset(): void {
    this.rxq.fill(undefined);
    this.txq.fill(undefined);
    this.rxItr.fill(0);
    this.txItr.fill(1);
    this.macs.clear();
    if (this.defaultMac !== "00:00:00:00:00:00")
      this.macs.set(macNumber(macBytes(this.defaultMac)), { mac: this.defaultMac, type: 1 });
    this.vlanSet.clear();
    this.unicastPromisc = false;
    this.multicastPromisc = false;
    this.vlanStripping = false;
    this.rssKey.fill(0);
    for (let i = 0; i < this.rssLut.length; i++) this.rssLut[i] = i % this.queuePairs;
    // A PF programs its default hash set when it sets up the VF's VSI (ice: ICE_DEFAULT_RSS_HENA, what
    // GET_RSS_HENA_CAPS reports). Linux's iavf reads it with GET_RSS_HENA_CAPS and sends SET_RSS_HENA only when the
    // user changes it (ethtool): with 0 here a Linux guest would get no RSS at all.
    this.rssHena = DEFAULT_RSS_HENA;
  }

  addMac(mac: string, type: number): void {
    this.macs.set(macNumber(macBytes(mac)), { mac, type });
  }

  hasMacText(mac: string): boolean {
    return this.macs.has(macNumber(macBytes(mac)));
  }

  delMac(mac: string): void {
    if (mac === this.defaultMac) return; // the PF's address stays
    this.macs.delete(macNumber(macBytes(mac)));
  }

  get macCount(): number {
    return this.macs.size;
  }

  addVlan(id: number): void {
    this.vlanSet.add(id);
  }

  delVlan(id: number): void {
    this.vlanSet.delete(id);
  }

  get vlanCount(): number {
    return this.vlanSet.size;
  }

  filters(): IavfFilters {
    return {
      macs: [...this.macs.values()],
      vlans: [...this.vlanSet].sort((a, b) => a - b),
      unicastPromisc: this.unicastPromisc,
      multicastPromisc: this.multicastPromisc,
      vlanStripping: this.vlanStripping,
    };
  }

  /**
   * Whether a frame to destination MAC `dst` (6 bytes at `at`), tagged `vlan` (undefined: untagged) passes the
   * filters (`rxFilterAccepts`, the rule every data path applies).
   */
  accepts(dst: Uint8Array, at = 0, vlan?: number): boolean {
    return rxFilterAccepts(this, dst, at, vlan);
  }

  hasMac(mac: number): boolean {
    return this.macs.has(mac);
  }

  passesVlan(vlan: number): boolean {
    return this.vlanSet.size === 0 || this.vlanSet.has(vlan);
  }

  rss(): IavfRss {
    return { key: this.rssKey.slice(), lut: this.rssLut.slice(), hena: this.rssHena };
  }

  ethStats(): EthStats {
    return { ...this.stats };
  }

  addStats(delta: IavfStatsDelta): void {
    for (const f of ETH_STATS_FIELDS) {
      const d = delta[f];
      if (d === undefined) continue;
      const v = typeof d === "bigint" ? d : BigInt(Math.trunc(d));
      if (v < 0n) throw new RangeError(`stats: ${f} cannot go down (${v})`);
      this.stats[f] = (this.stats[f] + v) & 0xffff_ffff_ffff_ffffn;
    }
  }

  clearStats(): void {
    for (const f of ETH_STATS_FIELDS) this.stats[f] = 0n;
  }
}
