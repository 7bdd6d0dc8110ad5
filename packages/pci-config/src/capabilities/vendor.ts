import { rd8, rd32 } from "../internal/bytes.js";
import { PCI_CONFIG_SPACE_SIZE } from "../registers/header.js";
import type { CapabilityBase, CapabilityContext, RequireLength } from "./base.js";

// Vendor-specific capability, with the virtio layout decoded for virtio devices.

/** A virtio PCI capability (vendor-specific capability of a Red Hat virtio device, 1af4:1000..107f). */
export interface VirtioPciCap {
  /** cfg_type: 1 common, 2 notify, 3 ISR, 4 device, 5 PCI config access. */
  readonly cfgType: number;
  readonly bar: number;
  readonly offset: number;
  readonly length: number;
  /** notify_off_multiplier (notify capabilities of 20 bytes or more). */
  readonly notifyOffMultiplier: number | undefined;
}

export interface DecodedVendorCap extends CapabilityBase {
  readonly kind: "vendor";
  readonly length: number;
  /** The bytes after id, next and length (clipped to config space). */
  readonly data: Uint8Array;
  /** Set when the function is a virtio device and the capability is long enough to be a virtio_pci_cap. */
  readonly virtio: VirtioPciCap | undefined;
}

export function decodeVendor(
  b: Uint8Array,
  o: number,
  base: CapabilityBase,
  ctx: CapabilityContext,
  issues: string[],
  need: RequireLength,
): DecodedVendorCap {
  const length = rd8(b, o + 2);
  if (length < 3) issues.push(`vendor capability at 0x${o.toString(16)} has length ${length} < 3`);
  need(Math.max(3, length));
  const end = Math.min(o + Math.max(3, length), PCI_CONFIG_SPACE_SIZE, b.length);
  const isVirtio = ctx.vendorId === 0x1af4 && ctx.deviceId >= 0x1000 && ctx.deviceId <= 0x107f;
  const cfgType = rd8(b, o + 3);
  return {
    ...base,
    kind: "vendor",
    length,
    data: b.slice(Math.min(o + 3, end), end),
    virtio:
      isVirtio && length >= 16 && o + length <= b.length
        ? {
            cfgType,
            bar: rd8(b, o + 4),
            offset: rd32(b, o + 8),
            length: rd32(b, o + 12),
            notifyOffMultiplier: cfgType === 2 && length >= 20 ? rd32(b, o + 16) : undefined,
          }
        : undefined,
  };
}
