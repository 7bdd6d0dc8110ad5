/**
 * `@emu/iavf-emu`: the emulated Intel Adaptive Virtual Function NIC, the emudev driver "emu_iavf". It is the device
 * and the PF side of the mailbox; the data path is an emudev provider's, which reads the NIC view with `iavf(dev)`.
 */
export { type IavfLink, type IavfNic, iavf, type RingHeads } from "./accessor.js";
export type { IavfConfig, VirtchnlLogEntry } from "./device.js";
export { iavfDriver } from "./driver.js";
export type { VectorResult } from "./interrupts.js";
export { DOORBELL_PAGES, IAVF_PCI_ID, MSIX_BAR, REGISTER_BAR } from "./layout.js";
export {
  decodeDeviceState,
  encodeDeviceState,
  type IavfDeviceState,
  isMigrationFormatError,
  MIGRATION_FORMAT_VERSION,
  MIGRATION_MAGIC,
  type MigratedQueue,
  MigrationFormatError,
} from "./migration-format.js";
export type {
  IavfCounters,
  IavfFilters,
  IavfMacFilter,
  IavfRss,
  IavfRxQueueConfig,
  IavfStatsDelta,
  IavfTxQueueConfig,
} from "./nic-state.js";
export { queueOf, rxQueueId, txQueueId } from "./queue-ids.js";
export { IAVF_CAPABILITIES } from "./virtchnl-pf.js";
