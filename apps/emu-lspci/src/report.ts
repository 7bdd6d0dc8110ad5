import {
  type DeviceAddress,
  type DeviceInfo,
  type IrqInfo,
  isVfioDeviceError,
  type RegionInfo,
  type VfioDevice,
} from "@emu/vfio-device";
import { isVfioUserClientError, type NegotiatedSession } from "@emu/vfio-user-client";
import { PciRegion } from "@emu/vfio-user-proto";

/** Everything `emu-lspci` shows about one device, read once. */
export interface DeviceReport {
  /** Where the device was found: a vfio-user socket, a PCI function (BDF) or a mediated device (UUID). */
  readonly address: DeviceAddress;
  /** The vfio-user session, when the device is a vfio-user client (absent for a kernel VFIO device). */
  readonly negotiated?: NegotiatedSession;
  readonly info: DeviceInfo;
  /** One entry per region index 0..numRegions-1: its info, or why it could not be read. */
  readonly regions: readonly (RegionInfo | { readonly index: number; readonly error: string })[];
  /** One entry per IRQ index 0..numIrqs-1. */
  readonly irqs: readonly (IrqInfo | { readonly index: number; readonly error: string })[];
  /** Config space (region 7) as read, whole (256 or 4096 bytes); empty if it could not be read. */
  readonly config: Uint8Array;
  /** Why config space could not be read, if so. */
  readonly configError?: string;
}

const errorText = (e: unknown): string =>
  (isVfioUserClientError(e) || isVfioDeviceError(e)) && e.code !== undefined
    ? `${e.code}: ${e.message}`
    : (e as Error).message;

/** The vfio-user session of a device that is a `VfioUserClient` (it carries `negotiated`), else undefined. */
function sessionOf(device: VfioDevice): NegotiatedSession | undefined {
  if (device.address.kind !== "vfio-user") return undefined;
  return (device as VfioDevice & { readonly negotiated?: NegotiatedSession }).negotiated;
}

/**
 * Reads device info, every region's info, every IRQ's info and the whole config space (pipelined) of any
 * `VfioDevice`, and the vfio-user session when the device is a vfio-user client.
 */
export async function readDeviceReport(device: VfioDevice): Promise<DeviceReport> {
  const negotiated = sessionOf(device);
  const info = await device.getInfo();
  const regionP = Array.from({ length: info.numRegions }, (_, index) =>
    device.getRegionInfo(index).catch((e: unknown) => ({ index, error: errorText(e) })),
  );
  const irqP = Array.from({ length: info.numIrqs }, (_, index) =>
    device.getIrqInfo(index).catch((e: unknown) => ({ index, error: errorText(e) })),
  );
  const regions = await Promise.all(regionP);
  const irqs = await Promise.all(irqP);
  const cfgInfo = regions[PciRegion.CONFIG];
  let config: Uint8Array = new Uint8Array(0);
  let configError: string | undefined;
  if (cfgInfo === undefined) configError = "the device has no config-space region";
  else if ("error" in cfgInfo) configError = cfgInfo.error;
  else {
    const size = Number(cfgInfo.size > 4096n ? 4096n : cfgInfo.size);
    try {
      config = await device.regionRead(PciRegion.CONFIG, 0n, size);
    } catch (e) {
      configError = errorText(e);
    }
  }
  return {
    address: device.address,
    ...(negotiated === undefined ? {} : { negotiated }),
    info,
    regions,
    irqs,
    config,
    ...(configError === undefined ? {} : { configError }),
  };
}
