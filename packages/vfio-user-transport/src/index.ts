/**
 * @emu/vfio-user-transport — the socket side of a vfio-user endpoint, written once for the server and the client.
 *
 * - `Endpoint`: one socket with its frame parser and its send arena; the in-place receive loop; backpressure (commands
 *   wait while the peer does not read what we send).
 * - `Outbox`: sends batched into one sendmsg (16 KiB copy limit, fds alone, 1 MiB flush, batches, end of tick).
 * - `createTwin` / `adoptTwin`: the twin socket of each side.
 * - `Outstanding`: our requests matched to their replies by msg_id and command.
 */

export {
  Endpoint,
  type EndpointHandlers,
  type EndpointOptions,
  MAX_WAITING_BYTES,
  MAX_WAITING_BYTES_REPLY_DUE,
  MAX_WAITING_COMMANDS,
  MAX_WAITING_COMMANDS_REPLY_DUE,
} from "./endpoint.js";
export {
  ARENA_COPY_MAX,
  ARENA_FLUSH_AT,
  type FlushTiming,
  Outbox,
  type OutboxOptions,
  SEND_QUEUE_HIGH,
} from "./outbox.js";
export { Outstanding, type OutstandingRequest } from "./outstanding.js";
export { createStats, type TransportStats } from "./stats.js";
export { adoptTwin, createTwin } from "./twin.js";
