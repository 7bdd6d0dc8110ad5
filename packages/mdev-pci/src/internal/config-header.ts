import { type PciIds, pciIdsFromConfig, type VfioDevice } from "@emu/vfio-device";
import { MdevPciError } from "../errors.js";

/** VFIO_PCI_CONFIG_REGION_INDEX. */
const CONFIG_REGION = 7;

/** The IDs in a PCI config header, decoded by @emu/pci-config. */
function decodeConfigIds(bytes: Uint8Array, where: string): PciIds {
  const decoded = pciIdsFromConfig(bytes);
  if (!decoded.ok) throw new MdevPciError("NotVfio", `${where}: ${decoded.error.message}`, { cause: decoded.error });
  const ids = decoded.value;
  if (ids.vendorId === 0xffff || ids.vendorId === 0) {
    throw new MdevPciError(
      "NotVfio",
      `${where}: config space reads vendor 0x${ids.vendorId.toString(16)}: no function there`,
    );
  }
  return ids;
}

/** Reads a device's IDs through its VFIO config region (how a mediated or vfio-user device is identified). */
export async function readConfigIds(device: VfioDevice, where: string): Promise<PciIds> {
  const info = await device.getRegionInfo(CONFIG_REGION);
  const length = Number(info.size < 0x40n ? info.size : 0x40n);
  return decodeConfigIds(await device.regionRead(CONFIG_REGION, 0n, length), where);
}
