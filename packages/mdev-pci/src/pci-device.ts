import type { MdevAddress, PciAddress, PciIds } from "@emu/vfio-device";

/** IORESOURCE_* bits of a sysfs `resource` line that matter to a user. */
export const IORESOURCE = {
  IO: 0x100n,
  MEM: 0x200n,
  PREFETCH: 0x2000n,
  SIZEALIGN: 0x40000n,
  MEM_64: 0x100000n,
} as const;

/** One line of the sysfs `resource` file: BAR0-5 at index 0-5, the ROM at 6, then IOV BARs or bridge windows. */
export interface PciResource {
  readonly index: number;
  readonly start: bigint;
  readonly end: bigint;
  /** The raw IORESOURCE_* flags. */
  readonly flags: bigint;
  /** end - start + 1, or 0 when the resource is unused. */
  readonly size: bigint;
  readonly kind: "memory" | "io" | "unused";
  readonly prefetchable: boolean;
  readonly is64: boolean;
}

/** What makes a device mediated: its parent, its type, and the VFIO API its type offers. */
export interface MdevInfo {
  /** The parent's sysfs name: a BDF for a PCI parent, or a name such as "mtty" for a virtual one. */
  readonly parent: string;
  /** The parent's address when it is a PCI function. */
  readonly parentAddress?: PciAddress;
  /** The type id, e.g. "i915-GVTg_V5_4" or "mtty-2". */
  readonly type: string;
  /** The type's `device_api`, e.g. "vfio-pci"; only "vfio-pci" mdevs belong on the PCI bus. */
  readonly deviceApi: string;
}

/**
 * One PCI device as the bus sees it, physical (addressed by BDF) or mediated (addressed by UUID). Physical devices
 * carry their IDs and resources from sysfs; a mediated device's IDs live only in the config space its parent driver
 * emulates, so `ids` is absent until the device is opened and identified (see `PciBus`).
 */
export interface PciDevice {
  readonly address: PciAddress | MdevAddress;
  /** The name the kernel uses for it: the BDF, or the lower-case UUID. */
  readonly name: string;
  /** The device's directory in sysfs, with symlinks resolved. */
  readonly sysfsPath: string;
  readonly ids?: PciIds;
  /** The legacy IRQ line (physical devices). */
  readonly irq?: number;
  /** Lines of the `resource` file (physical devices; empty for mdevs). */
  readonly resources: readonly PciResource[];
  /** The bound kernel driver (`driver` link), absent when unbound. */
  readonly driver?: string;
  /** The IOMMU group number (`iommu_group` link): the VFIO group is /dev/vfio/<N>. */
  readonly iommuGroup?: number;
  /** The NUMA node, absent when the kernel reports -1 or has no NUMA support. */
  readonly numaNode?: number;
  /** The VFIO cdev name (`vfio-dev/vfioN`): /dev/vfio/devices/vfioN on kernels with the cdev API. */
  readonly vfioCdev?: string;
  /** Whether the device is a parent of mediated devices (has `mdev_supported_types`). */
  readonly mdevParent: boolean;
  /** SR-IOV: the PF of a VF (`physfn`), and the VFs of a PF (`virtfnN`). */
  readonly physfn?: PciAddress;
  readonly virtfns: readonly PciAddress[];
  /** Set for mediated devices. */
  readonly mdev?: MdevInfo;
}

export function isMediated(d: PciDevice): d is PciDevice & { readonly address: MdevAddress; readonly mdev: MdevInfo } {
  return d.address.kind === "mdev";
}

/** An mdev type a parent offers (`mdev_supported_types/<id>`). */
export interface MdevType {
  /** The directory name, e.g. "i915-GVTg_V5_4": what `create` instances are of. */
  readonly id: string;
  readonly parent: string;
  /** `name`, when the driver provides one. */
  readonly name?: string;
  readonly deviceApi: string;
  readonly availableInstances: number;
  /** `description` as the kernel wrote it (trimmed; may hold several lines). */
  readonly description?: string;
  /** UUIDs of the instances of this type (`devices/`). */
  readonly instances: readonly string[];
}

/** A device that registered with the mdev core (`/sys/class/mdev_bus/<name>`). */
export interface MdevParent {
  readonly name: string;
  readonly sysfsPath: string;
  /** Its address when it is a PCI function (e.g. a GPU); absent for virtual parents such as mtty. */
  readonly address?: PciAddress;
  readonly types: readonly MdevType[];
}
