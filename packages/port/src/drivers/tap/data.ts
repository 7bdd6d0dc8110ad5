// net_tap's data half: one non-blocking read(2) per received frame straight into a packet buffer, one write(2) per
// sent frame straight from it (no copy in this process), through @emu/sys readFd/writeFd (EAGAIN is -1, no throw).
import { readFd, writeFd } from "@emu/sys";
import type { PortDataDriver, PortDataEnv } from "../../driver.js";
import { MBUF_LEN, MBUF_META_WORDS, MBUF_OFF } from "../../mbuf-pool.js";
import type { TapParams } from "./control.js";

export function openPortData(params: unknown, env: PortDataEnv): PortDataDriver {
  const { fds } = params as TapParams;
  const pool = env.pool;
  const meta = pool.meta;
  const bytes = pool.bytes;
  const room = pool.dataRoom;
  const spare = new Uint32Array(1);
  return {
    rxBurst(queue, bufs, n) {
      const fd = fds[queue]!;
      let k = 0;
      while (k < n) {
        if (pool.alloc(spare, 1) === 0) {
          env.count("rxNombuf", queue, 1);
          break;
        }
        const b = spare[0]!;
        const at = b * pool.bufSize + meta[b * MBUF_META_WORDS + MBUF_OFF]!;
        let got: number;
        try {
          got = readFd(fd, bytes, at, room);
        } catch {
          got = 0;
          env.count("ierrors", queue, 1);
        }
        if (got <= 0) {
          pool.freeOne(b);
          break;
        }
        meta[b * MBUF_META_WORDS + MBUF_LEN] = got;
        bufs[k++] = b;
      }
      return k;
    },
    txBurst(queue, bufs, n) {
      const fd = fds[queue]!;
      let k = 0;
      for (; k < n; k++) {
        const b = bufs[k]!;
        const m = b * MBUF_META_WORDS;
        let sent: number;
        try {
          sent = writeFd(fd, bytes, b * pool.bufSize + meta[m + MBUF_OFF]!, meta[m + MBUF_LEN]!);
        } catch {
          env.count("oerrors", queue, 1); // e.g. EIO: this frame and the rest stay the caller's (it drops them)
          break;
        }
        if (sent < 0) break; // the kernel takes no more now: the rest stay the caller's
      }
      pool.free(bufs, k);
      return k;
    },
    close() {},
  };
}
