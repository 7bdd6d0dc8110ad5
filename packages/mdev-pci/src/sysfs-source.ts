import { pciClassName } from "@emu/pci-config";
import {
  type BusSource,
  type DeviceAddress,
  type DeviceDescriptor,
  formatAddress,
  sameAddress,
  type VfioDevice,
} from "@emu/vfio-device";
import { MdevPciError } from "./errors.js";
import { type ScanProblemReporter, SYSFS_SOURCE, UNKNOWN_VENDOR_ID, type UsabilityAdvisor } from "./pci-bus.js";
import type { PciDevice } from "./pci-device.js";
import { readMdev, readPciDevice, scanSysfs } from "./sysfs-scan.js";
import { VfioHost, whyNotVfioUsable } from "./vfio-host.js";

export interface SysfsSourceOptions {
  readonly sysfsRoot?: string;
  /** The VFIO host devices are opened through; the host's own kernel (`VfioHost.native()`) when absent. */
  readonly host?: VfioHost | (() => Promise<VfioHost>);
}

/**
 * A scanned device as the bus describes it. Mediated devices' IDs are unknown until opened (0xffff). The description
 * of a physical function is its class name as lspci prints it ("VGA compatible controller" for 0x0300).
 */
export function describe(device: PciDevice): DeviceDescriptor {
  const ids = device.ids;
  return {
    address: device.address,
    source: SYSFS_SOURCE,
    vendorId: ids?.vendorId ?? UNKNOWN_VENDOR_ID,
    deviceId: ids?.deviceId ?? UNKNOWN_VENDOR_ID,
    classCode: ids?.classCode ?? 0xffffff,
    ...(ids?.subsystemVendorId === undefined ? {} : { subsystemVendorId: ids.subsystemVendorId }),
    ...(ids?.subsystemDeviceId === undefined ? {} : { subsystemDeviceId: ids.subsystemDeviceId }),
    ...(ids?.revision === undefined ? {} : { revision: ids.revision }),
    ...(device.driver === undefined ? {} : { driver: device.driver }),
    ...(device.iommuGroup === undefined ? {} : { iommuGroup: device.iommuGroup }),
    ...(device.numaNode === undefined ? {} : { numaNode: device.numaNode }),
    ...(device.mdev?.parentAddress === undefined ? {} : { parent: device.mdev.parentAddress }),
    ...(device.mdev === undefined ? {} : { mdevType: device.mdev.type }),
    description: device.mdev ? `mediated ${device.mdev.type}` : pciClassName(ids?.classCode ?? 0xffffff),
  };
}

/**
 * The bus source for the host's kernel devices: physical functions by BDF and `vfio-pci` mediated devices by UUID,
 * found in sysfs and opened through kernel VFIO. Mediated devices of other APIs (vfio-ap, vfio-ccw) are not PCI
 * and are left out.
 */
export class SysfsBusSource implements BusSource, UsabilityAdvisor, ScanProblemReporter {
  readonly name = SYSFS_SOURCE;
  readonly sysfsRoot: string;
  private host: VfioHost | undefined;
  private readonly makeHost: () => Promise<VfioHost>;
  private last = new Map<string, PciDevice>();
  private lastProblems: readonly MdevPciError[] = [];

  constructor(options?: SysfsSourceOptions) {
    this.sysfsRoot = options?.sysfsRoot ?? "/sys";
    const h = options?.host;
    if (h instanceof VfioHost) this.host = h;
    this.makeHost = typeof h === "function" ? h : () => VfioHost.native();
  }

  handles(address: DeviceAddress): boolean {
    return address.kind === "pci" || address.kind === "mdev";
  }

  async scan(): Promise<readonly DeviceDescriptor[]> {
    const scan = scanSysfs({ sysfsRoot: this.sysfsRoot });
    const devices = [...scan.devices, ...scan.mdevs.filter((m) => m.mdev?.deviceApi === "vfio-pci")];
    this.last = new Map(devices.map((d) => [formatAddress(d.address), d]));
    this.lastProblems = scan.problems;
    return devices.map(describe);
  }

  /** What the last scan could not read: devices left out, and fields left unknown on listed devices. */
  scanProblems(): readonly MdevPciError[] {
    return this.lastProblems;
  }

  whyUnusable(descriptor: DeviceDescriptor): string | undefined {
    const d = this.last.get(formatAddress(descriptor.address));
    return d === undefined ? undefined : whyNotVfioUsable(d);
  }

  /** Reads the device afresh from sysfs. */
  read(address: DeviceAddress): PciDevice {
    if (address.kind === "pci") return readPciDevice(address, { sysfsRoot: this.sysfsRoot });
    if (address.kind === "mdev") return readMdev(address.uuid, { sysfsRoot: this.sysfsRoot });
    throw new MdevPciError("NoSuchDevice", `the sysfs source has no ${formatAddress(address)}`);
  }

  async open(address: DeviceAddress): Promise<VfioDevice> {
    const device = this.read(address);
    this.host ??= await this.makeHost();
    return this.host.open(device);
  }

  /** Whether an address is one this source listed in its last scan. */
  listed(address: DeviceAddress): boolean {
    return [...this.last.values()].some((d) => sameAddress(d.address, address));
  }
}
