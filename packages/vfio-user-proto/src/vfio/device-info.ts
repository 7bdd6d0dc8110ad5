import { readCapabilityChain } from "../internal/capability-chain.js";
import { Reader } from "../internal/reader.js";
import { Writer } from "../internal/writer.js";
import type { RawInfoCapability } from "./info-capability.js";

/** `VFIO_DEVICE_FLAGS_*` (DEVICE_GET_INFO `flags`). vfio-user defines only RESET and PCI. */
export const DeviceFlags = {
  /** The device supports DEVICE_RESET. */
  RESET: 1 << 0,
  /** A PCI device (the only kind vfio-user defines). */
  PCI: 1 << 1,
  PLATFORM: 1 << 2,
  AMBA: 1 << 3,
  CCW: 1 << 4,
  AP: 1 << 5,
  FSL_MC: 1 << 6,
  /** Kernel only: `cap_offset` (at 16) points to a device capability chain. */
  CAPS: 1 << 7,
  CDX: 1 << 8,
} as const;

/** Size of `struct vfio_user_device_info` / the first 16 bytes of the kernel's `vfio_device_info`. */
export const DEVICE_INFO_SIZE = 16;

/**
 * `struct vfio_device_info` as vfio-user uses it (16 bytes):
 *
 * | Offset | Size | Field |
 * |---|---|---|
 * | 0 | 4 | argsz |
 * | 4 | 4 | flags ({@link DeviceFlags}) |
 * | 8 | 4 | num_regions |
 * | 12 | 4 | num_irqs |
 *
 * The kernel's struct continues with `cap_offset` u32 @16 (see {@link decodeDeviceInfoCapabilities}).
 */
export interface DeviceInfo {
  readonly argsz: number;
  readonly flags: number;
  readonly numRegions: number;
  readonly numIrqs: number;
}

/** @internal */
export function readDeviceInfo(r: Reader): DeviceInfo {
  return { argsz: r.u32("argsz"), flags: r.u32("flags"), numRegions: r.u32("num_regions"), numIrqs: r.u32("num_irqs") };
}

/** @internal */
export function writeDeviceInfo(w: Writer, d: DeviceInfo): void {
  w.u32(d.argsz, "argsz");
  w.u32(d.flags, "flags");
  w.u32(d.numRegions, "num_regions");
  w.u32(d.numIrqs, "num_irqs");
}

/** Encodes the 16-byte form. */
export function encodeDeviceInfo(info: DeviceInfo): Uint8Array {
  const w = new Writer(DEVICE_INFO_SIZE);
  writeDeviceInfo(w, info);
  return w.finish();
}

/** Decodes the first 16 bytes (longer input, such as the kernel's 20/24-byte struct, is accepted). Throws {@link ProtoError}. */
export function decodeDeviceInfo(bytes: Uint8Array): DeviceInfo {
  return readDeviceInfo(new Reader(bytes, "vfio_device_info"));
}

/**
 * Kernel only: the device capability chain of a `VFIO_DEVICE_GET_INFO` result (zPCI caps, PCI_ATOMIC_COMP, …), kept
 * raw. Empty unless `flags` has CAPS and the buffer reaches `cap_offset` (u32 @16). Throws {@link ProtoError}
 * (`BadCapabilityChain` for loops or out-of-bounds offsets).
 */
export function decodeDeviceInfoCapabilities(bytes: Uint8Array): RawInfoCapability[] {
  const r = new Reader(bytes, "vfio_device_info");
  const info = readDeviceInfo(r);
  if ((info.flags & DeviceFlags.CAPS) === 0 || bytes.length < 20) return [];
  const capOffset = r.u32("cap_offset");
  const end = info.argsz >= 20 && info.argsz < bytes.length ? info.argsz : bytes.length;
  const area = new Reader(bytes.subarray(0, end), "vfio_device_info");
  return readCapabilityChain(area, capOffset, 20).map((c) => ({
    kind: "Unknown",
    id: c.id,
    version: c.version,
    data: c.body,
  }));
}
