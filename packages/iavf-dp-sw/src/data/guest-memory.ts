// Guest memory as a worker thread reaches it: its own mmaps of the fd-backed DMA mappings the main thread published,
// and a bounds-checked lookup. A mapping is reached only inside one window (at most 4 GiB); a range crossing its end
// (or starting outside every mapping, or above 2^53) is refused — the caller counts the lying descriptor.
import { type Mapping, mmapWindows } from "@emu/sys";
import {
  AT,
  DIRTY_PAGE,
  H_MAPPINGS,
  M_DIRTY_BIT,
  M_FD,
  M_FLAGS,
  M_IOVA_HI,
  M_IOVA_LO,
  M_OFF_HI,
  M_OFF_LO,
  M_SIZE_HI,
  M_SIZE_LO,
  MAX_MAPPINGS,
  wordsToNumber,
} from "../layout.js";

/** A copy of the published table: what the worker maps. */
export interface MappingEntry {
  readonly iova: number;
  readonly size: number;
  readonly offset: bigint;
  readonly fd: number;
  readonly writable: boolean;
  /** The dirty bitmap's bit of its first page (-1: not tracked). */
  readonly dirtyBit: number;
}

/** Reads the published table (call inside the sequence lock's read section). */
export function readMappings(ctl: Int32Array): MappingEntry[] {
  const n = Math.min(ctl[H_MAPPINGS]!, MAX_MAPPINGS);
  const out: MappingEntry[] = [];
  for (let i = 0; i < n; i++) {
    const m = AT.mapping(i);
    const iova = wordsToNumber(ctl[m + M_IOVA_LO]!, ctl[m + M_IOVA_HI]!);
    const size = wordsToNumber(ctl[m + M_SIZE_LO]!, ctl[m + M_SIZE_HI]!);
    if (iova < 0 || size <= 0 || iova + size > Number.MAX_SAFE_INTEGER) continue; // beyond 2^53: out of reach
    const offset = (BigInt(ctl[m + M_OFF_HI]! >>> 0) << 32n) | BigInt(ctl[m + M_OFF_LO]! >>> 0);
    const writable = (ctl[m + M_FLAGS]! & 2) !== 0;
    out.push({ iova, size, offset, fd: ctl[m + M_FD]!, writable, dirtyBit: ctl[m + M_DIRTY_BIT]! });
  }
  return out;
}

function sameTable(a: readonly MappingEntry[], b: readonly MappingEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.iova !== y.iova || x.size !== y.size || x.offset !== y.offset || x.fd !== y.fd || x.writable !== y.writable)
      return false;
    if (x.dirtyBit !== y.dirtyBit) return false;
  }
  return true;
}

export class GuestMemory {
  #table: MappingEntry[] = [];
  #maps: Mapping[] = [];
  /** Per window: first IOVA, end IOVA, bytes, writable. */
  #start: number[] = [];
  #end: number[] = [];
  #bytes: Uint8Array[] = [];
  #writable: boolean[] = [];
  /** Per window: the dirty bit of its first page (-1: not tracked). */
  #bit: number[] = [];
  #last = 0;
  /** The shared dirty bitmap, and whether DMA logging is on (writes then set their pages' bits). */
  #dirty: Int32Array = new Int32Array(0);
  logging = false;
  /** After a successful `find`: the window's bytes and the range's offset in them. */
  bytes: Uint8Array = new Uint8Array(0);
  offset = 0;
  /** Mappings that could not be mapped here (reported once per table). */
  failures = 0;

  /** The shared dirty bitmap the writes are recorded in while `logging`. */
  setDirtyBitmap(bitmap: Int32Array): void {
    this.#dirty = bitmap;
  }

  /** Maps the table if it differs from the current one (everything is mapped again: fd numbers may be reused). */
  apply(table: MappingEntry[], epochChanged: boolean): void {
    if (!epochChanged && sameTable(table, this.#table)) return;
    this.unmapAll();
    this.#table = table;
    this.failures = 0;
    for (const e of table) {
      let windows: Mapping[];
      try {
        windows = mmapWindows(e.fd, e.offset, e.size, e.writable ? "rw" : "r");
      } catch {
        this.failures++;
        continue;
      }
      let at = e.iova;
      for (const w of windows) {
        this.#bit.push(e.dirtyBit < 0 ? -1 : e.dirtyBit + (at - e.iova) / DIRTY_PAGE);
        this.#maps.push(w);
        this.#start.push(at);
        this.#end.push(at + w.length);
        this.#bytes.push(new Uint8Array(w.buffer));
        this.#writable.push(e.writable);
        at += w.length;
      }
    }
  }

  /** Drops every mapping (their views read empty afterwards). */
  unmapAll(): void {
    for (const m of this.#maps) m.unmap();
    this.#maps = [];
    this.#start = [];
    this.#end = [];
    this.#bytes = [];
    this.#writable = [];
    this.#bit = [];
    this.#table = [];
    this.#last = 0;
    this.bytes = new Uint8Array(0);
  }

  /**
   * Finds [iova, iova + length) inside one window (writable when `write`); sets `bytes` and `offset`. False for an
   * address or range the guest does not own (nothing is touched).
   */
  find(iova: number, length: number, write: boolean): boolean {
    const end = iova + length;
    let i = this.#last;
    if (!(iova >= this.#start[i]! && end <= this.#end[i]!)) {
      i = -1;
      for (let k = 0; k < this.#start.length; k++)
        if (iova >= this.#start[k]! && end <= this.#end[k]!) {
          i = k;
          break;
        }
      if (i < 0) return false;
      this.#last = i;
    }
    if (write && !this.#writable[i]) return false;
    this.bytes = this.#bytes[i]!;
    this.offset = iova - this.#start[i]!;
    this.window = i;
    return true;
  }

  /** After a successful `find`: the window it found (for `written`). */
  window = 0;

  /** Records `length` bytes written at `offset` of window `window` in the dirty bitmap (call only while `logging`). */
  written(window: number, offset: number, length: number): void {
    const b0 = this.#bit[window] ?? -1;
    if (b0 < 0) return; // not tracked: the main thread reports the whole mapping
    const d = this.#dirty;
    const last = b0 + Math.floor((offset + length - 1) / DIRTY_PAGE);
    for (let b = b0 + Math.floor(offset / DIRTY_PAGE); b <= last; b++) {
      const w = b >>> 5;
      const m = 1 << (b & 31);
      if ((d[w]! & m) === 0) Atomics.or(d, w, m);
    }
  }
}
