// The emu_iavf device state as a migration stream (vfio-user migration v2 carries it as opaque bytes): a 16-byte
// header — magic, format version, body length, CRC32 of the body — then the body, fields in a fixed order, all
// little-endian. The layout is documented field by field in docs/migration-format.md; a stream of another magic or
// version, a truncated one, one whose checksum does not match, or one with a field out of range is refused with a
// `MigrationFormatError` that says which and where, before anything of the device changes.
import { crc32 } from "node:zlib";
import { AQ_BUFFER_SIZE, BAR0_SIZE, ETH_STATS_FIELDS, MAX_VECTORS, RSS_KEY_SIZE, RSS_LUT_SIZE } from "@emu/iavf-common";
import type { ArqMessage } from "./admin-queue.js";
import type { IavfMacFilter, IavfRxQueueConfig, IavfTxQueueConfig } from "./nic-state.js";

/** "EIAV" read as a little-endian u32. */
export const MIGRATION_MAGIC = 0x5641_4945;
/** The format this build writes and the only one it reads. */
export const MIGRATION_FORMAT_VERSION = 1;
export const MIGRATION_HEADER_SIZE = 16;
/** No device state is near this; a header announcing more is refused before anything is buffered. */
const MIGRATION_MAX_BODY = 1 << 20;
const MAX_PAIRS = 16;
const MAX_MACS = 64;
const MAX_BACKLOG = 64;
const COUNTER_FIELDS = 7;

/** One emudev queue as the device set it up, with the data path's ring head. */
export interface MigratedQueue {
  readonly base: bigint;
  readonly size: number;
  readonly irqVector: number;
  readonly enabled: boolean;
  /** The next descriptor the data path processes. */
  readonly head: number;
}

/** Everything of one emu_iavf device that a guest driver relies on to carry on. */
export interface IavfDeviceState {
  readonly queuePairs: number;
  readonly defaultMac: string;
  /** Non-zero trapped BAR0 registers: [offset, value]. */
  readonly registers: readonly (readonly [number, number])[];
  /** Non-zero words of the doorbell pages (tails, VFINT_ITRN1): [BAR0 offset, value]. */
  readonly shared: readonly (readonly [number, number])[];
  /** Interrupt causes held by a clear INTENA (bit v = vector v); INTENA states last told to a watcher. */
  readonly held: number;
  readonly told: number;
  readonly granted: number;
  readonly active: boolean;
  readonly vfVersion: { readonly major: number; readonly minor: number } | undefined;
  readonly ready: boolean;
  readonly link: { readonly up: boolean; readonly speedMbps: number };
  readonly rxq: readonly (IavfRxQueueConfig | undefined)[];
  readonly txq: readonly (IavfTxQueueConfig | undefined)[];
  readonly rxItr: readonly number[];
  readonly txItr: readonly number[];
  readonly macs: readonly IavfMacFilter[];
  readonly vlans: readonly number[];
  readonly unicastPromisc: boolean;
  readonly multicastPromisc: boolean;
  readonly vlanStripping: boolean;
  readonly rssKey: Uint8Array;
  readonly rssLut: Uint8Array;
  readonly rssHena: bigint;
  /** ETH_STATS_FIELDS in order. */
  readonly stats: readonly bigint[];
  /** IavfCounters in declaration order (ringFaults … arqBadBuffer). */
  readonly counters: readonly number[];
  /** 2 × queuePairs emudev queues (RX 2q, TX 2q + 1). */
  readonly queues: readonly MigratedQueue[];
  /** ARQ messages waiting for free slots. */
  readonly backlog: readonly ArqMessage[];
}

/** Why a stream was refused. */
export class MigrationFormatError extends Error {
  readonly _tag = "MigrationFormatError" as const;
  override readonly name = "MigrationFormatError";
}

export function isMigrationFormatError(e: unknown): e is MigrationFormatError {
  return (e as { _tag?: unknown } | undefined)?._tag === "MigrationFormatError";
}

class Writer {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    bigger.set(this.buf);
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }
  u8(v: number): void {
    this.room(1);
    this.view.setUint8(this.at++, v);
  }
  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.at, v, true);
    this.at += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.at, v >>> 0, true);
    this.at += 4;
  }
  i32(v: number): void {
    this.room(4);
    this.view.setInt32(this.at, v, true);
    this.at += 4;
  }
  u64(v: bigint): void {
    this.room(8);
    this.view.setBigUint64(this.at, BigInt.asUintN(64, v), true);
    this.at += 8;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.at);
  }
}

class Reader {
  private readonly view: DataView;
  at = 0;
  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private need(n: number, what: string): void {
    if (this.at + n > this.b.length)
      throw new MigrationFormatError(`device state truncated: ${what} at body byte ${this.at} needs ${n} bytes`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.at++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.at, true);
    this.at += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }
  i32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.at, true);
    this.at += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.at, true);
    this.at += 8;
    return v;
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.b.slice(this.at, this.at + n);
    this.at += n;
    return v;
  }
  /** A count, refused beyond `max`. */
  count(max: number, what: string): number {
    const n = this.u32(what);
    if (n > max) throw new MigrationFormatError(`device state: ${n} ${what}, at most ${max}`);
    return n;
  }
  bool(what: string): boolean {
    const v = this.u8(what);
    if (v > 1) throw new MigrationFormatError(`device state: ${what} is ${v}, not 0 or 1`);
    return v === 1;
  }
}

function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(":").map((h) => Number.parseInt(h, 16)));
}

function macString(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

function range(v: number, min: number, max: number, what: string): number {
  if (v < min || v > max) throw new MigrationFormatError(`device state: ${what} ${v} is outside ${min}..${max}`);
  return v;
}

/** The whole stream (header and body) of `s`. */
export function encodeDeviceState(s: IavfDeviceState): Uint8Array {
  const w = new Writer();
  encodeShape(w, s);
  encodeQueueConfig(w, s);
  encodeFilters(w, s);
  for (const v of s.stats) w.u64(v);
  for (const v of s.counters) w.u32(v);
  for (const q of s.queues) {
    w.u64(q.base);
    w.u32(q.size);
    w.i32(q.irqVector);
    w.u8(q.enabled ? 1 : 0);
    w.u32(q.head);
  }
  w.u32(s.backlog.length);
  for (const m of s.backlog) {
    w.u32(m.opcode);
    w.i32(m.status);
    w.u32(m.payload.length);
    w.bytes(m.payload);
  }
  const body = w.done();
  const out = new Uint8Array(MIGRATION_HEADER_SIZE + body.length);
  const h = new DataView(out.buffer);
  h.setUint32(0, MIGRATION_MAGIC, true);
  h.setUint16(4, MIGRATION_FORMAT_VERSION, true);
  h.setUint16(6, MIGRATION_HEADER_SIZE, true);
  h.setUint32(8, body.length, true);
  h.setUint32(12, crc32(body), true);
  out.set(body, MIGRATION_HEADER_SIZE);
  return out;
}

function encodeShape(w: Writer, s: IavfDeviceState): void {
  w.u8(s.queuePairs);
  w.bytes(macBytes(s.defaultMac));
  for (const list of [s.registers, s.shared]) {
    w.u32(list.length);
    for (const [o, v] of list) {
      w.u32(o);
      w.u32(v);
    }
  }
  w.u32(s.held);
  w.u32(s.told);
  w.u32(s.granted);
  w.u8((s.active ? 1 : 0) | (s.ready ? 2 : 0) | (s.vfVersion === undefined ? 0 : 4) | (s.link.up ? 8 : 0));
  w.u32(s.vfVersion?.major ?? 0);
  w.u32(s.vfVersion?.minor ?? 0);
  w.u32(s.link.speedMbps);
}

function encodeQueueConfig(w: Writer, s: IavfDeviceState): void {
  for (let q = 0; q < s.queuePairs; q++) {
    const rx = s.rxq[q];
    w.u8(rx === undefined ? 0 : 1);
    w.u16(rx?.ringLen ?? 0);
    w.u64(rx?.dmaRingAddr ?? 0n);
    w.u32(rx?.databufferSize ?? 0);
    w.u32(rx?.maxPktSize ?? 0);
    w.u8(rx?.crcStrip ? 1 : 0);
    w.u8(rx?.rxdid ?? 0);
    const tx = s.txq[q];
    w.u8(tx === undefined ? 0 : 1);
    w.u16(tx?.ringLen ?? 0);
    w.u64(tx?.dmaRingAddr ?? 0n);
    w.u8(s.rxItr[q] ?? 0);
    w.u8(s.txItr[q] ?? 0);
  }
}

function encodeFilters(w: Writer, s: IavfDeviceState): void {
  w.u32(s.macs.length);
  for (const m of s.macs) {
    w.bytes(macBytes(m.mac));
    w.u8(m.type);
  }
  w.u32(s.vlans.length);
  for (const v of s.vlans) w.u16(v);
  w.u8((s.unicastPromisc ? 1 : 0) | (s.multicastPromisc ? 2 : 0) | (s.vlanStripping ? 4 : 0));
  w.bytes(s.rssKey.subarray(0, RSS_KEY_SIZE));
  w.bytes(s.rssLut.subarray(0, RSS_LUT_SIZE));
  w.u64(s.rssHena);
}

/**
 * Checks a stream's header (at least MIGRATION_HEADER_SIZE bytes): the body length it announces. Throws
 * MigrationFormatError for another magic, another version or a body beyond MIGRATION_MAX_BODY.
 */
export function checkHeader(head: Uint8Array): number {
  if (head.length < MIGRATION_HEADER_SIZE)
    throw new MigrationFormatError(`device state truncated: ${head.length} bytes, the header alone is 16`);
  const h = new DataView(head.buffer, head.byteOffset, MIGRATION_HEADER_SIZE);
  const magic = h.getUint32(0, true);
  if (magic !== MIGRATION_MAGIC)
    throw new MigrationFormatError(`not an emu_iavf device state: magic 0x${magic.toString(16).padStart(8, "0")}`);
  const version = h.getUint16(4, true);
  if (version !== MIGRATION_FORMAT_VERSION)
    throw new MigrationFormatError(
      `emu_iavf device state format ${version} is not supported (this device reads format ${MIGRATION_FORMAT_VERSION})`,
    );
  if (h.getUint16(6, true) !== MIGRATION_HEADER_SIZE)
    throw new MigrationFormatError(`device state header size ${h.getUint16(6, true)}, expected 16`);
  const length = h.getUint32(8, true);
  if (length > MIGRATION_MAX_BODY)
    throw new MigrationFormatError(`device state body of ${length} bytes is beyond ${MIGRATION_MAX_BODY}`);
  return length;
}

/** Decodes a whole stream; throws MigrationFormatError (truncated, trailing bytes, bad checksum, bad field). */
export function decodeDeviceState(stream: Uint8Array): IavfDeviceState {
  const length = checkHeader(stream);
  const total = MIGRATION_HEADER_SIZE + length;
  if (stream.length < total)
    throw new MigrationFormatError(`device state truncated: ${stream.length} of ${total} bytes received`);
  if (stream.length > total)
    throw new MigrationFormatError(`device state has ${stream.length - total} bytes beyond its announced length`);
  const body = stream.subarray(MIGRATION_HEADER_SIZE);
  const want = new DataView(stream.buffer, stream.byteOffset).getUint32(12, true);
  const got = crc32(body);
  if (got !== want)
    throw new MigrationFormatError(
      `device state checksum mismatch: CRC32 0x${got.toString(16)}, header says 0x${want.toString(16)}`,
    );
  const r = new Reader(body);
  const s = decodeBody(r);
  if (r.at !== body.length)
    throw new MigrationFormatError(`device state: ${body.length - r.at} bytes left after the last field`);
  return s;
}

function decodeBody(r: Reader): IavfDeviceState {
  const queuePairs = range(r.u8("queue pairs"), 1, MAX_PAIRS, "queue pairs");
  const defaultMac = macString(r.bytes(6, "default MAC"));
  const registers = decodeWords(r, BAR0_SIZE / 4, "registers");
  const shared = decodeWords(r, 2048, "doorbell words");
  const held = r.u32("held vectors");
  const told = r.u32("armed vectors");
  const granted = r.u32("granted capabilities");
  const flags = r.u8("flags");
  if (flags > 15) throw new MigrationFormatError(`device state: flags 0x${flags.toString(16)} has unknown bits`);
  const major = r.u32("version major");
  const minor = r.u32("version minor");
  const speedMbps = r.u32("link speed");
  const { rxq, txq, rxItr, txItr } = decodeQueueConfig(r, queuePairs);
  const f = decodeFilters(r);
  const stats = ETH_STATS_FIELDS.map((n) => r.u64(`stats ${n}`));
  const counters = Array.from({ length: COUNTER_FIELDS }, (_, i) => r.u32(`counter ${i}`));
  const queues = Array.from({ length: 2 * queuePairs }, (_, i) => decodeQueue(r, i));
  const backlog = Array.from({ length: r.count(MAX_BACKLOG, "ARQ messages waiting") }, () => {
    const opcode = r.u32("ARQ opcode");
    const status = r.i32("ARQ status");
    const n = r.count(AQ_BUFFER_SIZE, "ARQ payload bytes");
    return { opcode, status, payload: r.bytes(n, "ARQ payload") };
  });
  return {
    queuePairs,
    defaultMac,
    registers,
    shared,
    held: held & ((1 << MAX_VECTORS) - 1),
    told: told & ((1 << MAX_VECTORS) - 1),
    granted,
    active: (flags & 1) !== 0,
    ready: (flags & 2) !== 0,
    vfVersion: (flags & 4) !== 0 ? { major, minor } : undefined,
    link: { up: (flags & 8) !== 0, speedMbps },
    rxq,
    txq,
    rxItr,
    txItr,
    ...f,
    stats,
    counters,
    queues,
    backlog,
  };
}

function decodeWords(r: Reader, max: number, what: string): [number, number][] {
  const n = r.count(max, what);
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const o = r.u32(`${what} offset`);
    if (o % 4 !== 0 || o >= BAR0_SIZE)
      throw new MigrationFormatError(`device state: ${what} offset 0x${o.toString(16)} is not a BAR0 register`);
    out.push([o, r.u32(`${what} value`)]);
  }
  return out;
}

function decodeQueueConfig(r: Reader, pairs: number) {
  const rxq: (IavfRxQueueConfig | undefined)[] = [];
  const txq: (IavfTxQueueConfig | undefined)[] = [];
  const rxItr: number[] = [];
  const txItr: number[] = [];
  for (let q = 0; q < pairs; q++) {
    const hasRx = r.bool(`RX queue ${q} present`);
    const rx = {
      ringLen: range(r.u16(`RX ${q} ring length`), 0, 8160, `RX ${q} ring length`),
      dmaRingAddr: r.u64(`RX ${q} ring address`),
      databufferSize: range(r.u32(`RX ${q} buffer size`), 0, 16384, `RX ${q} buffer size`),
      maxPktSize: range(r.u32(`RX ${q} max frame`), 0, 16383, `RX ${q} max frame`),
      crcStrip: r.bool(`RX ${q} CRC strip`),
      rxdid: r.u8(`RX ${q} RXDID`),
    };
    rxq.push(hasRx ? rx : undefined);
    const hasTx = r.bool(`TX queue ${q} present`);
    const tx = {
      ringLen: range(r.u16(`TX ${q} ring length`), 0, 8160, `TX ${q} ring length`),
      dmaRingAddr: r.u64(`TX ${q} ring address`),
    };
    txq.push(hasTx ? tx : undefined);
    rxItr.push(range(r.u8(`RX ${q} ITR index`), 0, 3, `RX ${q} ITR index`));
    txItr.push(range(r.u8(`TX ${q} ITR index`), 0, 3, `TX ${q} ITR index`));
  }
  return { rxq, txq, rxItr, txItr };
}

function decodeFilters(r: Reader) {
  const macs = Array.from({ length: r.count(MAX_MACS, "MAC filters") }, () => ({
    mac: macString(r.bytes(6, "MAC filter")),
    type: range(r.u8("MAC filter type"), 0, 2, "MAC filter type"),
  }));
  const vlans = Array.from({ length: r.count(4096, "VLAN filters") }, () =>
    range(r.u16("VLAN id"), 0, 4095, "VLAN id"),
  );
  const flags = r.u8("filter flags");
  if (flags > 7) throw new MigrationFormatError(`device state: filter flags 0x${flags.toString(16)} has unknown bits`);
  return {
    macs,
    vlans,
    unicastPromisc: (flags & 1) !== 0,
    multicastPromisc: (flags & 2) !== 0,
    vlanStripping: (flags & 4) !== 0,
    rssKey: r.bytes(RSS_KEY_SIZE, "RSS key"),
    rssLut: r.bytes(RSS_LUT_SIZE, "RSS LUT"),
    rssHena: r.u64("RSS hash set"),
  };
}

function decodeQueue(r: Reader, id: number): MigratedQueue {
  const base = r.u64(`queue ${id} base`);
  const size = range(r.u32(`queue ${id} size`), 0, 8160, `queue ${id} size`);
  const irqVector = range(r.i32(`queue ${id} vector`), -1, MAX_VECTORS - 1, `queue ${id} vector`);
  const enabled = r.bool(`queue ${id} enabled`);
  const head = r.u32(`queue ${id} head`);
  if (size > 0 && head >= size) throw new MigrationFormatError(`device state: queue ${id} head ${head} ≥ size ${size}`);
  return { base, size, irqVector, enabled, head };
}
