/**
 * @emu/vfio-user-proto — pure codecs for the vfio-user protocol and the kernel VFIO structs it reuses.
 *
 * Decoding is zero-copy: byte fields of decoded values are views of the input. No I/O, no Node-only types.
 */

// argsz convention, dirty bitmaps
export {
  argszRetry,
  isTruncatedReply,
} from "./argsz.js";
// 1 VERSION (+ capabilities JSON)
export {
  CapabilityDefaults,
  type EffectiveCapabilities,
  effectiveCapabilities,
  formatCapabilitiesJson,
  type MigrationCapability,
  parseCapabilitiesJson,
  type TwinSocketCapability,
  type VersionCapabilities,
} from "./capabilities.js";
// Header and commands
export {
  Command,
  type CommandName,
  commandName,
  isKnownCommand,
} from "./command.js";
export {
  dirtyBitmapSize,
  isPageDirty,
  markPageDirty,
} from "./dirty-bitmap.js";
// Errors and results
export {
  isProtoError,
  ProtoError,
  type ProtoErrorReason,
  type Result,
  tryDecode,
} from "./errors.js";

// Framing

export {
  DEFAULT_MAX_MESSAGE_SIZE,
  type Frame,
  FrameParser,
  maxMessageSizeFor,
} from "./frame-parser.js";
export {
  decodeHeader,
  encodeHeader,
  formatHeader,
  HEADER_SIZE,
  type Header,
  HeaderFlags,
  isErrorReply,
  isNoReply,
  isReply,
} from "./header.js";
export type { Body } from "./internal/codec.js";
// Typed messages, whole frames
export {
  type DecodedMessage,
  decodeBody,
  decodeMessage,
  type EncodeOptions,
  type ErrorReply,
  encodeMessage,
  isReplyMessage,
  type Message,
  type MessageKind,
  type MessageOf,
  messageCommand,
  type RequestMessage,
  type SuccessReply,
  type UnknownMessage,
} from "./message.js";
// 16 DEVICE_FEATURE
export {
  DEVICE_FEATURE_HEAD_SIZE,
  type DeviceFeatureData,
  type DeviceFeatureReply,
  type DeviceFeatureRequest,
  type DmaLoggingRange,
  decodeDeviceFeatureReply,
  decodeDeviceFeatureRequest,
  deviceFeatureDataSize,
  encodeDeviceFeatureReply,
  encodeDeviceFeatureRequest,
} from "./messages/device-feature.js";
// 4 DEVICE_GET_INFO
export {
  type DeviceGetInfoReply,
  type DeviceGetInfoRequest,
  decodeDeviceGetInfoReply,
  decodeDeviceGetInfoRequest,
  encodeDeviceGetInfoReply,
  encodeDeviceGetInfoRequest,
} from "./messages/device-get-info.js";
// 7 DEVICE_GET_IRQ_INFO
export {
  type DeviceGetIrqInfoReply,
  type DeviceGetIrqInfoRequest,
  decodeDeviceGetIrqInfoReply,
  decodeDeviceGetIrqInfoRequest,
  encodeDeviceGetIrqInfoReply,
  encodeDeviceGetIrqInfoRequest,
} from "./messages/device-get-irq-info.js";
// 5 DEVICE_GET_REGION_INFO
export {
  type DeviceGetRegionInfoReply,
  type DeviceGetRegionInfoRequest,
  decodeDeviceGetRegionInfoReply,
  decodeDeviceGetRegionInfoRequest,
  encodeDeviceGetRegionInfoReply,
  encodeDeviceGetRegionInfoRequest,
} from "./messages/device-get-region-info.js";
// 6 DEVICE_GET_REGION_IO_FDS
export {
  type DeviceGetRegionIoFdsReply,
  type DeviceGetRegionIoFdsRequest,
  decodeDeviceGetRegionIoFdsReply,
  decodeDeviceGetRegionIoFdsRequest,
  encodeDeviceGetRegionIoFdsReply,
  encodeDeviceGetRegionIoFdsRequest,
  IoeventfdFlags,
  IoFdType,
  IoregionfdFlags,
  REGION_IO_FDS_HEAD_SIZE,
  regionIoFdsSize,
  type SubRegionEntrySize,
  type SubRegionIoFd,
  SubRegionLayout,
} from "./messages/device-get-region-io-fds.js";
// 13 DEVICE_RESET
export {
  type DeviceResetReply,
  type DeviceResetRequest,
  decodeDeviceResetReply,
  decodeDeviceResetRequest,
  encodeDeviceResetReply,
  encodeDeviceResetRequest,
} from "./messages/device-reset.js";
// 8 DEVICE_SET_IRQS
export {
  type DeviceSetIrqsReply,
  type DeviceSetIrqsRequest,
  decodeDeviceSetIrqsReply,
  decodeDeviceSetIrqsRequest,
  encodeDeviceSetIrqsReply,
  encodeDeviceSetIrqsRequest,
} from "./messages/device-set-irqs.js";
// 11 DMA_READ, 12 DMA_WRITE
export {
  DMA_ACCESS_SIZE,
  type DmaLayoutOptions,
  type DmaMessageLayout,
  type DmaReadReply,
  type DmaReadRequest,
  type DmaWriteReply,
  type DmaWriteRequest,
  decodeDmaReadReply,
  decodeDmaReadRequest,
  decodeDmaWriteReply,
  decodeDmaWriteRequest,
  encodeDmaReadReply,
  encodeDmaReadRequest,
  encodeDmaWriteReply,
  encodeDmaWriteRequest,
} from "./messages/dma-access.js";
// 2 DMA_MAP
export {
  DMA_MAP_SIZE,
  DmaMapFlags,
  type DmaMapReply,
  type DmaMapRequest,
  decodeDmaMapReply,
  decodeDmaMapRequest,
  encodeDmaMapReply,
  encodeDmaMapRequest,
} from "./messages/dma-map.js";
// 3 DMA_UNMAP
export {
  type DirtyBitmap,
  type DirtyBitmapHeader,
  DMA_UNMAP_SIZE,
  DmaUnmapFlags,
  type DmaUnmapReply,
  type DmaUnmapRequest,
  decodeDmaUnmapReply,
  decodeDmaUnmapRequest,
  encodeDmaUnmapReply,
  encodeDmaUnmapRequest,
} from "./messages/dma-unmap.js";
// 17 MIG_DATA_READ, 18 MIG_DATA_WRITE
export {
  decodeMigDataReadReply,
  decodeMigDataReadRequest,
  decodeMigDataWriteReply,
  decodeMigDataWriteRequest,
  encodeMigDataReadReply,
  encodeMigDataReadRequest,
  encodeMigDataWriteReply,
  encodeMigDataWriteRequest,
  MIG_DATA_HEAD_SIZE,
  type MigDataReadReply,
  type MigDataReadRequest,
  type MigDataWriteReply,
  type MigDataWriteRequest,
} from "./messages/mig-data.js";
// 9 REGION_READ, 10 REGION_WRITE
export {
  decodeRegionReadReply,
  decodeRegionReadRequest,
  decodeRegionWriteReply,
  decodeRegionWriteRequest,
  encodeRegionReadReply,
  encodeRegionReadRequest,
  encodeRegionWriteReply,
  encodeRegionWriteRequest,
  REGION_ACCESS_SIZE,
  type RegionReadReply,
  type RegionReadRequest,
  type RegionWriteReply,
  type RegionWriteRequest,
} from "./messages/region-access.js";
// 15 REGION_WRITE_MULTI
export {
  decodeRegionWriteMultiReply,
  decodeRegionWriteMultiRequest,
  encodeRegionWriteMultiReply,
  encodeRegionWriteMultiRequest,
  REGION_WRITE_MULTI_ENTRY_SIZE,
  REGION_WRITE_MULTI_MAX_DATA,
  REGION_WRITE_MULTI_QEMU_MAX,
  type RegionWriteMultiEntry,
  type RegionWriteMultiReply,
  type RegionWriteMultiRequest,
} from "./messages/region-write-multi.js";
export {
  decodeVersionReply,
  decodeVersionRequest,
  encodeVersionReply,
  encodeVersionRequest,
  type VersionBody,
  type VersionReply,
  type VersionRequest,
} from "./messages/version.js";
export {
  DeviceFeature,
  DeviceFeatureFlags,
  deviceFeatureFlags,
  MigrationFlags,
  MigrationState,
} from "./vfio/device-feature.js";
export {
  DEVICE_INFO_SIZE,
  DeviceFlags,
  type DeviceInfo,
  decodeDeviceInfo,
  decodeDeviceInfoCapabilities,
  encodeDeviceInfo,
} from "./vfio/device-info.js";
export type { RawInfoCapability } from "./vfio/info-capability.js";
export {
  decodeIrqInfo,
  encodeIrqInfo,
  IRQ_INFO_SIZE,
  type IrqInfo,
  IrqInfoFlags,
} from "./vfio/irq-info.js";
export {
  decodeEventfdData,
  decodeIrqSet,
  encodeEventfdData,
  encodeIrqSet,
  IRQ_SET_SIZE,
  type IrqSet,
  IrqSetFlags,
} from "./vfio/irq-set.js";
// Kernel VFIO structs and constants (shared with @emu/mdev-pci)
export {
  PCI_NUM_IRQS,
  PCI_NUM_REGIONS,
  PciIrq,
  PciRegion,
} from "./vfio/pci.js";
export {
  decodeRegionInfo,
  encodeRegionInfo,
  findRegionCapability,
  type MsixMappableCapability,
  REGION_INFO_SIZE,
  type RegionCapability,
  RegionCapabilityId,
  type RegionInfo,
  RegionInfoFlags,
  RegionType,
  type RegionTypeCapability,
  regionInfoSize,
  type SparseMmapArea,
  type SparseMmapCapability,
} from "./vfio/region-info.js";
