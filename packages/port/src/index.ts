/**
 * @emu/port — an ethdev-like port layer: ports made from devargs by registered drivers, zero-copy packet buffers in
 * shared memory, per-queue bursts run in worker threads, statistics in shared counters.
 */
export {
  crc32c,
  foldSum,
  inetChecksum,
  onesSum,
  putIpv4HeaderChecksum,
  putSctpChecksum,
} from "./checksum.js";
export { parsePortDevargs, readPortArgs } from "./devargs.js";
export {
  type DeviceCounters,
  type DriverCounter,
  type LinkStatus,
  type PeerPort,
  type PortCapabilities,
  type PortConfig,
  type PortControl,
  type PortDataDriver,
  type PortDataEnv,
  type PortDataFactory,
  type PortDataSource,
  type PortDriver,
  type PortHost,
  type PortMigration,
  type ServiceKey,
  serviceKey,
} from "./driver.js";
export { builtinPortDrivers, netNull, netPcap, netRing, netTap } from "./drivers/index.js";
export { isPortError, PortError, type PortErrorReason } from "./errors.js";
export { DATA_PATH_V8_FLAGS, tuneJitForDataPath } from "./jit.js";
export { formatMac, randomMac } from "./mac.js";
export {
  MBUF_FLAGS,
  MBUF_HASH,
  MBUF_LEN,
  MBUF_META_WORDS,
  MBUF_OFF,
  MBUF_TSO,
  type MbufCacheOptions,
  MbufPool,
  type MbufPoolDescription,
  type MbufPoolOptions,
} from "./mbuf-pool.js";
export {
  finishChecksums,
  finishIpv4Header,
  finishL4,
  TxL3,
  TxL4,
  txChecksumFlags,
  txL2Len,
  txL3,
  txL3Len,
  txL4,
  txL4ChecksumAt,
  txTsoL4Len,
  txTsoMss,
  txTsoWord,
} from "./offload.js";
export {
  decodePcap,
  decodePcapHeader,
  encodePcap,
  encodePcapHeader,
  PCAP_LINKTYPE_ETHERNET,
  type PcapHeader,
  type PcapRecord,
} from "./pcap-format.js";
export {
  Port,
  type PortConfigInput,
  type PortDataDescription,
  type PortInfo,
  type PortLease,
  type PortState,
} from "./port.js";
export { type OpenPortDataOptions, openPortData, PortData } from "./port-data.js";
export { PortRegistry } from "./registry.js";
export { PacketRing } from "./ring.js";
export { RSS_ALL, RSS_IP, RSS_SCTP, RSS_TCP, RSS_UDP, RssHf, rssHfNames } from "./rss.js";
export { emudevDeviceOf, emudevService } from "./services.js";
export type { PortStats, RxQueueStats, TxQueueStats } from "./stats.js";
