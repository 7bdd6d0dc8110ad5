// Reading a pcap file record by record into packet buffers, through a read buffer (one pread per 256 KiB).
import { closeSync, openSync, readSync } from "node:fs";
import type { PortDataEnv } from "../../driver.js";
import { MBUF_LEN, MBUF_META_WORDS, MBUF_OFF } from "../../mbuf-pool.js";
import { decodePcapHeader, PCAP_HEADER_SIZE, PCAP_RECORD_HEADER_SIZE } from "../../pcap-format.js";

const CHUNK = 256 * 1024;

export class PcapReader {
  readonly #fd: number;
  readonly #le: boolean;
  readonly #cursor: Float64Array;
  readonly #infinite: boolean;
  readonly #env: PortDataEnv;
  readonly #buf = new Uint8Array(CHUNK);
  readonly #view = new DataView(this.#buf.buffer);
  #bufStart = 0;
  #bufLen = 0;
  #eof = false;

  constructor(path: string, cursor: SharedArrayBuffer, infinite: boolean, env: PortDataEnv) {
    this.#fd = openSync(path, "r");
    this.#env = env;
    this.#cursor = new Float64Array(cursor);
    this.#infinite = infinite;
    try {
      const n = readSync(this.#fd, this.#buf, 0, CHUNK, 0);
      this.#bufLen = n;
      this.#le = decodePcapHeader(this.#buf.subarray(0, n)).littleEndian;
    } catch (e) {
      closeSync(this.#fd);
      throw e;
    }
  }

  /** Up to n packets into fresh buffers; ierrors for records that do not fit a buffer. */
  rxBurst(queue: number, bufs: Uint32Array, n: number): number {
    if (this.#eof || n === 0) return 0;
    const pool = this.#env.pool;
    let k = 0;
    let pos = this.#cursor[0]!;
    while (k < n) {
      if (!this.#have(pos, PCAP_RECORD_HEADER_SIZE)) {
        if (this.#infinite && pos > PCAP_HEADER_SIZE) {
          pos = PCAP_HEADER_SIZE;
          continue;
        }
        this.#eof = true;
        break;
      }
      const incl = this.#view.getUint32(pos - this.#bufStart + 8, this.#le);
      const end = pos + PCAP_RECORD_HEADER_SIZE + incl;
      if (incl > pool.dataRoom) {
        this.#env.count("ierrors", queue, 1);
        pos = end;
        continue;
      }
      if (!this.#have(pos, PCAP_RECORD_HEADER_SIZE + incl)) {
        this.#eof = true; // a record cut short: the end of what there is
        break;
      }
      if (pool.alloc(bufs, 1, k) === 0) {
        this.#env.count("rxNombuf", queue, 1);
        break;
      }
      const b = bufs[k]!;
      const at = pos - this.#bufStart + PCAP_RECORD_HEADER_SIZE;
      pool.bytes.set(this.#buf.subarray(at, at + incl), b * pool.bufSize + pool.meta[b * MBUF_META_WORDS + MBUF_OFF]!);
      pool.meta[b * MBUF_META_WORDS + MBUF_LEN] = incl;
      k++;
      pos = end;
    }
    this.#cursor[0] = pos;
    return k;
  }

  close(): void {
    closeSync(this.#fd);
  }

  /** Makes [pos, pos+len) present in the buffer (reading from pos if needed); false if the file ends first. */
  #have(pos: number, len: number): boolean {
    if (pos >= this.#bufStart && pos + len <= this.#bufStart + this.#bufLen) return true;
    if (len > CHUNK) return false;
    this.#bufStart = pos;
    this.#bufLen = readSync(this.#fd, this.#buf, 0, CHUNK, pos);
    return len <= this.#bufLen;
  }
}
