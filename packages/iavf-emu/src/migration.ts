// emu_iavf's side of vfio-user migration v2: the server walks the state machine and calls `transition`, `read` and
// `write`; this module saves the device's whole state when the source enters STOP_COPY (the data path was stopped by
// emudev before: ring heads are final), and on the destination gathers the stream while RESUMING and restores it when
// RESUMING ends. A stream that is not ours, of another format version, truncated, corrupted or for a device of
// another shape is refused with EINVAL and a message (reported to `onError`); nothing of the device changes then, and
// a source is never touched by a destination's refusal.
import type { DriverHost } from "@emu/emudev";
import { Reg, VfrState } from "@emu/iavf-common";
import { MigrationState } from "@emu/vfio-user-proto";
import { DeviceError, type MigrationCallbacks } from "@emu/vfio-user-server";
import type { IavfLink, RingHeads } from "./accessor.js";
import type { AdminQueues } from "./admin-queue.js";
import type { Bar0 } from "./bar0.js";
import type { InterruptControl } from "./interrupts.js";
import { DOORBELL_PAGES } from "./layout.js";
import {
  checkHeader,
  decodeDeviceState,
  encodeDeviceState,
  type IavfDeviceState,
  isMigrationFormatError,
  MIGRATION_HEADER_SIZE,
} from "./migration-format.js";
import type { IavfCounters, NicState } from "./nic-state.js";
import type { VirtchnlPf } from "./virtchnl-pf.js";

/** What of an emu_iavf device the migration reads and restores. */
export interface MigratableParts {
  readonly queuePairs: number;
  readonly defaultMac: string;
  readonly bar: Bar0;
  readonly state: NicState;
  readonly pf: VirtchnlPf;
  readonly irqs: InterruptControl;
  readonly aq: AdminQueues;
  readonly host: DriverHost;
  /** BAR0's shared memory (the doorbell pages), while served. */
  mem(): Uint8Array | undefined;
  link: IavfLink;
  ringHeads(): RingHeads | undefined;
  /** Resolves once the mailbox finished what it was doing (no DMA of its own after). */
  idle(): Promise<void>;
  /** Clears the device as a VF reset does, quietly (no event, no emudev reset): the base a stream is restored on. */
  clear(): void;
  report(e: unknown): void;
}

const COUNTER_KEYS: readonly (keyof IavfCounters)[] = [
  "ringFaults",
  "badTail",
  "badBuffer",
  "unknownAqOpcode",
  "virtchnlErrors",
  "arqDropped",
  "arqBadBuffer",
];

const sharedWords = (mem: Uint8Array | undefined): [number, number][] => {
  const out: [number, number][] = [];
  if (mem === undefined) return out;
  const v = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  for (const p of DOORBELL_PAGES)
    for (let o = p.offset; o < p.offset + p.size; o += 4) {
      const w = v.getUint32(o, true);
      if (w !== 0) out.push([o, w]);
    }
  return out;
};

/** The device's state now (the data path is stopped: its heads are final). */
function captureState(d: MigratableParts): IavfDeviceState {
  const registers: [number, number][] = [];
  for (let o = 0; o < 0x10000; o += 4) {
    const w = d.bar.get(o);
    if (w !== 0) registers.push([o, w]);
  }
  const heads = d.ringHeads();
  const queues = Array.from({ length: 2 * d.queuePairs }, (_, id) => {
    const q = d.host.queue(id);
    return { base: q.base, size: q.size, irqVector: q.irqVector, enabled: q.enabled, head: heads?.read(id) ?? 0 };
  });
  const s = d.state;
  const f = s.filters();
  const rss = s.rss();
  return {
    queuePairs: d.queuePairs,
    defaultMac: d.defaultMac,
    registers,
    shared: sharedWords(d.mem()),
    ...d.irqs.snapshot(),
    granted: d.pf.granted,
    active: d.pf.active,
    vfVersion: d.pf.vfVersion,
    ready: queues.some((q) => q.enabled),
    link: d.link,
    rxq: [...s.rxq],
    txq: [...s.txq],
    rxItr: [...s.rxItr],
    txItr: [...s.txItr],
    macs: f.macs,
    vlans: f.vlans,
    unicastPromisc: f.unicastPromisc,
    multicastPromisc: f.multicastPromisc,
    vlanStripping: f.vlanStripping,
    rssKey: rss.key,
    rssLut: rss.lut,
    rssHena: rss.hena,
    stats: s.statsList(),
    counters: COUNTER_KEYS.map((k) => s.counters[k]),
    queues,
    backlog: d.aq.waiting(),
  };
}

/** Puts `s` (checked against the device's shape) in place of the device's state. */
function restoreState(d: MigratableParts, s: IavfDeviceState): void {
  if (s.queuePairs !== d.queuePairs)
    throw new DeviceError(
      "InvalidArgument",
      `the device state is of ${s.queuePairs} queue pairs, this device has ${d.queuePairs}`,
    );
  if (s.defaultMac !== d.defaultMac)
    throw new DeviceError(
      "InvalidArgument",
      `the device state is of MAC ${s.defaultMac}, this device has ${d.defaultMac}`,
    );
  d.clear();
  for (const [o, v] of s.registers) d.bar.set(o, v);
  const mem = d.mem();
  if (mem !== undefined) {
    const v = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
    for (const [o, w] of s.shared)
      if (DOORBELL_PAGES.some((p) => o >= p.offset && o < p.offset + p.size)) v.setUint32(o, w, true);
  }
  d.irqs.restore(s);
  d.pf.granted = s.granted;
  d.pf.active = s.active;
  d.pf.vfVersion = s.vfVersion;
  d.link = s.link;
  const st = d.state;
  s.rxq.forEach((q, i) => {
    st.rxq[i] = q;
  });
  s.txq.forEach((q, i) => {
    st.txq[i] = q;
  });
  s.rxItr.forEach((v, i) => {
    st.rxItr[i] = v;
  });
  s.txItr.forEach((v, i) => {
    st.txItr[i] = v;
  });
  st.restoreFilters(s.macs, s.vlans);
  st.unicastPromisc = s.unicastPromisc;
  st.multicastPromisc = s.multicastPromisc;
  st.vlanStripping = s.vlanStripping;
  st.rssKey.set(s.rssKey);
  st.rssLut.set(s.rssLut);
  st.rssHena = s.rssHena;
  st.restoreStats(s.stats);
  COUNTER_KEYS.forEach((k, i) => {
    st.counters[k] = s.counters[i] ?? 0;
  });
  d.aq.restoreWaiting(s.backlog);
  for (const [id, q] of s.queues.entries())
    d.host.setQueue(id, { base: q.base, size: q.size, doorbell: id, irqVector: q.irqVector, enabled: q.enabled });
  const heads = d.ringHeads();
  for (const [id, q] of s.queues.entries()) heads?.write(id, q.head);
  if (s.ready) d.host.ready();
  // A VF reset in progress at the source completes here (its timers did not travel).
  if (d.bar.get(Reg.VFGEN_RSTAT) !== VfrState.VFACTIVE) d.bar.set(Reg.VFGEN_RSTAT, VfrState.VFACTIVE);
}

/** The device's `migration` callbacks (PRE_COPY offered: the device has no state to send before it stops). */
export class IavfMigration implements MigrationCallbacks {
  readonly preCopy = true;
  private out: Uint8Array | undefined;
  private outAt = 0;
  private readonly inChunks: Uint8Array[] = [];
  private inBytes = 0;
  private expected: number | undefined;
  /** Bytes of the last device state saved (for tests and benchmarks). */
  lastSavedBytes = 0;

  constructor(private readonly d: MigratableParts) {}

  async transition(from: MigrationState, to: MigrationState): Promise<void> {
    if (from === MigrationState.RUNNING || from === MigrationState.PRE_COPY) await this.d.idle();
    if (to === MigrationState.STOP_COPY) {
      this.out = encodeDeviceState(captureState(this.d));
      this.outAt = 0;
      this.lastSavedBytes = this.out.length;
    } else if (from === MigrationState.STOP_COPY) this.out = undefined;
    if (to === MigrationState.RESUMING) this.resetInput();
    if (from === MigrationState.RESUMING && to === MigrationState.STOP) this.resume();
  }

  read(max: number): Uint8Array {
    const out = this.out;
    if (out === undefined) return new Uint8Array(0); // PRE_COPY: nothing before the device stops
    const chunk = out.subarray(this.outAt, Math.min(out.length, this.outAt + max));
    this.outAt += chunk.length;
    return chunk;
  }

  write(data: Uint8Array): void {
    const total = this.inBytes + data.length;
    if (this.expected === undefined && total >= MIGRATION_HEADER_SIZE) {
      const head = concat([...this.inChunks, data], MIGRATION_HEADER_SIZE);
      this.expected = MIGRATION_HEADER_SIZE + this.guard(() => checkHeader(head));
    }
    if (this.expected !== undefined && total > this.expected)
      this.refuse(`device state longer than the ${this.expected} bytes its header announces`);
    this.inChunks.push(data.slice());
    this.inBytes = total;
  }

  private resume(): void {
    const stream = concat(this.inChunks, this.inBytes);
    this.resetInput();
    const s = this.guard(() => decodeDeviceState(stream));
    try {
      restoreState(this.d, s);
    } catch (e) {
      this.d.report(e);
      throw e;
    }
  }

  private resetInput(): void {
    this.inChunks.length = 0;
    this.inBytes = 0;
    this.expected = undefined;
  }

  private guard<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (isMigrationFormatError(e)) this.refuse(e.message);
      throw e;
    }
  }

  private refuse(message: string): never {
    this.resetInput();
    const e = new DeviceError("InvalidArgument", `emu_iavf: ${message}`);
    this.d.report(e);
    throw e;
  }
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    if (at >= length) break;
    const n = Math.min(c.length, length - at);
    out.set(c.subarray(0, n), at);
    at += n;
  }
  return out;
}
