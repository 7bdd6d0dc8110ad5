// The packets txonly, flowgen and tx_first make: Ethernet + IPv4 + UDP, as DPDK's txonly does — from 198.18.0.1
// to 198.18.0.2 (the benchmarking range), UDP port 9 to 9, TTL 64, a zero payload. Flowgen varies the destination
// address over its flows: 198.18.0.2 + flow; txonly with --txonly-multi-flow the source: 198.18.0.1 + flow (DPDK varies
// the source too). Header checksums are real, so a kernel or tshark accepts them.
import { putIpv4HeaderChecksum } from "@emu/port/data";

const ETH_HLEN = 14;
const IP_HLEN = 20;
const UDP_HLEN = 8;
/** Ethernet + IPv4 + UDP headers: the shortest packet txonly makes. */
export const MIN_TX_LEN = ETH_HLEN + IP_HLEN + UDP_HLEN;
const IP_SRC = (198 << 24) | (18 << 16) | 1;
const IP_DST = (198 << 24) | (18 << 16) | 2;
/** Where the IPv4 source and destination addresses sit in the frame. */
const IP_SRC_AT = ETH_HLEN + 12;
const IP_DST_AT = ETH_HLEN + 16;
const IP_CSUM_AT = ETH_HLEN + 10;

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** A whole frame of `length` bytes from `src` to `dst` (MACs), with the IPv4 checksum filled in. */
export function udpTemplate(length: number, dst: Uint8Array, src: Uint8Array): Uint8Array {
  const f = new Uint8Array(length);
  f.set(dst.subarray(0, 6), 0);
  f.set(src.subarray(0, 6), 6);
  f[12] = 0x08; // IPv4
  const ip = ETH_HLEN;
  f[ip] = 0x45;
  f[ip + 2] = (length - ETH_HLEN) >> 8;
  f[ip + 3] = (length - ETH_HLEN) & 0xff;
  f[ip + 8] = 64; // TTL
  f[ip + 9] = 17; // UDP
  put32(f, ip + 12, IP_SRC);
  put32(f, ip + 16, IP_DST);
  putIpv4HeaderChecksum(f, ip, IP_HLEN);
  const udp = ip + IP_HLEN;
  f[udp + 1] = 9;
  f[udp + 3] = 9;
  f[udp + 4] = (length - udp) >> 8;
  f[udp + 5] = (length - udp) & 0xff;
  return f;
}

/** A one's-complement 16-bit sum step: `sum` + `v` with the carry folded back. */
function add16(sum: number, v: number): number {
  const t = sum + v;
  return (t & 0xffff) + (t >>> 16);
}

/**
 * Rewrites a frame made from `udpTemplate` in place for flow `flow`: destination 198.18.0.2 + flow (or source
 * 198.18.0.1 + flow). The header checksum is updated for the changed address (RFC 1624: HC' = ~(~HC + ~m + m')),
 * not summed again over the header.
 */
export function setFlow(
  b: Uint8Array,
  at: number,
  flow: number,
  field: "destination" | "source" = "destination",
): void {
  const a = at + (field === "destination" ? IP_DST_AT : IP_SRC_AT);
  const old = ((b[a]! << 24) | (b[a + 1]! << 16) | (b[a + 2]! << 8) | b[a + 3]!) >>> 0;
  const now = ((field === "destination" ? IP_DST : IP_SRC) + flow) >>> 0;
  put32(b, a, now);
  let sum = ~((b[at + IP_CSUM_AT]! << 8) | b[at + IP_CSUM_AT + 1]!) & 0xffff;
  sum = add16(sum, ~(old >>> 16) & 0xffff);
  sum = add16(sum, ~old & 0xffff);
  sum = add16(sum, now >>> 16);
  sum = add16(sum, now & 0xffff);
  sum = ~sum & 0xffff;
  b[at + IP_CSUM_AT] = sum >> 8;
  b[at + IP_CSUM_AT + 1] = sum & 0xff;
}

/**
 * Flows of txonly's --txonly-multi-flow: DPDK's testpmd varies the source address by one byte, so over 256 sources
 * (--flowgen-flows is flowgen's alone). Their frames take 16 KiB a stream.
 */
export const TXONLY_MULTI_FLOWS = 256;

/** The most bytes of each flow's frame a `FlowFrames` keeps: a cache line, the whole of a 64-byte packet. */
const FLOW_HEAD_MAX = 64;

/**
 * The frames of `flows` flows of one template, made once so that a generator copies each packet from its flow
 * without writing into it afterwards (patching each frame's address and checksum in JavaScript cost about a fifth of
 * the generator's time per packet). `bytes` holds the template, then each flow's first `head` bytes — the whole
 * frame for one of up to 64 bytes, else its headers (which hold everything a flow changes) with the rest of the
 * frame the template's from offset `head`.
 */
export class FlowFrames {
  /** The template at 0, then flow f's first `head` bytes at `headAt(f)`. */
  readonly bytes: Uint8Array;
  /** Bytes of a frame that differ per flow and are kept per flow: min(frame length, 64). */
  readonly head: number;
  readonly flows: number;
  readonly #length: number;

  constructor(template: Uint8Array, flows: number, field: "destination" | "source") {
    this.head = Math.min(template.length, FLOW_HEAD_MAX);
    this.flows = flows;
    this.#length = template.length;
    this.bytes = new Uint8Array(template.length + flows * this.head);
    this.bytes.set(template);
    const frame = template.slice(0, this.head);
    for (let f = 0; f < flows; f++) {
      frame.set(template.subarray(0, this.head));
      setFlow(frame, 0, f, field);
      this.bytes.set(frame, this.headAt(f));
    }
  }

  /** Where flow `flow`'s first `head` bytes start in `bytes`. */
  headAt(flow: number): number {
    return this.#length + flow * this.head;
  }
}
