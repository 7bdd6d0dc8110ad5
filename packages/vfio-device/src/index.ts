export { type DeviceAddress, type MdevAddress, type PciAddress, type VfioUserAddress, formatAddress, parseAddress, pciAddress, sameAddress } from "./address.js";
export type { BusSource, DeviceDescriptor, PciIds } from "./bus-source.js";
export type {
  DeviceInfo,
  DmaBuffer,
  InterruptListener,
  IrqBinding,
  IrqData,
  IrqInfo,
  SetIrqsRequest,
  VfioDevice,
} from "./device.js";
export { irqSetFlags, toDeviceInfo, toIrqInfo, toRegionInfo } from "./from-vfio.js";
export { isVfioDeviceError, VfioDeviceError, type VfioDeviceErrorReason } from "./errors.js";
export {
  type MappedArea,
  mappableAreas,
  type RawRegionCapability,
  type RegionInfo,
  type RegionMapping,
  type SparseArea,
} from "./region.js";
export { RegionIo } from "./region-io.js";
