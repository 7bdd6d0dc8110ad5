// net_pcap's data half: RX from the rx_pcap reader, TX to the tx_pcap writer (or dropped when there is none).
import type { PortDataDriver, PortDataEnv } from "../../driver.js";
import type { PcapParams } from "./control.js";
import { PcapReader } from "./reader.js";
import { PcapWriter } from "./writer.js";

export function openPortData(params: unknown, env: PortDataEnv): PortDataDriver {
  const p = params as PcapParams;
  const reader =
    p.rxPath !== "" && env.servedRx.length > 0 ? new PcapReader(p.rxPath, p.cursor, p.infinite, env) : null;
  let writer: PcapWriter | null = null;
  try {
    writer = p.txPath !== "" && env.servedTx.length > 0 ? new PcapWriter(p.txPath, env) : null;
  } catch (e) {
    reader?.close();
    throw e;
  }
  const pool = env.pool;
  return {
    rxBurst: (queue, bufs, n) => (reader === null ? 0 : reader.rxBurst(queue, bufs, n)),
    txBurst(_queue, bufs, n) {
      if (writer !== null) return writer.txBurst(bufs, n);
      pool.free(bufs, n);
      return n;
    },
    flush: () => writer?.flush(),
    close() {
      try {
        writer?.close();
      } finally {
        reader?.close();
      }
    },
  };
}
