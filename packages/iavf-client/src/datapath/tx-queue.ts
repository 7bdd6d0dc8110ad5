/**
 * A TX ring as the driver runs it (Linux's `iavf_tx_map` and `iavf_clean_tx_irq`, one buffer per packet): each packet
 * is a data descriptor with its buffer's IOVA, EOP | RS | ICRC and its length; the tail register is written once per
 * burst; a descriptor is done when the device has rewritten its DTYPE to DESC_DONE (0xF), and its buffer is then
 * handed back. A packet for TCP segmentation (TSO) is a context descriptor (CMD.TSO, TSO_LEN, MSS) and its buffer cut
 * into data descriptors of at most 12 KiB (as Linux's IAVF_MAX_DATA_PER_TXD_ALIGNED), RS on each, the buffer handed
 * back with the last. No allocation on the burst path.
 */
import {
  isTxDoneWord,
  LITTLE_ENDIAN_HOST,
  TX_DESCRIPTOR_SIZE,
  TxCmd,
  TxCtxCmd,
  TxDtype,
  writeTxContextWords,
  writeTxDataWords,
} from "@emu/iavf-common";
import { IavfClientError } from "../errors.js";
import { NO_BUFFER, type RingState } from "./ring-state.js";

/** Writes a queue's tail register. */
export type TailWriter = (value: number) => void;

/**
 * A ring's descriptors as host-order 32-bit words. Empty when the memory behind `desc` is gone (the device closed):
 * the control half builds queues at stop only to hand their buffers back, and an empty ring reads no descriptor done.
 */
export function ringWords(desc: DataView): Uint32Array {
  if (!LITTLE_ENDIAN_HOST)
    throw new IavfClientError("Unsupported", "the rings are run as 32-bit words; this host is big-endian");
  try {
    return new Uint32Array(desc.buffer, desc.byteOffset, desc.byteLength >>> 2);
  } catch {
    return new Uint32Array(0);
  }
}

/** Linux's IAVF_TXD_CMD plus the CRC insertion every iavf driver asks for. */
const CMD = TxCmd.EOP | TxCmd.RS | TxCmd.ICRC;
/** A descriptor's 32-bit words; word 2 is QW1 low (DTYPE). */
const WORDS = TX_DESCRIPTOR_SIZE / 4;
/** The most bytes a data descriptor of a cut packet carries (a multiple of 4 KiB, below TX_BUF_SZ's 16383). */
const TX_CHUNK = 12 * 1024;

/** Descriptors a packet of `length` bytes takes (TSO: with its context descriptor). */
export const descriptorsFor = (length: number, tso: boolean): number =>
  (tso ? 1 : 0) + Math.max(1, Math.ceil(length / TX_CHUNK));

export class TxQueue {
  /** The ring as host-order 32-bit words (several times faster than the DataView on the burst path). */
  private readonly words: Uint32Array;

  constructor(
    desc: DataView,
    readonly state: RingState,
    private readonly tail: TailWriter,
  ) {
    this.words = ringWords(desc);
    state.load(); // this thread takes the ring over where the last one left it
  }

  /** Descriptors free for packets now (call `clean` first to reclaim finished ones). */
  get free(): number {
    return this.state.free;
  }

  /**
   * Puts one packet on the ring (the caller checked `free`): buffer `id` at `iova`, `length` bytes; `cmd` adds
   * offload requests (TxCmd IIPT and L4T bits) with their `offset` field.
   */
  post(id: number, iova: number, length: number, cmd = 0, offset = 0): void {
    const s = this.state;
    const slot = s.ntu;
    writeTxDataWords(this.words, slot * WORDS, iova, CMD | cmd, length, offset);
    s.ids[slot] = id;
    s.iovas[slot] = iova;
    s.ntu = slot + 1 === s.size ? 0 : slot + 1;
  }

  /**
   * Puts a TSO packet on the ring (the caller checked `free` against `descriptorsFor`): a context descriptor asking
   * for segments of `mss` payload bytes after `header` bytes of headers, then the buffer in chunks; `cmd` and
   * `offset` as for `post` (the checksums each segment needs).
   */
  postTso(id: number, iova: number, length: number, header: number, mss: number, cmd: number, offset: number): void {
    const s = this.state;
    let slot = s.ntu;
    const w = this.words;
    writeTxContextWords(w, slot * WORDS, TxCtxCmd.TSO, length - header, mss);
    s.ids[slot] = NO_BUFFER;
    slot = slot + 1 === s.size ? 0 : slot + 1;
    for (let done = 0; done < length; done += TX_CHUNK) {
      const n = Math.min(TX_CHUNK, length - done);
      const last = done + n >= length;
      // RS on each: the device marks each done, and the ring is cleaned descriptor by descriptor.
      writeTxDataWords(w, slot * WORDS, iova + done, (last ? CMD : TxCmd.RS | TxCmd.ICRC) | cmd, n, offset);
      s.ids[slot] = last ? id : NO_BUFFER;
      s.iovas[slot] = iova + done;
      slot = slot + 1 === s.size ? 0 : slot + 1;
    }
    s.ntu = slot;
  }

  /** Tells the device of the packets posted since the last kick (the tail write). */
  kick(): void {
    this.state.save();
    this.tail(this.state.ntu);
  }

  /** Reclaims the packets the device has sent: their buffer ids go to out[at..], the count is returned. */
  clean(out: Uint32Array, at = 0): number {
    const s = this.state;
    const w = this.words;
    let ntc = s.ntc;
    const ntu = s.ntu;
    let n = 0;
    while (ntc !== ntu && at + n < out.length) {
      const w2 = w[ntc * WORDS + 2]!;
      const next = ntc + 1 === s.size ? 0 : ntc + 1;
      if ((w2 & 0xf) === TxDtype.CONTEXT) {
        // A context descriptor is never marked done: it is, once the data descriptor after it is.
        if (next === ntu || !isTxDoneWord(w[next * WORDS + 2]!)) break;
        ntc = next;
        continue;
      }
      if (!isTxDoneWord(w2)) break;
      const id = s.ids[ntc] ?? 0;
      if (id !== NO_BUFFER) out[at + n++] = id;
      ntc = next;
    }
    s.ntc = ntc;
    if (n > 0) s.save();
    return n;
  }
}
