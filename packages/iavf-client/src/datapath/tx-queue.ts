/**
 * A TX ring as the driver runs it (Linux's `iavf_tx_map` and `iavf_clean_tx_irq`, one buffer per packet): each packet
 * is a data descriptor with its buffer's IOVA, EOP | RS | ICRC and its length; the tail register is written once per
 * burst; a descriptor is done when the device has rewritten its DTYPE to DESC_DONE (0xF), and its buffer is then
 * handed back. No allocation on the burst path.
 */
import { isTxDoneWord, LITTLE_ENDIAN_HOST, TX_DESCRIPTOR_SIZE, TxCmd, writeTxDataWords } from "@emu/iavf-common";
import { IavfClientError } from "../errors.js";
import type { RingState } from "./ring-state.js";

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
    while (ntc !== ntu && at + n < out.length && isTxDoneWord(w[ntc * WORDS + 2]!)) {
      out[at + n++] = s.ids[ntc] ?? 0;
      ntc = ntc + 1 === s.size ? 0 : ntc + 1;
    }
    s.ntc = ntc;
    if (n > 0) s.save();
    return n;
  }
}
