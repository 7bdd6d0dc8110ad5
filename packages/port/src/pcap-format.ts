// The libpcap file format (what tcpdump -w writes and tcpdump -r, tshark and Wireshark read): a 24-byte global
// header, then per packet a 16-byte record header and the captured bytes. Both byte orders and both timestamp
// resolutions (microseconds, magic 0xa1b2c3d4; nanoseconds, 0xa1b23c4d) are read; files are written little-endian
// with microsecond timestamps, as libpcap does on x86.
import { PortError } from "./errors.js";

const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
const PCAP_MAGIC_NANOS = 0xa1b23c4d;
/** LINKTYPE_ETHERNET */
export const PCAP_LINKTYPE_ETHERNET = 1;
export const PCAP_HEADER_SIZE = 24;
export const PCAP_RECORD_HEADER_SIZE = 16;

export interface PcapHeader {
  readonly littleEndian: boolean;
  /** Timestamps' fractions are nanoseconds (else microseconds). */
  readonly nanos: boolean;
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly snaplen: number;
  readonly linkType: number;
}

export interface PcapRecord {
  readonly seconds: number;
  /** Microseconds or nanoseconds (the header's `nanos`). */
  readonly fraction: number;
  /** The bytes captured (incl_len of them). */
  readonly data: Uint8Array;
  /** The packet's length on the wire (orig_len). */
  readonly originalLength: number;
}

/** Reads the global header; throws PortError "InvalidValue" naming what is wrong. */
export function decodePcapHeader(bytes: Uint8Array): PcapHeader {
  if (bytes.length < PCAP_HEADER_SIZE)
    throw new PortError("InvalidValue", `not a pcap file: ${bytes.length} bytes, shorter than its 24-byte header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, PCAP_HEADER_SIZE);
  let littleEndian = true;
  let magic = v.getUint32(0, true);
  if (magic !== PCAP_MAGIC_MICROS && magic !== PCAP_MAGIC_NANOS) {
    littleEndian = false;
    magic = v.getUint32(0, false);
  }
  if (magic !== PCAP_MAGIC_MICROS && magic !== PCAP_MAGIC_NANOS)
    throw new PortError(
      "InvalidValue",
      `not a pcap file: magic 0x${v.getUint32(0, true).toString(16)} (pcapng files are not read; convert with editcap -F pcap)`,
    );
  return {
    littleEndian,
    nanos: magic === PCAP_MAGIC_NANOS,
    versionMajor: v.getUint16(4, littleEndian),
    versionMinor: v.getUint16(6, littleEndian),
    snaplen: v.getUint32(16, littleEndian),
    linkType: v.getUint32(20, littleEndian) & 0x0fffffff,
  };
}

/** A little-endian, microsecond global header. */
export function encodePcapHeader(options: { snaplen?: number; linkType?: number } = {}): Uint8Array {
  const out = new Uint8Array(PCAP_HEADER_SIZE);
  const v = new DataView(out.buffer);
  v.setUint32(0, PCAP_MAGIC_MICROS, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setUint32(16, options.snaplen ?? 65535, true);
  v.setUint32(20, options.linkType ?? PCAP_LINKTYPE_ETHERNET, true);
  return out;
}

/** Writes a record header at `at` (little-endian). */
export function writePcapRecordHeader(
  v: DataView,
  at: number,
  seconds: number,
  micros: number,
  captured: number,
  original: number,
): void {
  v.setUint32(at, seconds, true);
  v.setUint32(at + 4, micros, true);
  v.setUint32(at + 8, captured, true);
  v.setUint32(at + 12, original, true);
}

/** A whole file: the header and every record. A record cut short throws PortError naming its offset. */
export function decodePcap(bytes: Uint8Array): { header: PcapHeader; records: PcapRecord[] } {
  const header = decodePcapHeader(bytes);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = header.littleEndian;
  const records: PcapRecord[] = [];
  let at = PCAP_HEADER_SIZE;
  while (at < bytes.length) {
    if (at + PCAP_RECORD_HEADER_SIZE > bytes.length)
      throw new PortError("InvalidValue", `pcap record header at offset ${at} is cut short`);
    const incl = v.getUint32(at + 8, le);
    const end = at + PCAP_RECORD_HEADER_SIZE + incl;
    if (end > bytes.length)
      throw new PortError("InvalidValue", `pcap record at offset ${at} claims ${incl} bytes; the file ends first`);
    records.push({
      seconds: v.getUint32(at, le),
      fraction: v.getUint32(at + 4, le),
      originalLength: v.getUint32(at + 12, le),
      data: bytes.subarray(at + PCAP_RECORD_HEADER_SIZE, end),
    });
    at = end;
  }
  return { header, records };
}

/** A whole file from packets (little-endian, microseconds, Ethernet unless `linkType`). */
export function encodePcap(
  packets: readonly (Uint8Array | { data: Uint8Array; seconds?: number; micros?: number })[],
  options: { snaplen?: number; linkType?: number } = {},
): Uint8Array {
  const list = packets.map((p) => (p instanceof Uint8Array ? { data: p } : p));
  const size = list.reduce((a, p) => a + PCAP_RECORD_HEADER_SIZE + p.data.length, PCAP_HEADER_SIZE);
  const out = new Uint8Array(size);
  out.set(encodePcapHeader(options));
  const v = new DataView(out.buffer);
  let at = PCAP_HEADER_SIZE;
  for (const p of list) {
    const { seconds = 0, micros = 0 } = p as { seconds?: number; micros?: number };
    writePcapRecordHeader(v, at, seconds, micros, p.data.length, p.data.length);
    out.set(p.data, at + PCAP_RECORD_HEADER_SIZE);
    at += PCAP_RECORD_HEADER_SIZE + p.data.length;
  }
  return out;
}
