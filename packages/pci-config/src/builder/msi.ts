import { wr8, wr16, wr32 } from "../internal/bytes.js";
import { PciCapId } from "../registers/capability-ids.js";
import { PciMsi } from "../registers/msi.js";
import type { ConfigBuffers } from "./buffers.js";
import { invalid } from "./checks.js";
import type { MsiDescription } from "./description.js";
import type { MsiLayout } from "./image.js";

/** Writes an MSI capability at `o`. */
export function writeMsi(buf: ConfigBuffers, o: number, cap: MsiDescription): MsiLayout {
  const { bytes, wmask } = buf;
  const v = cap.vectors;
  if (![1, 2, 4, 8, 16, 32].includes(v)) invalid(`MSI vectors must be 1, 2, 4, 8, 16 or 32, got ${v}`);
  const a64 = cap.address64 ?? true;
  const pvm = cap.perVectorMask ?? false;
  wr8(bytes, o, PciCapId.MSI);
  const log2 = Math.log2(v);
  wr16(bytes, o + PciMsi.FLAGS, (log2 << 1) | (a64 ? PciMsi.FLAGS_64BIT : 0) | (pvm ? PciMsi.FLAGS_MASKBIT : 0));
  wr16(wmask, o + PciMsi.FLAGS, PciMsi.FLAGS_ENABLE | PciMsi.FLAGS_QSIZE);
  wr32(wmask, o + PciMsi.ADDRESS_LO, 0xfffffffc);
  if (a64) wr32(wmask, o + PciMsi.ADDRESS_HI, 0xffffffff);
  const data = o + (a64 ? PciMsi.DATA_64 : PciMsi.DATA_32);
  wr16(wmask, data, 0xffff);
  let mask: number | undefined;
  let pending: number | undefined;
  if (pvm) {
    mask = o + (a64 ? PciMsi.MASK_64 : PciMsi.MASK_32);
    pending = o + (a64 ? PciMsi.PENDING_64 : PciMsi.PENDING_32);
    wr32(wmask, mask, v === 32 ? 0xffffffff : (1 << v) - 1);
  }
  return {
    offset: o,
    vectors: v,
    address64: a64,
    perVectorMask: pvm,
    control: o + PciMsi.FLAGS,
    addressLo: o + PciMsi.ADDRESS_LO,
    addressHi: a64 ? o + PciMsi.ADDRESS_HI : undefined,
    data,
    mask,
    pending,
  };
}
