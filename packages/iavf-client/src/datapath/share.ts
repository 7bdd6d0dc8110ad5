/**
 * A ring handed to another thread of the process: plain, structured-cloneable data (fd numbers are process-wide, the
 * software state is a SharedArrayBuffer), from which the thread maps the ring memory and the doorbell page itself and
 * runs the ring. Nothing of it goes through the thread that owns the device.
 */
import { type Mapping, mmap, pageSize } from "@emu/sys";
import { IavfClientError } from "../errors.js";
import type { QueuePair, Ring } from "../queues.js";
import { type DoorbellWindow, RingState } from "./ring-state.js";
import { RxQueue } from "./rx-queue.js";
import { TxQueue } from "./tx-queue.js";

/** `length` bytes of file `fd` from `offset` (page aligned); what is wanted starts `at` bytes in. */
export type FileWindow = DoorbellWindow;

export interface RingShare {
  readonly kind: "tx" | "rx";
  readonly queue: number;
  readonly size: number;
  readonly descriptorSize: number;
  readonly ring: FileWindow;
  readonly doorbell: FileWindow;
  readonly state: SharedArrayBuffer;
}

export function window(fd: number, offset: bigint, length: number, at: number): FileWindow {
  const page = BigInt(pageSize);
  const start = (offset / page) * page;
  const skip = Number(offset - start);
  return { fd, offset: Number(start), length: Math.ceil((skip + at + length) / pageSize) * pageSize, at: skip + at };
}

/**
 * Describes `ring` (with its software state) for another thread. Needs the files behind the ring memory and the
 * doorbell: a device that does not say them, or a doorbell page that is not mapped, is refused (`Unsupported`).
 */
export function shareRing(ring: Ring, state: RingState): RingShare {
  const { file, doorbellFile: db } = ring;
  if (file === undefined)
    throw new IavfClientError(
      "Unsupported",
      `${ring.kind} ring ${ring.queue}: the device gives no file for its DMA memory`,
    );
  if (db === undefined)
    throw new IavfClientError(
      "Unsupported",
      `${ring.kind} ring ${ring.queue}: the tail register is not in a mapped doorbell page (mapDoorbells off, or the device offers none)`,
    );
  return {
    kind: ring.kind,
    queue: ring.queue,
    size: ring.size,
    descriptorSize: ring.descriptorSize,
    ring: window(file.fd, file.offset, ring.size * ring.descriptorSize, 0),
    doorbell: window(db.fd, db.offset, 4, db.at),
    state: state.buffer,
  };
}

/** A shared ring opened in this thread: its queue object and the mappings to release. */
export interface OpenedRing<Q> {
  readonly queue: Q;
  close(): void;
}

function unmapAll(maps: readonly Mapping[]): void {
  for (const m of maps) m.unmap();
}

function mapWindow(w: FileWindow): Mapping {
  return mmap(w.fd, w.offset, w.length, "rw");
}

function open(share: RingShare): { desc: DataView; tail: (v: number) => void; state: RingState; maps: Mapping[] } {
  const maps: Mapping[] = [];
  try {
    const ring = mapWindow(share.ring);
    maps.push(ring);
    const state = RingState.attach(share.state, share.size);
    const desc = new DataView(ring.buffer, share.ring.at, share.size * share.descriptorSize);
    let epoch = state.doorbellEpoch;
    let bell = mapWindow(epoch === 0 ? share.doorbell : state.doorbellWindow());
    let word = new Uint32Array(bell.buffer, (epoch === 0 ? share.doorbell : state.doorbellWindow()).at, 1);
    maps.push(bell);
    const tail = (v: number) => {
      if (state.doorbellEpoch !== epoch) {
        // The device moved (a migration): its doorbell page is another file now.
        epoch = state.doorbellEpoch;
        const w = state.doorbellWindow();
        const next = mapWindow(w);
        maps.splice(maps.indexOf(bell), 1, next);
        bell.unmap();
        bell = next;
        word = new Uint32Array(bell.buffer, w.at, 1);
      }
      Atomics.store(word, 0, v);
    };
    return { desc, tail, state, maps };
  } catch (e) {
    for (const m of maps) m.unmap();
    throw new IavfClientError("Unsupported", `cannot map ${share.kind} ring ${share.queue}: ${String(e)}`, {
      cause: e,
    });
  }
}

/** Maps a shared TX ring in this thread. */
export function openTxRing(share: RingShare): OpenedRing<TxQueue> {
  const { desc, tail, state, maps } = open(share);
  return { queue: new TxQueue(desc, state, tail), close: () => unmapAll(maps) };
}

/** Maps a shared RX ring in this thread. */
export function openRxRing(share: RingShare): OpenedRing<RxQueue> {
  const { desc, tail, state, maps } = open(share);
  return { queue: new RxQueue(desc, state, tail), close: () => unmapAll(maps) };
}

/** A queue pair handed to worker threads: both rings and their software states. */
export interface SharedPair {
  readonly tx: RingShare;
  readonly rx: RingShare;
  readonly txState: RingState;
  readonly rxState: RingState;
}

/** Fresh software states for `pairs` and their descriptions for other threads. */
export function sharePairs(pairs: readonly QueuePair[]): SharedPair[] {
  return pairs.map((p) => {
    const txState = RingState.create(p.tx.size);
    const rxState = RingState.create(p.rx.size);
    return { tx: shareRing(p.tx, txState), rx: shareRing(p.rx, rxState), txState, rxState };
  });
}
