import type { DeviceDescriptor, VfioDevice } from "@emu/vfio-device";

/** Matches any value of an ID (DPDK's PCI_ANY_ID). */
export const PCI_ANY_ID = 0xffff;

/**
 * One line of a driver's ID table, as DPDK's `rte_pci_id`: absent fields match anything. `classCode`/`classMask`
 * compare the 24-bit class (e.g. 0x020000 with mask 0xff0000 for any network controller).
 */
export interface PciIdMatch {
  readonly vendorId: number;
  readonly deviceId?: number;
  readonly subsystemVendorId?: number;
  readonly subsystemDeviceId?: number;
  readonly classCode?: number;
  readonly classMask?: number;
}

/** What a driver's probe is given besides the device. */
export interface ProbeContext {
  /** The device as the bus found it (IDs read from config space for mediated and vfio-user devices). */
  readonly descriptor: DeviceDescriptor;
  /** Driver arguments from the allow-list entry (`-a 0000:3b:02.0,queues=2` gives queues → "2"). */
  readonly args: ReadonlyMap<string, string>;
}

/**
 * A guest-side driver that binds to devices on the bus through `VfioDevice` only (so it runs the same over a kernel
 * VF, a mediated device or vfio-user). `probe` returns the driver's own handle for the device; throwing declines it
 * (the bus reports the error and closes the device). `remove` is called on detach, before the bus closes the device.
 */
export interface PciDriver<Instance = unknown> {
  readonly name: string;
  readonly idTable: readonly PciIdMatch[];
  probe(device: VfioDevice, context: ProbeContext): Promise<Instance>;
  remove?(instance: Instance, device: VfioDevice): Promise<void>;
}

/** Whether a descriptor's IDs match one ID-table line. */
export function matchesId(d: DeviceDescriptor, m: PciIdMatch): boolean {
  const eq = (want: number | undefined, got: number | undefined) =>
    want === undefined || want === PCI_ANY_ID || want === got;
  if (!eq(m.vendorId, d.vendorId) || !eq(m.deviceId, d.deviceId)) return false;
  if (!eq(m.subsystemVendorId, d.subsystemVendorId) || !eq(m.subsystemDeviceId, d.subsystemDeviceId)) return false;
  if (m.classCode !== undefined) {
    const mask = m.classMask ?? 0xffffff;
    if ((d.classCode & mask) !== (m.classCode & mask)) return false;
  }
  return true;
}
