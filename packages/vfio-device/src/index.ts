export {
  type DeviceAddress,
  formatAddress,
  type MdevAddress,
  type PciAddress,
  parseAddress,
  pciAddress,
  sameAddress,
  type VfioUserAddress,
} from "./address.js";
export type { BusSource, DeviceDescriptor, PciIds } from "./bus-source.js";
export { pciIdsFromConfig } from "./config-ids.js";
export type {
  DeviceInfo,
  DmaBuffer,
  DmaMapAccess,
  InterruptListener,
  IrqBinding,
  IrqData,
  IrqInfo,
  SetIrqsRequest,
  VfioDevice,
} from "./device.js";
export { isVfioDeviceError, VfioDeviceError, type VfioDeviceErrorReason } from "./errors.js";
export { irqSetFlags, toDeviceInfo, toIrqInfo, toRegionInfo } from "./from-vfio.js";
export { type IrqEventfd, IrqEventfds, type IrqEventfdsOptions } from "./irq-eventfds.js";
export { disableMsix, enableMsix } from "./msix.js";
export {
  type FileRange,
  type MappedArea,
  mappableAreas,
  type RawRegionCapability,
  type RegionInfo,
  type RegionMapping,
  type SparseArea,
} from "./region.js";
export { RegionIo } from "./region-io.js";
