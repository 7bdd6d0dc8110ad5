// Appending sent packets to a pcap file through a write buffer, flushed when full, when idle and at close.
import { closeSync, openSync, writeSync } from "node:fs";
import type { PortDataEnv } from "../../driver.js";
import { MBUF_FLAGS, MBUF_LEN, MBUF_META_WORDS, MBUF_OFF } from "../../mbuf-pool.js";
import { finishChecksums } from "../../offload.js";
import { PCAP_RECORD_HEADER_SIZE, writePcapRecordHeader } from "../../pcap-format.js";

const CHUNK = 256 * 1024;
const SNAPLEN = 65535;

export class PcapWriter {
  readonly #fd: number;
  readonly #env: PortDataEnv;
  readonly #buf = new Uint8Array(CHUNK);
  readonly #view = new DataView(this.#buf.buffer);
  #used = 0;

  constructor(path: string, env: PortDataEnv) {
    this.#fd = openSync(path, "a"); // the port's start wrote the header
    this.#env = env;
  }

  /** Writes every packet (time-stamped now) and frees its buffer. */
  txBurst(bufs: Uint32Array, n: number): number {
    const pool = this.#env.pool;
    const meta = pool.meta;
    const now = performance.timeOrigin + performance.now();
    const seconds = Math.floor(now / 1000);
    const micros = Math.floor((now - seconds * 1000) * 1000);
    for (let i = 0; i < n; i++) {
      const b = bufs[i]!;
      const len = meta[b * MBUF_META_WORDS + MBUF_LEN]!;
      const incl = Math.min(len, SNAPLEN);
      if (this.#used + PCAP_RECORD_HEADER_SIZE + incl > CHUNK) this.flush();
      writePcapRecordHeader(this.#view, this.#used, seconds, micros, incl, len);
      const at = b * pool.bufSize + meta[b * MBUF_META_WORDS + MBUF_OFF]!;
      // The file holds what the wire would: a checksum left to the port is finished first.
      const flags = meta[b * MBUF_META_WORDS + MBUF_FLAGS]!;
      if (flags !== 0) finishChecksums(pool.bytes, at, len, flags);
      this.#buf.set(pool.bytes.subarray(at, at + incl), this.#used + PCAP_RECORD_HEADER_SIZE);
      this.#used += PCAP_RECORD_HEADER_SIZE + incl;
    }
    pool.free(bufs, n);
    return n;
  }

  flush(): void {
    let off = 0;
    while (off < this.#used) off += writeSync(this.#fd, this.#buf, off, this.#used - off);
    this.#used = 0;
  }

  close(): void {
    try {
      this.flush();
    } finally {
      closeSync(this.#fd);
    }
  }
}
