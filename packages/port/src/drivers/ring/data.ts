// net_ring's data half: RX dequeues from this port's ring, TX enqueues into the peer's (a full ring takes fewer).
import type { PortDataDriver, PortDataEnv } from "../../driver.js";
import { PacketRing } from "../../ring.js";
import type { RingParams } from "./control.js";

export function openPortData(params: unknown, env: PortDataEnv): PortDataDriver {
  const p = params as RingParams;
  const rx: PacketRing[] = [];
  const tx: PacketRing[] = [];
  for (const q of env.servedRx) rx[q] = PacketRing.from(p.rx[q]!);
  for (const q of env.servedTx) tx[q] = PacketRing.from(p.tx[q]!);
  return {
    rxBurst: (queue, bufs, n) => rx[queue]!.dequeue(bufs, n),
    txBurst: (queue, bufs, n) => tx[queue]!.enqueue(bufs, n),
    close() {},
  };
}
