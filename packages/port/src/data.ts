/**
 * @emu/port/data — what a worker thread imports to run ports' data halves: the packet-buffer pool, rings, and
 * `openPortData`. Lighter than the main entry (no registry, no drivers' control halves).
 */
export {
  crc32c,
  foldSum,
  inetChecksum,
  onesSum,
  putIpv4HeaderChecksum,
  putSctpChecksum,
} from "./checksum.js";
export type { DriverCounter, PortDataDriver, PortDataEnv, PortDataFactory } from "./driver.js";
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
export type { PortDataDescription } from "./port.js";
export { type OpenPortDataOptions, openPortData, PortData } from "./port-data.js";
export { PacketRing } from "./ring.js";
