/**
 * The 16-byte TX descriptors (`struct iavf_tx_desc`): QW0 = buffer address; QW1 = DTYPE 3:0, CMD 13:4, OFFSET 33:16,
 * TX_BUF_SZ 47:34, L2TAG1 63:48. Functions read and write one descriptor in place in a DataView at a byte offset,
 * without allocating, for the data path. QW1 is handled as two 32-bit halves (lo = bits 31:0, hi = bits 63:32).
 */
import { getU64Number, LE, setU64Number, setU64Words } from "../internal/bytes.js";

export const TX_DESCRIPTOR_SIZE = 16;

/** DTYPE values (QW1 bits 3:0). */
export const TxDtype = {
  DATA: 0x0,
  /** Context descriptor (also used as a NOP); it occupies a ring slot. */
  CONTEXT: 0x1,
  FCOE_CTX: 0x2,
  FILTER_PROG: 0x8,
  DDP_CTX: 0x9,
  FLEX_DATA: 0xb,
  FLEX_CTX_1: 0xc,
  FLEX_CTX_2: 0xd,
  /** Written back by the device on completion. */
  DESC_DONE: 0xf,
} as const;

/** CMD bits of a data descriptor (relative to QW1 bit 4). */
export const TxCmd = {
  /** Last descriptor of a packet. */
  EOP: 0x001,
  /** Report status: the device writes DESC_DONE here when done. */
  RS: 0x002,
  /** Insert the CRC (DPDK always sets it). */
  ICRC: 0x004,
  /** Insert the VLAN tag in L2TAG1. */
  IL2TAG1: 0x008,
  DUMMY: 0x010,
  /** IIPT field (2 bits): 0 non-IP, IPv6, IPv4 without and with checksum offload. */
  IIPT_MASK: 0x060,
  IIPT_IPV6: 0x020,
  IIPT_IPV4: 0x040,
  IIPT_IPV4_CSUM: 0x060,
  FCOET: 0x080,
  /** L4T field (2 bits): 0 unknown, TCP, SCTP, UDP. */
  L4T_MASK: 0x300,
  L4T_TCP: 0x100,
  L4T_SCTP: 0x200,
  L4T_UDP: 0x300,
} as const;

/** Largest TX_BUF_SZ (14 bits). */
export const TX_MAX_BUF_SIZE = 0x3fff;

const lo = (v: DataView, at: number): number => v.getUint32(at + 8, LE);
const hi = (v: DataView, at: number): number => v.getUint32(at + 12, LE);

/** The fragment's DMA address (QW0), as a number. */
export const txBufferAddr = (v: DataView, at: number): number => getU64Number(v, at);
/** DTYPE (QW1 bits 3:0). */
export const txDtype = (v: DataView, at: number): number => lo(v, at) & 0xf;
/** CMD (QW1 bits 13:4), compare with {@link TxCmd}. */
export const txCmd = (v: DataView, at: number): number => (lo(v, at) >>> 4) & 0x3ff;
/** OFFSET (QW1 bits 33:16): MACLEN 6:0 in 2-byte units, IPLEN 13:7 and L4LEN 17:14 in 4-byte units. */
export const txOffset = (v: DataView, at: number): number => txOffsetOfWords(lo(v, at), hi(v, at));
/** OFFSET from QW1's two words (words 2 and 3 of a descriptor read as words). */
export const txOffsetOfWords = (qw1lo: number, qw1hi: number): number => (qw1lo >>> 16) | ((qw1hi & 0x3) << 16);
/** The OFFSET field for header lengths in bytes: MAC header (even, up to 254), IP header and L4 header (4-byte units). */
export const txOffsetField = (macLen: number, ipLen: number, l4Len: number): number =>
  ((macLen >>> 1) & 0x7f) | (((ipLen >>> 2) & 0x7f) << 7) | (((l4Len >>> 2) & 0xf) << 14);
/** The MAC header's length in bytes, from an OFFSET field. */
export const txOffsetMacLen = (offset: number): number => (offset & 0x7f) << 1;
/** The IP header's length in bytes (extension headers included), from an OFFSET field. */
export const txOffsetIpLen = (offset: number): number => ((offset >>> 7) & 0x7f) << 2;
/** The L4 header's length in bytes, from an OFFSET field. */
export const txOffsetL4Len = (offset: number): number => ((offset >>> 14) & 0xf) << 2;
/** TX_BUF_SZ (QW1 bits 47:34): bytes in this buffer. */
export const txBufSize = (v: DataView, at: number): number => (hi(v, at) >>> 2) & 0x3fff;
/** L2TAG1 (QW1 bits 63:48): the VLAN tag to insert with CMD.IL2TAG1. */
export const txL2Tag1 = (v: DataView, at: number): number => hi(v, at) >>> 16;

/** Writes a data descriptor (DTYPE 0): the driver's side. `offset` is the 18-bit OFFSET field. */
export function writeTxDataDescriptor(
  v: DataView,
  at: number,
  bufferAddr: number,
  cmd: number,
  bufSize: number,
  offset = 0,
  l2tag1 = 0,
): void {
  setU64Number(v, at, bufferAddr);
  v.setUint32(at + 8, txDataQw1Lo(cmd, offset), LE);
  v.setUint32(at + 12, txDataQw1Hi(bufSize, offset, l2tag1), LE);
}

/** A data descriptor's QW1 low word: DTYPE DATA, CMD, OFFSET's low 16 bits. */
const txDataQw1Lo = (cmd: number, offset: number): number =>
  (TxDtype.DATA | ((cmd & 0x3ff) << 4) | ((offset & 0xffff) << 16)) >>> 0;
/** A data descriptor's QW1 high word: OFFSET's top 2 bits, BUF_SZ, L2TAG1. */
const txDataQw1Hi = (bufSize: number, offset: number, l2tag1: number): number =>
  (((offset >>> 16) & 0x3) | ((bufSize & 0x3fff) << 2) | ((l2tag1 & 0xffff) << 16)) >>> 0;

/**
 * `writeTxDataDescriptor` as host-order 32-bit words of the ring from word `at` (byte offset / 4), for a driver's
 * burst path (a DataView access costs several times a typed array's; the host must be little-endian).
 */
export function writeTxDataWords(
  w: Uint32Array,
  at: number,
  bufferAddr: number,
  cmd: number,
  bufSize: number,
  offset = 0,
  l2tag1 = 0,
): void {
  setU64Words(w, at, bufferAddr);
  w[at + 2] = txDataQw1Lo(cmd, offset);
  w[at + 3] = txDataQw1Hi(bufSize, offset, l2tag1);
}

/** True when QW1's low word (word 2 of a descriptor read as words) says DESC_DONE. */
export const isTxDoneWord = (qw1lo: number): boolean => (qw1lo & 0xf) === TxDtype.DESC_DONE;

/** Marks the descriptor done (DTYPE := DESC_DONE), keeping the rest of QW1: the device's completion write-back. */
export function writeTxDescriptorDone(v: DataView, at: number): void {
  v.setUint32(at + 8, (lo(v, at) | TxDtype.DESC_DONE) >>> 0, LE);
}

/** True when the device has written DESC_DONE into this descriptor. */
export const isTxDescriptorDone = (v: DataView, at: number): boolean => isTxDoneWord(lo(v, at));

/** Context descriptor (DTYPE 1) QW1 fields: CMD 19:4 (TSO 0x01, TSYN 0x02, IL2TAG2 0x04), TSO_LEN 47:30, MSS 63:50. */
export const TxCtxCmd = { TSO: 0x01, TSYN: 0x02, IL2TAG2: 0x04, IL2TAG2_IL2H: 0x08 } as const;
/** CMD of a context descriptor (QW1 bits 19:4). */
export const txCtxCmd = (v: DataView, at: number): number => (lo(v, at) >>> 4) & 0xffff;
/** TSO_LEN of a context descriptor (QW1 bits 47:30). */
export const txCtxTsoLen = (v: DataView, at: number): number => txCtxTsoLenOfWords(lo(v, at), hi(v, at));
/** TSO_LEN from QW1's two words. */
export const txCtxTsoLenOfWords = (qw1lo: number, qw1hi: number): number => (qw1lo >>> 30) | ((qw1hi & 0xffff) << 2);
/** MSS of a context descriptor (QW1 bits 63:50). */
export const txCtxMss = (v: DataView, at: number): number => hi(v, at) >>> 18;

/**
 * Writes a context descriptor (DTYPE 1): the driver's side, before the DATA descriptors of the packet it applies to.
 * `cmd` is of {@link TxCtxCmd}; for TSO, `tsoLen` is the payload after the headers (18 bits) and `mss` the segments'
 * payload (14 bits); `l2tag2` is the tag IL2TAG2 inserts.
 */
export function writeTxContextDescriptor(v: DataView, at: number, cmd: number, tsoLen = 0, mss = 0, l2tag2 = 0): void {
  v.setUint32(at, 0, LE);
  v.setUint32(at + 4, l2tag2 & 0xffff, LE);
  v.setUint32(at + 8, txContextQw1Lo(cmd, tsoLen), LE);
  v.setUint32(at + 12, txContextQw1Hi(tsoLen, mss), LE);
}

/** `writeTxContextDescriptor` as host-order 32-bit words of the ring from word `at`, for a driver's burst path. */
export function writeTxContextWords(w: Uint32Array, at: number, cmd: number, tsoLen = 0, mss = 0, l2tag2 = 0): void {
  w[at] = 0;
  w[at + 1] = l2tag2 & 0xffff;
  w[at + 2] = txContextQw1Lo(cmd, tsoLen);
  w[at + 3] = txContextQw1Hi(tsoLen, mss);
}

/** A context descriptor's QW1 low word: DTYPE CONTEXT, CMD, TSO_LEN's low 2 bits. */
const txContextQw1Lo = (cmd: number, tsoLen: number): number =>
  (TxDtype.CONTEXT | ((cmd & 0xffff) << 4) | ((tsoLen & 0x3) << 30)) >>> 0;
/** A context descriptor's QW1 high word: TSO_LEN's upper 16 bits, MSS. */
const txContextQw1Hi = (tsoLen: number, mss: number): number =>
  (((tsoLen >>> 2) & 0xffff) | ((mss & 0x3fff) << 18)) >>> 0;
/** L2TAG2 of a context descriptor (QW0 bytes 4..5). */
export const txCtxL2Tag2 = (v: DataView, at: number): number => v.getUint16(at + 4, LE);
