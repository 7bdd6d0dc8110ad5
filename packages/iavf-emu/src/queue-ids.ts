// How the NIC's queue pairs map onto emudev queues, doorbells and vectors: queue pair q is emudev queue 2q (the
// guest's RX ring, which the device fills) and 2q + 1 (its TX ring, which the device drains); each queue's doorbell
// has the queue's id (QRX_TAIL1(q) and QTX_TAIL1(q) in BAR0).

/** The emudev queue (and doorbell) id of RX queue `q`. */
export const rxQueueId = (q: number): number => 2 * q;
/** The emudev queue (and doorbell) id of TX queue `q`. */
export const txQueueId = (q: number): number => 2 * q + 1;
/** The queue pair and direction of emudev queue `id`. */
export const queueOf = (id: number): { readonly pair: number; readonly dir: "rx" | "tx" } => ({
  pair: Math.floor(id / 2),
  dir: id % 2 === 0 ? "rx" : "tx",
});
