// Transmit offloads as the Linux iavf driver uses them — it offers the stack IPv4/IPv6 TCP and UDP checksums, SCTP's
// CRC and TSO whatever the PF grants — and DPDK's iavf with its offload flags: the DATA descriptors carry CMD.IIPT,
// CMD.L4T and OFFSET (MACLEN, IPLEN, L4LEN) on every descriptor of the packet, a TSO packet follows a context
// descriptor with CMD.TSO, TSO_LEN and MSS. What leaves the device is checked against checksums computed here another
// way (an explicit pseudo-header, a bitwise CRC32c), and the segments against the packet they came from.
import { TxCmd, TxCtxCmd, txOffsetField, writeTxContextDescriptor } from "@emu/iavf-common";
import { until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { payload } from "./fixtures/frames.js";
import { type BackendProcess, type GuestQueues, openGuest, serveBackend } from "./fixtures/harness.js";

type Counters = Record<string, number>;
const TCP = 6;
const UDP = 17;
const SCTP = 132;
const GUEST_MAC = [2, 0, 0, 0, 0, 1];
const PEER_MAC = [2, 0, 0, 0, 0, 0x99];

interface Shape {
  readonly v6?: boolean;
  readonly proto: number;
  /** The L4 header (its checksum field left as the driver seeded it) and what follows. */
  readonly l4: number[];
  readonly id?: number;
}

/** Ethernet + IPv4 (or IPv6) + the given L4 bytes; the IPv4 header checksum left 0 (the device is asked to fill it). */
function ipFrame(s: Shape): Uint8Array {
  const n = s.l4.length;
  const src = s.v6 ? [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1] : [198, 18, 0, 1];
  const dst = s.v6 ? [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 2] : [198, 18, 0, 2];
  const id = s.id ?? 0x1234;
  const ip = s.v6
    ? [0x60, 0, 0, 0, n >> 8, n & 0xff, s.proto, 64, ...src, ...dst]
    : [0x45, 0, (20 + n) >> 8, (20 + n) & 0xff, id >> 8, id & 0xff, 0x40, 0, 64, s.proto, 0, 0, ...src, ...dst];
  return Uint8Array.from([...GUEST_MAC, ...PEER_MAC, s.v6 ? 0x86 : 0x08, s.v6 ? 0xdd : 0x00, ...ip, ...s.l4]);
}

/** A TCP header of `doff` 32-bit words (options as NOPs) with `flags`, sequence number `seq`, checksum 0xdead. */
function tcpHeader(doff: number, flags: number, seq: number): number[] {
  const s = [seq >>> 24, (seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff];
  const h = [0x9c, 0x40, 0x00, 0x50, ...s, 0, 0, 0, 1, doff << 4, flags, 0xff, 0xff, 0xde, 0xad, 0, 0];
  while (h.length < doff * 4) h.push(1);
  return h;
}

const udpHeader = (n: number): number[] => [0x13, 0x88, 0x0f, 0xa0, n >> 8, n & 0xff, 0xbe, 0xef];

// ---- checksums computed another way than the device's ----

/** The folded 16-bit one's-complement sum of a byte list (an odd last byte padded). */
function sum16(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** Whether the frame's IPv4 header (at 14 + tag) checks. */
function ipv4HeaderOk(f: Uint8Array, ip: number): boolean {
  return sum16(Array.from(f.subarray(ip, ip + (f[ip]! & 0xf) * 4))) === 0xffff;
}

/** Whether the frame's TCP or UDP checksum checks, summed with an explicit pseudo-header (over the IP length). */
function l4Ok(f: Uint8Array, ip: number, v6: boolean, proto: number): boolean {
  const l4 = ip + (v6 ? 40 : (f[ip]! & 0xf) * 4);
  const end = v6 ? ip + 40 + ((f[ip + 4]! << 8) | f[ip + 5]!) : ip + ((f[ip + 2]! << 8) | f[ip + 3]!);
  const seg = Array.from(f.subarray(l4, end));
  const n = seg.length;
  const pseudo = v6
    ? [...f.subarray(ip + 8, ip + 40), 0, 0, n >> 8, n & 0xff, 0, 0, 0, proto]
    : [...f.subarray(ip + 12, ip + 20), 0, proto, n >> 8, n & 0xff];
  return sum16([...pseudo, ...seg]) === 0xffff;
}

/** CRC32c bit by bit (no table). */
function crc32cBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of bytes) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

// ---- the guest's side ----

interface Ask {
  /** TxCmd IIPT and L4T values. */
  readonly cmd: number;
  /** MACLEN, IPLEN, L4LEN in bytes. */
  readonly lens: [number, number, number];
  readonly tso?: { readonly len: number; readonly mss: number };
  readonly tag?: number;
  /** A context descriptor's tunnelling parameters (QW0 bits 31:0), as DPDK writes them for a tunnelled packet. */
  readonly tunnel?: number;
}

/**
 * Writes `frame` as the Linux driver does: a context descriptor first for TSO, then DATA descriptors cut at `cuts`
 * (byte offsets; each piece in its own buffer) all carrying the command and OFFSET, EOP|RS on the last. Stores the
 * tail; returns the last descriptor's index.
 */
function send(queues: GuestQueues, frame: Uint8Array, cuts: number[], ask: Ask): Promise<number> {
  const offset = txOffsetField(...ask.lens);
  const cmd = ask.cmd | (ask.tag === undefined ? 0 : TxCmd.IL2TAG1);
  const context =
    ask.tso === undefined && ask.tunnel === undefined
      ? undefined
      : (v: DataView, at: number) => {
          if (ask.tso === undefined) writeTxContextDescriptor(v, at, 0);
          else writeTxContextDescriptor(v, at, TxCtxCmd.TSO, ask.tso.len, ask.tso.mss);
          v.setUint32(at, ask.tunnel ?? 0, true);
        };
  return queues.transmitPieces(0, frame, cuts, () => ({ cmd, offset, tag: ask.tag ?? 0 }), context);
}

/** Cuts every `step` bytes after a first piece of `first` bytes (the Linux driver's linear part, then page frags). */
const cutsOf = (length: number, first: number, step: number): number[] => {
  const out: number[] = [];
  for (let at = first; at < length; at += step) out.push(at);
  return out;
};

async function open(): Promise<{ be: BackendProcess; queues: GuestQueues }> {
  const be = await serveBackend(1);
  const { queues } = await openGuest(be.sock, 1);
  await until(() => be.ask<boolean>("ready"));
  return { be, queues };
}

const received = async (be: BackendProcess, n: number) =>
  (await be.ask<{ bytes: Uint8Array }[]>("rx", n)).map((r) => r.bytes);

describe("checksum offload (CMD.IIPT, CMD.L4T, OFFSET)", () => {
  it("fills IPv4 header, TCP, UDP and SCTP checksums over IPv4 and IPv6, over any fragmentation, with a tag inserted", async () => {
    const { be, queues } = await open();
    const tcp4 = ipFrame({ proto: TCP, l4: [...tcpHeader(8, 0x18, 1000), ...payload(301, 1)] });
    const udp6 = ipFrame({ v6: true, proto: UDP, l4: [...udpHeader(8 + 200), ...payload(200, 2)] });
    const tcp6 = ipFrame({ v6: true, proto: TCP, l4: [...tcpHeader(5, 0x10, 7), ...payload(1000, 3)] });
    const sctp4 = ipFrame({
      proto: SCTP,
      l4: [0, 1, 0, 2, 0xa, 0xb, 0xc, 0xd, 0xff, 0xff, 0xff, 0xff, ...payload(64, 4)],
    });
    // A bare ACK (54 bytes) padded to Ethernet's 60 with trailer bytes that are not the segment's.
    const ack = ipFrame({ proto: TCP, l4: tcpHeader(5, 0x10, 99) });
    const padded = Uint8Array.from([...ack, 0, 0, 0, 0, 0, 0]);
    const cases: [Uint8Array, Ask, number[]][] = [
      [tcp4, { cmd: TxCmd.IIPT_IPV4_CSUM | TxCmd.L4T_TCP, lens: [14, 20, 32] }, [54, 200]],
      [udp6, { cmd: TxCmd.IIPT_IPV6 | TxCmd.L4T_UDP, lens: [14, 40, 8], tag: 0xa00a }, [10, 13, 60]],
      [tcp6, { cmd: TxCmd.IIPT_IPV6 | TxCmd.L4T_TCP, lens: [14, 40, 20] }, []],
      [sctp4, { cmd: TxCmd.IIPT_IPV4 | TxCmd.L4T_SCTP, lens: [14, 20, 12] }, [30]],
      [padded, { cmd: TxCmd.IIPT_IPV4_CSUM | TxCmd.L4T_TCP, lens: [14, 20, 20] }, []],
    ];
    const before = await be.ask<Counters>("counters");
    for (const [frame, ask, cuts] of cases) {
      const last = await send(queues, frame, cuts, ask);
      const [out] = await received(be, 1);
      await until(() => queues.txDone(0, last));
      const t = ask.tag === undefined ? 0 : 4;
      expect(out!.length).toBe(frame.length + t);
      const ip = 14 + t;
      const v6 = (ask.cmd & TxCmd.IIPT_MASK) === TxCmd.IIPT_IPV6;
      const proto =
        (ask.cmd & TxCmd.L4T_MASK) === TxCmd.L4T_TCP ? TCP : (ask.cmd & TxCmd.L4T_MASK) === TxCmd.L4T_UDP ? UDP : SCTP;
      if ((ask.cmd & TxCmd.IIPT_MASK) === TxCmd.IIPT_IPV4_CSUM) expect(ipv4HeaderOk(out!, ip)).toBe(true);
      if ((ask.cmd & TxCmd.IIPT_MASK) === TxCmd.IIPT_IPV4) expect([out![ip + 10], out![ip + 11]]).toEqual([0, 0]); // not asked
      if (proto === SCTP) {
        const l4 = ip + 20;
        const zeroed = out!.slice(l4, ip + ((out![ip + 2]! << 8) | out![ip + 3]!));
        zeroed.fill(0, 8, 12);
        const crc = crc32cBitwise(zeroed);
        expect(Array.from(out!.subarray(l4 + 8, l4 + 12))).toEqual([
          crc & 0xff,
          (crc >>> 8) & 0xff,
          (crc >>> 16) & 0xff,
          crc >>> 24,
        ]);
      } else expect(l4Ok(out!, ip, v6, proto), `proto ${proto}`).toBe(true);
      // Nothing else changed: the frame as sent but for the checksum fields (and the tag).
      const plain = t === 0 ? out! : Uint8Array.from([...out!.subarray(0, 12), ...out!.subarray(16)]);
      const fields = v6 ? [] : [24, 25];
      const l4 = 14 + (v6 ? 40 : 20);
      fields.push(
        ...(proto === TCP ? [l4 + 16, l4 + 17] : proto === UDP ? [l4 + 6, l4 + 7] : [l4 + 8, l4 + 9, l4 + 10, l4 + 11]),
      );
      const strip = (f: Uint8Array) => Array.from(f).map((b, i) => (fields.includes(i) ? -1 : b));
      expect(strip(plain)).toEqual(strip(frame));
      if (t !== 0) expect(Array.from(out!.subarray(12, 16))).toEqual([0x81, 0x00, 0xa0, 0x0a]);
    }
    const c = await be.ask<Counters>("counters");
    expect(c.txErrors! - before.txErrors!).toBe(0);
    expect(c.badOffload! - before.badOffload!).toBe(0);
    expect(c.offloadChecksums! - before.offloadChecksums!).toBe(cases.length);
  });

  it("sends a UDP checksum that computes to 0 as 0xffff", async () => {
    const { be, queues } = await open();
    // Find a 2-byte payload that makes the UDP checksum come out 0 (sum of all else = 0xffff).
    const frameWith = (x: number) => ipFrame({ proto: UDP, l4: [...udpHeader(10), x >> 8, x & 0xff] });
    let x = 0;
    for (; x < 0x10000; x++) {
      const f = frameWith(x);
      f[34 + 6] = 0;
      f[34 + 7] = 0;
      if (sum16([...f.subarray(26, 34), 0, UDP, 0, 10, ...f.subarray(34)]) === 0xffff) break;
    }
    expect(x).toBeLessThan(0x10000);
    await send(queues, frameWith(x), [], { cmd: TxCmd.IIPT_IPV4 | TxCmd.L4T_UDP, lens: [14, 20, 8] });
    const [out] = await received(be, 1);
    expect([out![40], out![41]]).toEqual([0xff, 0xff]);
  });
});

describe("TCP segmentation (TSO context descriptor)", () => {
  /** Checks `segs` are `frame` cut at `mss` as the doc says; returns the payload they carry joined. */
  function checkSegments(segs: Uint8Array[], frame: Uint8Array, hdr: number, mss: number, v6: boolean, tag = 0) {
    const pay = frame.length - hdr;
    const n = Math.ceil(pay / mss);
    expect(segs.length).toBe(n);
    const ip = 14 + tag;
    const l4 = ip + (v6 ? 40 : 20);
    const seq0 = new DataView(frame.buffer).getUint32(14 + (v6 ? 40 : 20) + 4);
    const joined: number[] = [];
    for (const [i, s] of segs.entries()) {
      const p = Math.min(mss, pay - i * mss);
      expect(s.length, `segment ${i}`).toBe(hdr + tag + p);
      const d = new DataView(s.buffer, s.byteOffset);
      if (v6) expect(d.getUint16(ip + 4)).toBe(s.length - ip - 40);
      else {
        expect(d.getUint16(ip + 2)).toBe(s.length - ip);
        expect(d.getUint16(ip + 4)).toBe((0xfffe + i) & 0xffff); // identification counts on (and wraps)
        expect(ipv4HeaderOk(s, ip)).toBe(true);
      }
      expect(d.getUint32(l4 + 4)).toBe((seq0 + i * mss) >>> 0);
      const flags = s[l4 + 13]!;
      const original = frame[14 + (v6 ? 40 : 20) + 13]!;
      const want = original & ~((i + 1 < n ? 0x09 : 0) | (i > 0 ? 0x80 : 0)) & 0xff;
      expect(flags, `flags of segment ${i}`).toBe(want);
      expect(l4Ok(s, ip, v6, TCP), `checksum of segment ${i}`).toBe(true);
      joined.push(...s.subarray(hdr + tag));
    }
    expect(joined).toEqual(Array.from(frame.subarray(hdr)));
  }

  it("cuts a 20 000-byte IPv4 TCP packet into MSS-sized segments: lengths, IDs, sequence numbers, flags, checksums", async () => {
    const { be, queues } = await open();
    // FIN|PSH|ACK|CWR: FIN and PSH stay on the last segment only, CWR on the first only. Sequence number wraps.
    const frame = ipFrame({ proto: TCP, id: 0xfffe, l4: [...tcpHeader(8, 0x99, 0xffff_f000), ...payload(20_000, 5)] });
    const hdr = 14 + 20 + 32;
    const last = await send(queues, frame, cutsOf(frame.length, hdr, 2000), {
      cmd: TxCmd.IIPT_IPV4_CSUM | TxCmd.L4T_TCP,
      lens: [14, 20, 32],
      tso: { len: 20_000, mss: 1448 },
    });
    const segs = await received(be, 14);
    await until(() => queues.txDone(0, last));
    checkSegments(segs, frame, hdr, 1448, false);
    const c = await be.ask<Counters>("counters");
    expect(c.txErrors).toBe(0);
    expect(c.txBytes).toBe(segs.reduce((n, s) => n + s.length, 0));
    expect(c.txUnicast).toBe(14);
    expect([c.offloadChecksums, c.offloadTso]).toEqual([14, 1]);
  });

  it("cuts IPv6 TCP with a tag inserted, and a packet of more segments than a burst takes over two bursts", async () => {
    const { be, queues } = await open();
    const frame = ipFrame({ v6: true, proto: TCP, l4: [...tcpHeader(5, 0x18, 42), ...payload(9_000, 6)] });
    const hdr = 14 + 40 + 20;
    await send(queues, frame, [30, ...cutsOf(frame.length, hdr, 1500)], {
      cmd: TxCmd.IIPT_IPV6 | TxCmd.L4T_TCP,
      lens: [14, 40, 20],
      tso: { len: 9_000, mss: 1000 },
      tag: 7,
    });
    const segs = await received(be, 9);
    checkSegments(segs, frame, hdr, 1000, true, 4);
    for (const s of segs) expect(Array.from(s.subarray(12, 16))).toEqual([0x81, 0x00, 0, 7]);

    // 65 segments: the test's worker takes at most 64 per burst, so the packet goes out over two; then one more packet.
    const big = ipFrame({ proto: TCP, id: 0xfffe, l4: [...tcpHeader(5, 0x18, 1), ...payload(64 * 900 + 100, 7)] });
    const last = await send(queues, big, cutsOf(big.length, 54, 2000), {
      cmd: TxCmd.IIPT_IPV4_CSUM | TxCmd.L4T_TCP,
      lens: [14, 20, 20],
      tso: { len: 64 * 900 + 100, mss: 900 },
    });
    // Then another TSO packet of more segments than the big one had sent by the first burst's end (it must start at
    // its first segment: the progress kept was the big one's), and a plain one.
    const nextLen = 66 * 64 + 10;
    const next = ipFrame({ proto: TCP, id: 0xfffe, l4: [...tcpHeader(5, 0x18, 7), ...payload(nextLen, 9)] });
    await send(queues, next, cutsOf(next.length, 54, 2000), {
      cmd: TxCmd.IIPT_IPV4_CSUM | TxCmd.L4T_TCP,
      lens: [14, 20, 20],
      tso: { len: nextLen, mss: 64 },
    });
    const after = ipFrame({ proto: UDP, l4: [...udpHeader(8 + 20), ...payload(20, 8)] });
    const lastAfter = await send(queues, after, [], { cmd: 0, lens: [0, 0, 0] });
    const out = await received(be, 65 + 67 + 1);
    checkSegments(out.slice(0, 65), big, 54, 900, false);
    checkSegments(out.slice(65, 132), next, 54, 64, false);
    expect(Array.from(out[132]!)).toEqual(Array.from(after));
    await until(() => queues.txDone(0, last) && queues.txDone(0, lastAfter));
    expect((await be.ask<Counters>("counters")).txErrors).toBe(0);
  });

  it("drops and counts requests that do not fit the packet; their descriptors complete and the next packet passes", async () => {
    const { be, queues } = await open();
    const tcp = ipFrame({ proto: TCP, l4: [...tcpHeader(5, 0x18, 1), ...payload(3000, 9)] });
    const small = ipFrame({ proto: TCP, l4: [...tcpHeader(5, 0x18, 1), ...payload(6, 9)] });
    const good = { cmd: TxCmd.IIPT_IPV4_CSUM | TxCmd.L4T_TCP, lens: [14, 20, 20] as [number, number, number] };
    const lies: [Uint8Array, Ask][] = [
      [tcp, { ...good, tso: { len: 3000, mss: 0 } }], // MSS 0 (would never end)
      [tcp, { ...good, tso: { len: 3000, mss: 63 } }], // MSS under 64
      [tcp, { ...good, tso: { len: 2999, mss: 1000 } }], // TSO_LEN is not what follows the headers
      [tcp, { ...good, tso: { len: 3000, mss: 2000 } }], // a segment longer than a pool buffer (2048)
      [tcp, { ...good, cmd: TxCmd.IIPT_IPV4_CSUM | TxCmd.L4T_UDP, tso: { len: 2992, mss: 1000 } }], // TSO of UDP
      [small, { cmd: TxCmd.L4T_TCP, lens: [14, 20, 20] }], // L4 checksum with no IP header given
      [small, { cmd: TxCmd.IIPT_IPV4 | TxCmd.L4T_TCP, lens: [14, 60, 20] }], // L4 header past the frame's end
      [small, { cmd: TxCmd.IIPT_IPV6 | TxCmd.L4T_UDP, lens: [14, 20, 8] }], // an IPv6 header of 20 bytes
      [small, { ...good, tunnel: 1 | (5 << 2) }], // a tunnelled packet (outer IPv4, EXT_IPLEN 5): not offered
    ];
    const before = await be.ask<Counters>("counters");
    let last = -1;
    for (const [f, ask] of lies) last = await send(queues, f, cutsOf(f.length, 54, 1500), ask);
    const ok = await send(queues, small, [], good);
    const [out] = await received(be, 1);
    expect(l4Ok(out!, 14, false, TCP)).toBe(true);
    await until(() => queues.txDone(0, last) && queues.txDone(0, ok));
    const c = await be.ask<Counters>("counters");
    expect(c.badOffload! - before.badOffload!).toBe(lies.length);
    expect(c.txErrors! - before.txErrors!).toBe(lies.length);
    expect((await be.ask<Counters>("portStats")).ierrors).toBe(lies.length);
    // Nothing more came out.
    expect(await be.ask<unknown[]>("rx", 1, 200)).toEqual([]);
  });
});
