/**
 * The 32-byte legacy RX descriptor. Read format (driver → device): QW0 pkt_addr, QW1 hdr_addr (0; its bit 0 doubles
 * as DD), QW2/QW3 reserved. Write-back (device → driver): QW0 bits 31:16 L2TAG1, bits 63:32 RSS hash or FD id; QW1
 * status 18:0, error 26:19, ptype 37:30, LENGTH_PBUF 51:38, LENGTH_HBUF 62:52, SPH 63. Functions work in place in a
 * DataView at a byte offset, without allocating. QW1 is handled as two 32-bit halves (lo = bits 31:0, hi = 63:32).
 */
import { getU64Number, LE, setU64Number, setU64Words } from "../internal/bytes.js";

export const RX_DESCRIPTOR_SIZE = 32;

/** Status bits (QW1 bits 18:0). */
export const RxStatus = {
  /** Descriptor done. */
  DD: 1 << 0,
  /** Last descriptor of the frame (a.k.a. EOP). */
  EOF: 1 << 1,
  /** L2TAG1 holds a stripped VLAN tag. */
  L2TAG1P: 1 << 2,
  /** L3/L4 integrity checked (checksum errors are then meaningful). */
  L3L4P: 1 << 3,
  CRCP: 1 << 4,
  /** UMBCAST field (bits 10:9): 0 unicast, 1 multicast, 2 broadcast, 3 mirrored. */
  UMBCAST_SHIFT: 9,
  FLM: 1 << 11,
  /** FLTSTAT field (bits 13:12): 3 = QW0 high holds the RSS hash. */
  FLTSTAT_SHIFT: 12,
  FLTSTAT_RSS_HASH: 3,
  LPBK: 1 << 14,
  IPV6EXADD: 1 << 15,
} as const;

/** Error bits, relative to QW1 bit 19. */
export const RxError = {
  RXE: 1 << 0,
  RECIPE: 1 << 1,
  HBO: 1 << 2,
  /** IP checksum error. */
  IPE: 1 << 3,
  /** L4 checksum error. */
  L4E: 1 << 4,
  /** Outer IP checksum error. */
  EIPE: 1 << 5,
  OVERSIZE: 1 << 6,
  PPRS: 1 << 7,
} as const;

/** Common packet types (the legacy ptype table). */
export const RxPtype = {
  L2_PAY2: 1,
  ARP: 11,
  IPV4_FRAG: 22,
  IPV4_PAY: 23,
  IPV4_UDP: 24,
  IPV4_TCP: 26,
  IPV4_SCTP: 27,
  IPV4_ICMP: 28,
  IPV6_FRAG: 88,
  IPV6_PAY: 89,
  IPV6_UDP: 90,
  IPV6_TCP: 92,
  IPV6_SCTP: 93,
  IPV6_ICMP: 94,
} as const;

/** Largest LENGTH_PBUF (14 bits). */
export const RX_MAX_LENGTH = 0x3fff;

const lo = (v: DataView, at: number): number => v.getUint32(at + 8, LE);
const hi = (v: DataView, at: number): number => v.getUint32(at + 12, LE);

/** Read format: the packet buffer address the driver posted (QW0). */
export const rxPacketAddr = (v: DataView, at: number): number => getU64Number(v, at);
/** Read format: the header buffer address (QW1; 0 when header split is not used). */
export const rxHeaderAddr = (v: DataView, at: number): number => getU64Number(v, at + 8);

/** Posts a buffer (read format): the driver's side. Clears QW1 so DD reads 0. */
export function writeRxReadDescriptor(v: DataView, at: number, packetAddr: number, headerAddr = 0): void {
  setU64Number(v, at, packetAddr);
  setU64Number(v, at + 8, headerAddr);
}

/**
 * `writeRxReadDescriptor` as host-order 32-bit words of the ring from word `at` (byte offset / 4), for a driver's
 * burst path (a DataView access costs several times a typed array's; the host must be little-endian).
 */
export function writeRxReadWords(w: Uint32Array, at: number, packetAddr: number, headerAddr = 0): void {
  setU64Words(w, at, packetAddr);
  setU64Words(w, at + 2, headerAddr);
}

/**
 * Write-back fields from QW1's words, for a driver reading the ring as host-order 32-bit words (word 2 = QW1 low,
 * word 3 = QW1 high, word 1 = the RSS hash); the DataView readers below are these on a DataView.
 */
export const rxWords = {
  done: (qw1lo: number): boolean => (qw1lo & RxStatus.DD) !== 0,
  status: (qw1lo: number): number => qw1lo & 0x7ffff,
  errors: (qw1lo: number): number => (qw1lo >>> 19) & 0xff,
  ptype: (qw1lo: number, qw1hi: number): number => ((qw1lo >>> 30) | (qw1hi << 2)) & 0xff,
  length: (qw1hi: number): number => (qw1hi >>> 6) & 0x3fff,
} as const;

/**
 * Writes back a received fragment: the device's side. `status` is {@link RxStatus} bits (include DD, and EOF on the
 * frame's last descriptor), `errors` {@link RxError} bits. `rssHash` goes to QW0 high (set FLTSTAT to 3 in
 * `status` to make drivers use it). QW2/QW3 are zeroed. The low word of QW1 (DD) is written last.
 */
export function writeRxWriteback(
  v: DataView,
  at: number,
  status: number,
  errors: number,
  ptype: number,
  length: number,
  l2tag1 = 0,
  rssHash = 0,
): void {
  // The word holding DD is stored last: a driver polling DD must find the rest of the write-back already there.
  v.setUint32(at, ((l2tag1 & 0xffff) << 16) >>> 0, LE);
  v.setUint32(at + 4, rssHash >>> 0, LE);
  v.setUint32(at + 12, rxWritebackHighWord(ptype, length), LE);
  for (let o = 16; o < 32; o += 4) v.setUint32(at + o, 0, LE);
  v.setUint32(at + 8, rxWritebackWord(status, errors, ptype), LE);
}

/**
 * Writes all of a write-back but its DD word, as host-order 32-bit words of the ring from word `at` (byte offset / 4):
 * for a device that writes a burst's descriptors first and, once the frames' data is in place, their DD words
 * (`rxWritebackWord`, word 2 = QW1 low) in a second pass; word 2 is left as it is (the posted buffer's header address,
 * 0, so DD reads 0 until then). Words, not a DataView: this runs once per received frame, and word stores cost a
 * fraction of the DataView's (a guest RX burst gained 30%). The descriptor is little-endian, so the host must be (as
 * emu's data paths require).
 */
export function writeRxWritebackBody(
  w: Uint32Array,
  at: number,
  ptype: number,
  length: number,
  l2tag1 = 0,
  rssHash = 0,
): void {
  w[at] = (l2tag1 & 0xffff) << 16;
  w[at + 1] = rssHash;
  w[at + 3] = rxWritebackHighWord(ptype, length);
  w[at + 4] = 0;
  w[at + 5] = 0;
  w[at + 6] = 0;
  w[at + 7] = 0;
}

/** The write-back's QW1 high word: the packet type's high 6 bits and LENGTH_PBUF. */
function rxWritebackHighWord(ptype: number, length: number): number {
  return (((ptype >>> 2) & 0x3f) | ((length & 0x3fff) << 6)) >>> 0;
}

/** The write-back's QW1 low word: status (with DD), error bits and the packet type's low 2 bits. */
export function rxWritebackWord(status: number, errors: number, ptype: number): number {
  return ((status & 0x7ffff) | ((errors & 0xff) << 19) | ((ptype & 0x3) << 30)) >>> 0;
}

/** Write-back: status bits (QW1 18:0). */
export const rxStatus = (v: DataView, at: number): number => rxWords.status(lo(v, at));
/** Write-back: true once the device filled this descriptor. */
export const isRxDescriptorDone = (v: DataView, at: number): boolean => rxWords.done(lo(v, at));
/** Write-back: error bits (QW1 26:19), compare with {@link RxError}. */
export const rxErrors = (v: DataView, at: number): number => rxWords.errors(lo(v, at));
/** Write-back: packet type (QW1 37:30). */
export const rxPtype = (v: DataView, at: number): number => rxWords.ptype(lo(v, at), hi(v, at));
/** Write-back: bytes written to the packet buffer (QW1 51:38). */
export const rxLength = (v: DataView, at: number): number => rxWords.length(hi(v, at));
/** Write-back: the stripped VLAN tag (QW0 31:16), valid with L2TAG1P. */
export const rxL2Tag1 = (v: DataView, at: number): number => v.getUint16(at + 2, LE);
/** Write-back: RSS hash (QW0 63:32), valid when FLTSTAT is 3. */
export const rxRssHash = (v: DataView, at: number): number => v.getUint32(at + 4, LE);
