/**
 * A TX ring as the driver runs it (Linux's `iavf_tx_map` and `iavf_clean_tx_irq`, one buffer per packet): each packet
 * is a data descriptor with its buffer's IOVA, EOP | RS | ICRC and its length; the tail register is written once per
 * burst; a descriptor is done when the device has rewritten its DTYPE to DESC_DONE (0xF), and its buffer is then
 * handed back. No allocation on the burst path.
 */
import { isTxDescriptorDone, TX_DESCRIPTOR_SIZE, TxCmd, writeTxDataDescriptor } from "@emu/iavf-common";
import type { RingState } from "./ring-state.js";

/** Writes a queue's tail register. */
export type TailWriter = (value: number) => void;

/** Linux's IAVF_TXD_CMD plus the CRC insertion every iavf driver asks for. */
const CMD = TxCmd.EOP | TxCmd.RS | TxCmd.ICRC;

export class TxQueue {
  constructor(
    private readonly desc: DataView,
    readonly state: RingState,
    private readonly tail: TailWriter,
  ) {
    state.load(); // this thread takes the ring over where the last one left it
  }

  /** Descriptors free for packets now (call `clean` first to reclaim finished ones). */
  get free(): number {
    return this.state.free;
  }

  /** Puts one packet on the ring (the caller checked `free`): buffer `id` at `iova`, `length` bytes. */
  post(id: number, iova: number, length: number): void {
    const s = this.state;
    const slot = s.ntu;
    writeTxDataDescriptor(this.desc, slot * TX_DESCRIPTOR_SIZE, iova, CMD, length);
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
    const desc = this.desc;
    let ntc = s.ntc;
    const ntu = s.ntu;
    let n = 0;
    while (ntc !== ntu && at + n < out.length && isTxDescriptorDone(desc, ntc * TX_DESCRIPTOR_SIZE)) {
      out[at + n++] = s.ids[ntc] ?? 0;
      ntc = ntc + 1 === s.size ? 0 : ntc + 1;
    }
    s.ntc = ntc;
    if (n > 0) s.save();
    return n;
  }
}
