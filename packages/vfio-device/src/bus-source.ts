import type { DeviceAddress } from "./address.js";
import type { VfioDevice } from "./device.js";

/** The identity a PCI function gives in its config header. */
export interface PciIds {
  readonly vendorId: number;
  readonly deviceId: number;
  readonly subsystemVendorId?: number;
  readonly subsystemDeviceId?: number;
  /** 24 bits: base class, sub-class, programming interface. */
  readonly classCode: number;
  readonly revision?: number;
}

/** What a bus source knows of a device without opening it for use. */
export interface DeviceDescriptor extends PciIds {
  readonly address: DeviceAddress;
  /** The source that found it (e.g. "sysfs", "vfio-user"). */
  readonly source: string;
  /** The kernel driver bound to it, when the source knows one (e.g. "vfio-pci", "ixgbe"). */
  readonly driver?: string;
  readonly iommuGroup?: number;
  readonly numaNode?: number;
  /** For a mediated device: its parent's address and its type id. */
  readonly parent?: DeviceAddress;
  readonly mdevType?: string;
  /** Free text a person would recognise (a vendor/device name, an mdev type's name). */
  readonly description?: string;
}

/**
 * A place devices come from. The PCI bus in `@emu/mdev-pci` lists devices from its own kernel sysfs source and from
 * sources an application registers (the vfio-user client offers one), so no bus depends on a transport.
 */
export interface BusSource {
  readonly name: string;
  /** Whether this source is the one to ask for an address (by kind, or a specific socket it was given). */
  handles(address: DeviceAddress): boolean;
  scan(): Promise<readonly DeviceDescriptor[]>;
  open(address: DeviceAddress): Promise<VfioDevice>;
}
