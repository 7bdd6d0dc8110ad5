/** Counters of one connection (its main and twin endpoints add to the same object). */
export interface TransportStats {
  /** Messages handed to a socket (several may share one sendmsg). */
  messagesSent: number;
  /** sendmsg calls made. */
  sendCalls: number;
  /** Frames received, in place or through the parser. */
  framesReceived: number;
}

/** Fresh counters, all 0. */
export function createStats(): TransportStats {
  return { messagesSent: 0, sendCalls: 0, framesReceived: 0 };
}
