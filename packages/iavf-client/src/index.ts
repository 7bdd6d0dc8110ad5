/**
 * `@emu/iavf-client`: a guest-side Intel Adaptive Virtual Function driver written against the `VfioDevice` interface,
 * so it runs over vfio-user (`@emu/vfio-user-client`) or over a real VF or mediated device (`@emu/mdev-pci`).
 */
export {
  AdminQueue,
  type AdminQueueOptions,
  type AqCommand,
  type AqProgrammingOrder,
  type ArqMessage,
} from "./adminq.js";
export { Bar0, type BarMove, type DoorbellFile } from "./bar0.js";
export type { DataPath, RxFrame } from "./data-path.js";
export { RingState } from "./datapath/ring-state.js";
export { type RxBurstOut, RxQueue } from "./datapath/rx-queue.js";
export {
  type FileWindow,
  type OpenedRing,
  openRxRing,
  openTxRing,
  type RingShare,
  shareRing,
} from "./datapath/share.js";
export { type TailWriter, TxQueue } from "./datapath/tx-queue.js";
export { DmaPool, type DmaPoolOptions, type DmaRegion } from "./dma-pool.js";
export {
  type DriverState,
  IavfDriver,
  type IavfDriverEvents,
  type LinkStatus,
} from "./driver.js";
export { IavfClientError, type IavfClientErrorReason, isIavfClientError } from "./errors.js";
export { type CallOptions, Mailbox, type MailboxWait, type VirtchnlResult, virtchnlCommand } from "./mailbox.js";
export type { MigrateDevice } from "./migrate.js";
export { type IavfDriverOptions, LINUX_REQUESTED_CAPS } from "./options.js";
export type { QueuePair, Ring } from "./queues.js";
export type { ResetCause } from "./reset.js";
