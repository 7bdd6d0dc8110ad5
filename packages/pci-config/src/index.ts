export { buildConfigSpace } from "./builder/build.js";
export { applyConfigWrite } from "./builder/config-write.js";
export type {
  BarDescription,
  BarKind,
  CapabilityDescription,
  ExtendedCapabilityDescription,
  MsiDescription,
  MsixDescription,
  PciDeviceDescription,
  PcieDescription,
  PcieDeviceType,
  PcieLinkDescription,
  PmDescription,
  RawCapabilityDescription,
  VendorCapabilityDescription,
} from "./builder/description.js";
export type {
  BarLayout,
  MsiLayout,
  MsixLayout,
  PciConfigImage,
  PcieLayout,
  PlacedCapability,
  PmLayout,
} from "./builder/image.js";
export type { DecodedAf } from "./capabilities/af.js";
export { type CapabilityBase, type CapabilityContext, capabilityName } from "./capabilities/base.js";
export type { DecodedDebugPort } from "./capabilities/debug-port.js";
export type { DecodedCapability, DecodedOtherCap } from "./capabilities/decode.js";
export type { DecodedMsi } from "./capabilities/msi.js";
export type { DecodedMsix } from "./capabilities/msix.js";
export type { DecodedPcie } from "./capabilities/pcie/capability.js";
export type { PcieDevCap, PcieDevCap2, PcieDevCtl, PcieDevCtl2, PcieDevSta } from "./capabilities/pcie/device.js";
export { pciePowerLimitWatts } from "./capabilities/pcie/encodings.js";
export type {
  PcieLnkCap,
  PcieLnkCap2,
  PcieLnkCtl,
  PcieLnkCtl2,
  PcieLnkSta,
  PcieLnkSta2,
} from "./capabilities/pcie/link.js";
export type { PcieRoot } from "./capabilities/pcie/root.js";
export type { PcieSltCap, PcieSltCtl, PcieSltSta } from "./capabilities/pcie/slot.js";
export type { DecodedPm } from "./capabilities/pm.js";
export type { DecodedSata } from "./capabilities/sata.js";
export type { DecodedSlotId } from "./capabilities/slot-id.js";
export type { DecodedSsvid } from "./capabilities/ssvid.js";
export type { DecodedVendorCap, VirtioPciCap } from "./capabilities/vendor.js";
export { capabilityTitle, extendedCapabilityTitle } from "./capability-names.js";
export { lookupPciClass, pciBaseClassName, pciClassName } from "./class-names.js";
export {
  barSizeFromMask,
  type CapabilityChainBreak,
  type DecodedBar,
  type DecodedConfigSpace,
  decodeConfigSpace,
} from "./decoder.js";
export { isPciConfigError, PciConfigError, type PciConfigErrorReason, type Result } from "./errors.js";
export type { AcsBits, DecodedAcs } from "./extended-capabilities/acs.js";
export type { AerCorrectableErrors, AerUncorrectableErrors, DecodedAer } from "./extended-capabilities/aer.js";
export type { DecodedAri } from "./extended-capabilities/ari.js";
export type { DecodedAts } from "./extended-capabilities/ats.js";
export { type ExtendedCapabilityBase, extendedCapabilityName } from "./extended-capabilities/base.js";
export type { DecodedExtendedCapability, DecodedOtherExtendedCap } from "./extended-capabilities/decode.js";
export type { DecodedDsn } from "./extended-capabilities/dsn.js";
export type { DecodedDvsec } from "./extended-capabilities/dvsec.js";
export type { DecodedLtr } from "./extended-capabilities/ltr.js";
export type { DecodedPasid } from "./extended-capabilities/pasid.js";
export type { DecodedPri } from "./extended-capabilities/pri.js";
export type { DecodedSriov, DecodedVfBar } from "./extended-capabilities/sriov.js";
export type { DecodedVsec } from "./extended-capabilities/vsec.js";
export { PciAcs } from "./registers/acs.js";
export { PciErr } from "./registers/aer.js";
export { PciAri } from "./registers/ari.js";
export { PciAts } from "./registers/ats.js";
export { PciCapId, PciExtCap, PciExtCapId } from "./registers/capability-ids.js";
export { PciDsn } from "./registers/dsn.js";
export {
  barOffset,
  PCI_CONFIG_SPACE_SIZE,
  PCI_EXT_CAP_START,
  PCI_STD_HEADER_SIZE,
  PCIE_CONFIG_SPACE_SIZE,
  PciBar,
  PciCommand,
  PciHeader,
  PciHeaderType,
  PciRom,
  PciStatus,
} from "./registers/header.js";
export { PciLtr } from "./registers/ltr.js";
export { msiCapabilitySize, PciMsi } from "./registers/msi.js";
export { PciMsix } from "./registers/msix.js";
export { PciPasid } from "./registers/pasid.js";
export { PCIE_LINK_SPEEDS_GTS, PciExp } from "./registers/pcie.js";
export { PciPm } from "./registers/pm.js";
export { PciPri } from "./registers/pri.js";
export { PciSriov } from "./registers/sriov.js";
