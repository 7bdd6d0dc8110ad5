/** The driver's options, their defaults and their checks. */
import { MAX_QUEUE_PAIRS, VfCap } from "@emu/iavf-common";
import type { DmaPoolOptions } from "./dma-pool.js";
import { IavfClientError } from "./errors.js";

/**
 * The capabilities the Linux driver asks for in GET_VF_RESOURCES (`iavf_send_vf_config_msg`, the set of the 6.x
 * kernels before PTP and CAPS2: L2, RSS_PF, RSS_AQ, RSS_REG, VLAN, WB_ON_ITR, RSS_PCTYPE_V2, VLAN_V2, CRC, ENCAP,
 * ENCAP_CSUM, REQ_QUEUES, ADQ, USO, FDIR_PF, ADV_RSS_PF, ADV_LINK_SPEED, QOS).
 */
export const LINUX_REQUESTED_CAPS =
  VfCap.OFFLOAD_L2 |
  VfCap.OFFLOAD_RSS_PF |
  VfCap.OFFLOAD_RSS_AQ |
  VfCap.OFFLOAD_RSS_REG |
  VfCap.OFFLOAD_VLAN |
  VfCap.OFFLOAD_WB_ON_ITR |
  VfCap.OFFLOAD_RSS_PCTYPE_V2 |
  VfCap.OFFLOAD_VLAN_V2 |
  VfCap.OFFLOAD_CRC |
  VfCap.OFFLOAD_ENCAP |
  VfCap.OFFLOAD_ENCAP_CSUM |
  VfCap.OFFLOAD_REQ_QUEUES |
  VfCap.OFFLOAD_ADQ |
  VfCap.OFFLOAD_USO |
  VfCap.OFFLOAD_FDIR_PF |
  VfCap.OFFLOAD_ADV_RSS_PF |
  VfCap.CAP_ADV_LINK_SPEED |
  VfCap.OFFLOAD_QOS;

export interface IavfDriverOptions {
  /** Queue pairs to configure, 1..16 (default 1); the VF must offer at least as many. */
  readonly queuePairs?: number;
  /** TX descriptors per ring: 64..4096, a multiple of 32 (default 512, as Linux). */
  readonly txRingSize?: number;
  /** RX descriptors per ring: 64..4096, a multiple of 32 (default 512). */
  readonly rxRingSize?: number;
  /** RX buffer size sent as `databuffer_size`: 1024..16256, a multiple of 128 (default 2048). */
  readonly rxBufferSize?: number;
  /** `max_pkt_size` of the RX queues: 64..9728 (default 1534, Linux's for an MTU of 1500). */
  readonly maxPacketSize?: number;
  /** Interrupt mode: the mailbox is served on vector 0's eventfd (default true); false: the ARQ is polled. */
  readonly interrupts?: boolean;
  /** Write queue-tail doorbells through the mmapped doorbell area when the device offers it (default true). */
  readonly mapDoorbells?: boolean;
  /** The capability word sent with GET_VF_RESOURCES (default {@link LINUX_REQUESTED_CAPS}). */
  readonly capabilities?: number;
  /** Use this MAC address instead of the PF's (the PF's is used when valid, else a random local one). */
  readonly mac?: string;
  /** How long a virtchnl reply may take (default 2000 ms). */
  readonly replyTimeoutMs?: number;
  /** How long the VF may stay in reset before VFGEN_RSTAT reads VFACTIVE (default 10 000 ms). */
  readonly resetTimeoutMs?: number;
  /** How often the watchdog checks ARQLEN.ENABLE for a reset the PF did not announce (default 250 ms). */
  readonly watchdogMs?: number;
  /** Poll mode: how often the ARQ is looked at for events while no request waits (default 50 ms, as DPDK). */
  readonly pollIntervalMs?: number;
  /** How often GET_STATS is sent while running, as Linux's watchdog does every 2 s (default 2000; 0: never). */
  readonly statsIntervalMs?: number;
  /** Send RESET_VF when closing, as Linux's remove and DPDK's close do (default true). */
  readonly resetOnClose?: boolean;
  /**
   * Packet buffers of the driver's own in its DMA memory, RX buffers posted at each (re)configuration, for `txBurst`,
   * `rxBurst` and `waitRx` (default true). false: the rings stay empty for a data path that brings its own buffers
   * (a port, from worker threads: `shareRings`).
   */
  readonly ownBuffers?: boolean;
  /**
   * After the key and LUT, GET_RSS_HENA_CAPS then SET_RSS_HENA, as DPDK's configure does: true sends the offered
   * pctypes of Linux's default set; a bitmap (`RssPctype` bits) sends its offered part — 0n hashes nothing, as DPDK
   * asks of a port with one RX queue (default false: nothing sent, Linux leaves the hash set to the PF's default).
   * Without RSS_PF the bitmap (or Linux's default set) is written to VFQF_HENA instead.
   */
  readonly rssHena?: boolean | bigint;
  /**
   * The RSS hash key, as many bytes as the VF's (GET_VF_RESOURCES rss_key_size with RSS_PF, else the 52 bytes of
   * VFQF_HKEY); default: a random key, as Linux's netdev_rss_key_fill and DPDK's iavf make. A fixed key makes the
   * spreading of flows over the queues the same from run to run.
   */
  readonly rssKey?: Uint8Array;
  /**
   * Unicast and multicast promiscuous mode (CONFIG_PROMISCUOUS_MODE after RSS, as Linux sends it for IFF_PROMISC and
   * as testpmd asks of every port; default false).
   */
  readonly promiscuous?: boolean;
  /** Admin-queue sizes (default 32 and 32). */
  readonly adminq?: { readonly atqLength?: number; readonly arqLength?: number };
  /** Where the driver's DMA memory goes in IOVA space, and in what mapping sizes. */
  readonly dma?: DmaPoolOptions;
}

export interface ResolvedOptions {
  readonly queuePairs: number;
  readonly txRingSize: number;
  readonly rxRingSize: number;
  readonly rxBufferSize: number;
  readonly maxPacketSize: number;
  readonly interrupts: boolean;
  readonly mapDoorbells: boolean;
  readonly capabilities: number;
  readonly mac: string | undefined;
  readonly replyTimeoutMs: number;
  readonly resetTimeoutMs: number;
  readonly watchdogMs: number;
  readonly pollIntervalMs: number;
  readonly statsIntervalMs: number;
  readonly resetOnClose: boolean;
  readonly ownBuffers: boolean;
  readonly rssHena: boolean | bigint;
  readonly rssKey: Uint8Array | undefined;
  readonly promiscuous: boolean;
  readonly atqLength: number | undefined;
  readonly arqLength: number | undefined;
  readonly dma: DmaPoolOptions;
}

function int(value: number | undefined, fallback: number, name: string, min: number, max: number, step = 1): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min || v > max || v % step !== 0) {
    const multiple = step > 1 ? `, a multiple of ${step}` : "";
    throw new IavfClientError("InvalidArgument", `${name} must be ${min}..${max}${multiple} (got ${String(value)})`);
  }
  return v;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Checks every option (an `InvalidArgument` error names the first bad one) and fills the defaults. */
export function resolveOptions(o: IavfDriverOptions = {}): ResolvedOptions {
  if (o.mac !== undefined && (!MAC_RE.test(o.mac) || !isUsableMac(o.mac))) {
    throw new IavfClientError("InvalidArgument", `mac must be a unicast, non-zero aa:bb:cc:dd:ee:ff (got ${o.mac})`);
  }
  const caps = o.capabilities ?? LINUX_REQUESTED_CAPS;
  if (!Number.isSafeInteger(caps) || caps < 0 || caps > 0xffff_ffff) {
    throw new IavfClientError("InvalidArgument", `capabilities must be a u32 (got ${String(o.capabilities)})`);
  }
  return {
    queuePairs: int(o.queuePairs, 1, "queuePairs", 1, MAX_QUEUE_PAIRS),
    txRingSize: int(o.txRingSize, 512, "txRingSize", 64, 4096, 32),
    rxRingSize: int(o.rxRingSize, 512, "rxRingSize", 64, 4096, 32),
    rxBufferSize: int(o.rxBufferSize, 2048, "rxBufferSize", 1024, 16256, 128),
    maxPacketSize: int(o.maxPacketSize, 1534, "maxPacketSize", 64, 9728),
    interrupts: o.interrupts ?? true,
    mapDoorbells: o.mapDoorbells ?? true,
    capabilities: caps,
    mac: o.mac?.toLowerCase(),
    replyTimeoutMs: int(o.replyTimeoutMs, 2000, "replyTimeoutMs", 1, 600_000),
    resetTimeoutMs: int(o.resetTimeoutMs, 10_000, "resetTimeoutMs", 1, 600_000),
    watchdogMs: int(o.watchdogMs, 250, "watchdogMs", 1, 600_000),
    pollIntervalMs: int(o.pollIntervalMs, 50, "pollIntervalMs", 1, 600_000),
    statsIntervalMs: int(o.statsIntervalMs, 2000, "statsIntervalMs", 0, 600_000),
    resetOnClose: o.resetOnClose ?? true,
    ownBuffers: o.ownBuffers ?? true,
    rssHena: henaOf(o.rssHena),
    rssKey: rssKeyOf(o.rssKey),
    promiscuous: o.promiscuous ?? false,
    atqLength: o.adminq?.atqLength,
    arqLength: o.adminq?.arqLength,
    dma: o.dma ?? {},
  };
}

function henaOf(hena: boolean | bigint | undefined): boolean | bigint {
  if (typeof hena === "bigint" && (hena < 0n || hena >= 1n << 64n))
    throw new IavfClientError("InvalidArgument", `rssHena 0x${hena.toString(16)} is not a 64-bit pctype bitmap`);
  return hena ?? false;
}

function rssKeyOf(key: Uint8Array | undefined): Uint8Array | undefined {
  if (key === undefined) return undefined;
  if (!(key instanceof Uint8Array) || key.length === 0 || key.length > 256)
    throw new IavfClientError("InvalidArgument", "rssKey must be a Uint8Array of 1..256 bytes");
  return Uint8Array.from(key);
}

/** A MAC a VF may use: not all zero, not multicast (bit 0 of the first byte). */
export function isUsableMac(mac: string): boolean {
  if (!MAC_RE.test(mac)) return false;
  const bytes = mac.split(":").map((h) => Number.parseInt(h, 16));
  return bytes.some((b) => b !== 0) && ((bytes[0] ?? 0) & 1) === 0;
}

/** A random locally administered unicast MAC (`eth_hw_addr_random`). */
export function randomMac(): string {
  const b = crypto.getRandomValues(new Uint8Array(6));
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02;
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
}
