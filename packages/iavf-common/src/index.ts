/**
 * `@emu/iavf-common`: the Intel Adaptive Virtual Function interface as pure codecs, shared by the emulated device,
 * the data-path back-end and the guest-side driver. No I/O.
 */
export {
  AQ_BUFFER_SIZE,
  AQ_DESCRIPTOR_SIZE,
  AQ_LARGE_BUF,
  AqDescOffset,
  type AqDescriptor,
  AqFlag,
  AqOpcode,
  AqReturnCode,
  aqBufferAddress,
  decodeAqDescriptor,
  encodeAqDescriptor,
  readAqDescriptor,
  writeAqDescriptor,
} from "./adminq/descriptor.js";
export {
  isRxDescriptorDone,
  RX_DESCRIPTOR_SIZE,
  RX_MAX_LENGTH,
  RxError,
  RxPtype,
  RxStatus,
  rxErrors,
  rxHeaderAddr,
  rxL2Tag1,
  rxLength,
  rxPacketAddr,
  rxPtype,
  rxRssHash,
  rxStatus,
  rxWords,
  rxWritebackWord,
  writeRxReadDescriptor,
  writeRxReadWords,
  writeRxWriteback,
  writeRxWritebackBody,
} from "./descriptors/rx.js";
export {
  isTxDescriptorDone,
  isTxDoneWord,
  TX_DESCRIPTOR_SIZE,
  TX_MAX_BUF_SIZE,
  TxCmd,
  TxCtxCmd,
  TxDtype,
  txBufferAddr,
  txBufSize,
  txCmd,
  txCtxCmd,
  txCtxL2Tag2,
  txCtxMss,
  txCtxTsoLen,
  txCtxTsoLenOfWords,
  txDtype,
  txL2Tag1,
  txOffset,
  txOffsetField,
  txOffsetIpLen,
  txOffsetL4Len,
  txOffsetMacLen,
  txOffsetOfWords,
  writeTxContextDescriptor,
  writeTxContextWords,
  writeTxDataDescriptor,
  writeTxDataWords,
  writeTxDescriptorDone,
} from "./descriptors/tx.js";
export { IavfError, type IavfErrorReason, isIavfError, type Result } from "./errors.js";
export { LITTLE_ENDIAN_HOST } from "./internal/bytes.js";
export { formatMac } from "./mac.js";
export {
  AQ_HEAD_TAIL_MASK,
  AqLen,
  BAR0_SIZE,
  DynCtl,
  Icr0,
  MAX_QUEUE_PAIRS,
  MAX_VECTORS,
  qrxTail,
  qtxTail,
  Reg,
  RSS_REGISTER_RANGE,
  VFGEN_RSTAT_VFR_STATE_MASK,
  VfrState,
  vfintDynCtln1,
  vfintItr01,
  vfintItrn1,
  vfqfHena,
  vfqfHkey,
  vfqfHlut,
} from "./registers.js";
export { BROADCAST_MAC, macNumber, type RxFilterTable, rxFilterAccepts } from "./rx-filter.js";
export {
  PF_MINIMAL_CAPS,
  RSS_KEY_SIZE,
  RSS_LUT_SIZE,
  VF_BASE_MODE_OFFLOADS,
  VF_V10_ASSUMED_CAPS,
  VfCap,
  vfCapNames,
} from "./virtchnl/capabilities.js";
export {
  type Ack,
  decodeVirtchnl,
  type EncodedVirtchnl,
  encodeVirtchnl,
  type ResetVf,
  type Unknown,
  type VirtchnlDirection,
  type VirtchnlKind,
  type VirtchnlMessage,
  type VirtchnlReply,
  type VirtchnlRequest,
} from "./virtchnl/message.js";
export type { AddEthAddr, DelEthAddr, EtherAddr } from "./virtchnl/messages/eth-addr.js";
export { EthAddrType } from "./virtchnl/messages/eth-addr.js";
export {
  type Event,
  LinkSpeed,
  legacyLinkSpeedToMbps,
  mbpsToLegacyLinkSpeed,
  type PfEvent,
  PfEventCode,
  PfEventSeverity,
} from "./virtchnl/messages/events.js";
export type { ConfigIrqMap, VectorMap } from "./virtchnl/messages/irq-map.js";
export { type ConfigPromiscuousMode, PromiscFlag } from "./virtchnl/messages/promisc.js";
export type {
  GetSupportedRxdidsReply,
  GetSupportedRxdidsRequest,
  RequestQueues,
  RequestQueuesReply,
} from "./virtchnl/messages/queue-resources.js";
export type { DisableQueues, EnableQueues, GetStatsRequest } from "./virtchnl/messages/queue-select.js";
export {
  type ConfigRssKey,
  type ConfigRssLut,
  DEFAULT_RSS_HENA,
  type GetMaxRssQregionReply,
  type GetMaxRssQregionRequest,
  type GetRssHenaCapsReply,
  type GetRssHenaCapsRequest,
  RssPctype,
  type SetRssHena,
} from "./virtchnl/messages/rss.js";
export { ETH_STATS_FIELDS, type EthStats, type GetStatsReply } from "./virtchnl/messages/stats.js";
export type { VersionReply, VersionRequest } from "./virtchnl/messages/version.js";
export {
  type GetVfResourcesReply,
  type GetVfResourcesRequest,
  type VsiResource,
  VsiType,
} from "./virtchnl/messages/vf-resources.js";
export type { AddVlan, DelVlan, DisableVlanStripping, EnableVlanStripping } from "./virtchnl/messages/vlan.js";
export type {
  ConfigRxQueue,
  ConfigTxQueue,
  ConfigVsiQueues,
  QueuePairInfo,
  RxQueueInfo,
  TxQueueInfo,
} from "./virtchnl/messages/vsi-queues.js";
export {
  VIRTCHNL_VERSION_MAJOR,
  VIRTCHNL_VERSION_MINOR,
  VIRTCHNL_VERSION_MINOR_NO_VF_CAPS,
  VirtchnlOp,
  virtchnlOpName,
} from "./virtchnl/opcodes.js";
export { VirtchnlStatus, virtchnlStatusName } from "./virtchnl/status.js";
