// net_tap's data half: one non-blocking read(2) per received frame straight into a packet buffer, one write(2) per
// sent frame straight from it (no copy in this process), through @emu/sys readFd/writeFd (EAGAIN is -1, no throw).
// With `offload=1` the virtio-net header before each frame is read into and written from the buffer's headroom.
import { readFd, writeFd } from "@emu/sys";
import type { PortDataDriver, PortDataEnv } from "../../driver.js";
import { MBUF_FLAGS, MBUF_LEN, MBUF_META_WORDS, MBUF_OFF, MBUF_TSO } from "../../mbuf-pool.js";
import { finishChecksums } from "../../offload.js";
import type { TapParams } from "./control.js";
import { putVnetHeader, takeVnetHeader, VNET_HDR, vnetTsoWord } from "./vnet-header.js";

export function openPortData(params: unknown, env: PortDataEnv): PortDataDriver {
  const { fds, offload, tso } = params as TapParams;
  const hdr = offload ? VNET_HDR : 0;
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
          got = readFd(fd, bytes, at - hdr, room + hdr);
        } catch {
          got = 0;
          env.count("ierrors", queue, 1);
        }
        if (got <= 0) {
          pool.freeOne(b);
          break;
        }
        const m = b * MBUF_META_WORDS;
        if (offload) {
          // (a frame that filled the buffer may have been cut short: not taken)
          const flags = got < hdr || got === room + hdr ? -1 : takeVnetHeader(bytes, at - hdr, got - hdr, tso);
          if (flags < 0) {
            pool.freeOne(b);
            env.count("ierrors", queue, 1);
            continue;
          }
          meta[m + MBUF_FLAGS] = flags;
          if (tso) meta[m + MBUF_TSO] = vnetTsoWord(bytes, at - hdr);
        }
        meta[m + MBUF_LEN] = got - hdr;
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
        const off = meta[m + MBUF_OFF]!;
        const at = b * pool.bufSize + off;
        const len = meta[m + MBUF_LEN]!;
        let sent: number;
        try {
          const flags = meta[m + MBUF_FLAGS]!;
          if (offload) {
            if (off < hdr) throw new Error("no headroom for the virtio-net header");
            putVnetHeader(bytes, at - hdr, len, flags, meta[m + MBUF_TSO]!);
          } else if (flags !== 0) finishChecksums(bytes, at, len, flags); // no offload: the kernel gets them finished
          sent = writeFd(fd, bytes, at - hdr, len + hdr);
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
