// net_null's data half: RX hands out fresh buffers of `size` bytes, TX frees what it is given.
import type { PortDataDriver, PortDataEnv } from "../../driver.js";
import { MBUF_LEN, MBUF_META_WORDS } from "../../mbuf-pool.js";
import type { NullParams } from "./control.js";

export function openPortData(params: unknown, env: PortDataEnv): PortDataDriver {
  const { size, noRx } = params as NullParams;
  const pool = env.pool;
  const meta = pool.meta;
  return {
    rxBurst(queue, bufs, n) {
      if (noRx || n === 0) return 0;
      if (pool.alloc(bufs, n) === 0) {
        env.count("rxNombuf", queue, n);
        return 0;
      }
      for (let i = 0; i < n; i++) meta[bufs[i]! * MBUF_META_WORDS + MBUF_LEN] = size;
      return n;
    },
    txBurst(_queue, bufs, n) {
      pool.free(bufs, n);
      return n;
    },
    close() {},
  };
}
