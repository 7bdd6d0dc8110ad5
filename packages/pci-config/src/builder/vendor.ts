import { wr8 } from "../internal/bytes.js";
import { PciCapId } from "../registers/capability-ids.js";
import type { ConfigBuffers } from "./buffers.js";
import { invalid } from "./checks.js";
import type { VendorCapabilityDescription } from "./description.js";

/** Writes a vendor-specific capability at `o`: id, next, length, then the data. */
export function writeVendor(buf: ConfigBuffers, o: number, cap: VendorCapabilityDescription): void {
  const len = 3 + cap.data.length;
  const { bytes, wmask } = buf;
  if (len > 0xff) invalid("vendor capability longer than 255 bytes");
  wr8(bytes, o, PciCapId.VENDOR);
  wr8(bytes, o + 2, len);
  bytes.set(cap.data, o + 3);
  if (cap.writeMask) {
    if (cap.writeMask.length !== cap.data.length) invalid("vendor capability writeMask length differs from data");
    wmask.set(cap.writeMask, o + 3);
  }
}
