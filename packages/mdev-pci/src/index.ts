export {
  type DeviceArg,
  type DeviceSelection,
  formatDeviceArg,
  parseDeviceArg,
  parseSelectionArgs,
} from "./devargs.js";
export { errnoCode, isMdevPciError, MdevPciError, type MdevPciErrorReason } from "./errors.js";
export { vfioIoctls } from "./internal/vfio-uapi.js";
export { KernelVfioDevice } from "./kernel-device.js";
export {
  type AttributeWriter,
  type CreateMdevRequest,
  createMdev,
  type MdevWriteOptions,
  removeMdev,
} from "./mdev-lifecycle.js";
export { nativeVfioKernel } from "./native-kernel.js";
export {
  type AttachedDevice,
  type BusDevice,
  type BusScan,
  isIdentified,
  PciBus,
  type ProbeReport,
  type ScanProblemReporter,
  SYSFS_SOURCE,
  UNKNOWN_VENDOR_ID,
  type UsabilityAdvisor,
} from "./pci-bus.js";
export {
  IORESOURCE,
  isMediated,
  type MdevInfo,
  type MdevParent,
  type MdevType,
  type PciDevice,
  type PciResource,
} from "./pci-device.js";
export { matchesId, PCI_ANY_ID, type PciDriver, type PciIdMatch, type ProbeContext } from "./pci-driver.js";
export { PCI_IDS_PATHS, PciIdDatabase } from "./pci-ids.js";
export {
  DEFAULT_SYSFS_ROOT,
  parseBdfName,
  parseResourceFile,
  readMdev,
  readMdevParent,
  readPciDevice,
  type SysfsOptions,
  type SysfsReadOptions,
  type SysfsScan,
  scanSysfs,
  UNKNOWN_CLASS_CODE,
} from "./sysfs-scan.js";
export { describe as describeDevice, SysfsBusSource, type SysfsSourceOptions } from "./sysfs-source.js";
export { isCanonicalUuid, parseUuid, randomUuid } from "./uuid.js";
export { VfioHost, type VfioHostOptions, whyNotVfioUsable } from "./vfio-host.js";
export type { KernelDmaMemory, KernelEventFd, KernelMapping, VfioKernel } from "./vfio-kernel.js";
