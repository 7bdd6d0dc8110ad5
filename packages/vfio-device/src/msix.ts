import { type DecodedMsix, decodeConfigSpace, PciMsix } from "@emu/pci-config";
import { PciRegion } from "@emu/vfio-user-proto";
import type { VfioDevice } from "./device.js";
import { VfioDeviceError } from "./errors.js";

/**
 * What a guest kernel does to turn MSI-X on for a device whose table the device emulates (a vfio-user server does):
 * finds the MSI-X capability in config space, clears the Mask bit of each table entry `vectors` names (default: all),
 * then sets MSI-X Enable with the function mask clear. Interrupts then reach the eventfds set with
 * `device.enableIrqs(PciIrq.MSIX, …)`. Returns the capability as it was found. Over kernel VFIO the kernel owns both
 * and these writes are harmless. Throws `VfioDeviceError("Unsupported")` when the device has no MSI-X capability.
 */
export async function enableMsix(device: VfioDevice, vectors?: readonly number[]): Promise<DecodedMsix> {
  const msix = await findMsix(device);
  const unmask = new Uint8Array(4); // Vector Control = 0: unmasked
  for (const v of vectors ?? Array.from({ length: msix.tableSize }, (_, i) => i)) {
    if (!Number.isInteger(v) || v < 0 || v >= msix.tableSize)
      throw new VfioDeviceError("OutOfBounds", `MSI-X vector ${v} is outside the table (size ${msix.tableSize})`);
    const at = msix.tableOffset + v * PciMsix.ENTRY_SIZE + PciMsix.ENTRY_VECTOR_CTRL;
    await device.regionWrite(msix.tableBar, BigInt(at), unmask);
  }
  await writeControl(device, msix, PciMsix.FLAGS_ENABLE);
  return msix;
}

/** Clears MSI-X Enable (and the function mask) in config space: what a guest does before it frees its vectors. */
export async function disableMsix(device: VfioDevice): Promise<void> {
  await writeControl(device, await findMsix(device), 0);
}

async function findMsix(device: VfioDevice): Promise<DecodedMsix> {
  const decoded = decodeConfigSpace(await device.regionRead(PciRegion.CONFIG, 0n, 256));
  if (!decoded.ok) throw new VfioDeviceError("Io", `config space does not decode: ${decoded.error.message}`);
  const msix = decoded.value.capabilities.find((c): c is DecodedMsix => c.kind === "msix");
  if (msix === undefined) throw new VfioDeviceError("Unsupported", "the device has no MSI-X capability");
  return msix;
}

async function writeControl(device: VfioDevice, msix: DecodedMsix, bits: number): Promise<void> {
  const control = (msix.word & ~(PciMsix.FLAGS_ENABLE | PciMsix.FLAGS_MASKALL)) | bits;
  await device.regionWrite(
    PciRegion.CONFIG,
    BigInt(msix.offset + PciMsix.FLAGS),
    Uint8Array.of(control & 0xff, control >>> 8),
  );
}
