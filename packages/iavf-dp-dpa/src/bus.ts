// Delegates by bus address: the PCI bus of @emu/mdev-pci with its sysfs source (a VF's BDF, an mdev's UUID, opened
// over kernel VFIO) and the vfio-user client's source for sockets (any socket path: the user names it).
import { PciBus, SysfsBusSource } from "@emu/mdev-pci";
import { type DeviceAddress, parseAddress, type VfioDevice } from "@emu/vfio-device";
import { VfioUserBusSource } from "@emu/vfio-user-client";

/** Opens what `address` names ("0000:af:01.0", an mdev UUID, "vfio-user:/run/x.sock" or a path with a slash). */
export async function openDelegateDevice(address: string | DeviceAddress, bus?: PciBus): Promise<VfioDevice> {
  const a = typeof address === "string" ? parseAddress(address) : address;
  const b = bus ?? new PciBus([new SysfsBusSource(), new VfioUserBusSource({ sockets: [], openAny: true })]);
  return b.open(a);
}
