export type {
  DeviceConfig,
  DeviceContext,
  DeviceIrqs,
  IrqChangeListener,
  RegionFileOffer,
  TriggerResult,
} from "./context.js";
export type {
  DeviceModel,
  DeviceModelSource,
  IoEventFdDescription,
  IrqCounts,
  MaybePromise,
  MigrationCallbacks,
  RegionArea,
  RegionDescription,
  ResetReason,
} from "./device.js";
export { DEVICE_ERRNO, type DeviceErrorReason, ERRNO_OF, Errno, type ReplyErrorReason } from "./errno.js";
export {
  DeviceError,
  DmaError,
  type DmaErrorReason,
  DmaMapError,
  isDeviceError,
  isDmaError,
  isDmaMapError,
  isVfioUserServerError,
  VfioUserServerError,
  type VfioUserServerErrorReason,
} from "./errors.js";
export type { DirtySource, Dma, DmaAccessOptions, DmaRegionInfo, DmaView } from "./guest-memory.js";
export { createServer, type ServerOptions, type VfioUserServer } from "./server.js";
