/**
 * @emu/mdev-pci/testing — test doubles for code built on the PCI bus, kept out of the main entry: a kernel VFIO
 * backend in TypeScript (`StandInVfioKernel`) with the devices of the sample host (`standInKernel`), and realistic
 * sysfs trees (`makeSysfs`, the default host of `defaultSpec`) with what the kernel does on mdev `create`/`remove`
 * writes (`fixtureKernelWriter`); mdevctl run on such a tree (`runMdevctl`), to compare with.
 */

export { fixtureKernelWriter } from "./testing/mdev-writer.js";
export { type MdevctlRun, runMdevctl } from "./testing/mdevctl.js";
export { GVT_APERTURE, mttyConfig, standInDevices, standInKernel } from "./testing/sample-devices.js";
export type {
  StandInBehaviour,
  StandInDevice,
  StandInDmaMapping,
  StandInIrq,
  StandInOptions,
  StandInRegion,
} from "./testing/stand-in-device.js";
export { StandInVfioKernel } from "./testing/stand-in-kernel.js";
export {
  addMdev,
  addPciFunction,
  addVirtualParent,
  configSpace,
  link,
  makeSysfs,
  removeMdevFromTree,
} from "./testing/sysfs-fixture.js";
export {
  AP_UUID,
  defaultSpec,
  type FixtureSpec,
  GVTG_UUID,
  MBOCHS_UUID,
  MDPY_UUID,
  type MdevSpec,
  type MdevTypeSpec,
  MTTY_UUID,
  type PciFunctionSpec,
  VF_BDF,
  type VirtualParentSpec,
} from "./testing/sysfs-fixture-spec.js";
