export { errnoCode, isMdevPciError, MdevPciError, type MdevPciErrorReason } from "./errors.js";
export {
  IORESOURCE,
  isMediated,
  type MdevInfo,
  type MdevParent,
  type MdevType,
  type PciDevice,
  type PciIds,
  type PciResource,
} from "./pci-device.js";
export {
  DEFAULT_SYSFS_ROOT,
  parseBdfName,
  parseResourceFile,
  readMdev,
  readMdevParent,
  readPciDevice,
  type SysfsOptions,
  type SysfsScan,
  scanSysfs,
} from "./sysfs-scan.js";
export { isCanonicalUuid, parseUuid, randomUuid } from "./uuid.js";
export {
  type AttributeWriter,
  type CreateMdevRequest,
  createMdev,
  type MdevWriteOptions,
  removeMdev,
} from "./mdev-lifecycle.js";
