import { wr8, wr16, wr32 } from "../internal/bytes.js";
import { PciCapId } from "../registers/capability-ids.js";
import { PciMsix } from "../registers/msix.js";
import type { ConfigBuffers } from "./buffers.js";
import { checkInt, invalid } from "./checks.js";
import type { MsixDescription } from "./description.js";
import type { BarLayout, MsixLayout } from "./image.js";

/** Writes an MSI-X capability at `o`; its table and PBA must lie in implemented memory BARs (`bars`). */
export function writeMsix(
  buf: ConfigBuffers,
  o: number,
  cap: MsixDescription,
  bars: readonly (BarLayout | undefined)[],
): MsixLayout {
  const { bytes, wmask } = buf;
  checkInt("MSI-X tableSize", cap.tableSize, 1, PciMsix.MAX_VECTORS);
  const pbaSize = Math.ceil(cap.tableSize / 64) * 8;
  checkMsixPlacement(bars, "table", cap.tableBar, cap.tableOffset, cap.tableSize * PciMsix.ENTRY_SIZE);
  checkMsixPlacement(bars, "PBA", cap.pbaBar, cap.pbaOffset, pbaSize);
  if (
    cap.tableBar === cap.pbaBar &&
    cap.tableOffset < cap.pbaOffset + pbaSize &&
    cap.pbaOffset < cap.tableOffset + cap.tableSize * PciMsix.ENTRY_SIZE
  )
    invalid("MSI-X table and PBA overlap");
  wr8(bytes, o, PciCapId.MSIX);
  wr16(bytes, o + PciMsix.FLAGS, cap.tableSize - 1);
  wr16(wmask, o + PciMsix.FLAGS, PciMsix.FLAGS_ENABLE | PciMsix.FLAGS_MASKALL);
  wr32(bytes, o + PciMsix.TABLE, (cap.tableOffset | cap.tableBar) >>> 0);
  wr32(bytes, o + PciMsix.PBA, (cap.pbaOffset | cap.pbaBar) >>> 0);
  return {
    offset: o,
    control: o + PciMsix.FLAGS,
    tableSize: cap.tableSize,
    tableBar: cap.tableBar,
    tableOffset: cap.tableOffset,
    pbaBar: cap.pbaBar,
    pbaOffset: cap.pbaOffset,
    pbaSize,
  };
}

function checkMsixPlacement(
  bars: readonly (BarLayout | undefined)[],
  what: string,
  bir: number,
  offset: number,
  length: number,
): void {
  checkInt(`MSI-X ${what} BAR`, bir, 0, 5);
  const bar = bars[bir];
  if (bar === undefined || bar.kind === "io") invalid(`MSI-X ${what} BAR${bir} is not an implemented memory BAR`);
  if (!Number.isInteger(offset) || offset < 0 || offset % 8 !== 0 || offset > 0xfffffff8)
    invalid(`MSI-X ${what} offset must be 8-byte aligned`);
  if (BigInt(offset + length) > bar.size) invalid(`MSI-X ${what} does not fit in BAR${bir}`);
}
