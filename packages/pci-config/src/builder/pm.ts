import { wr8, wr16 } from "../internal/bytes.js";
import { PciCapId } from "../registers/capability-ids.js";
import { PciPm } from "../registers/pm.js";
import type { ConfigBuffers } from "./buffers.js";
import { checkInt } from "./checks.js";
import type { PmDescription } from "./description.js";
import type { PmLayout } from "./image.js";

/** Writes a Power Management capability at `o`. */
export function writePm(buf: ConfigBuffers, o: number, cap: PmDescription): PmLayout {
  const { bytes, wmask, w1c } = buf;
  const pme = cap.pmeSupport ?? 0;
  checkInt("pmeSupport", pme, 0, 0x1f);
  const aux = cap.auxCurrent ?? 0;
  checkInt("auxCurrent", aux, 0, 7);
  wr8(bytes, o, PciCapId.PM);
  const pmc =
    3 |
    (cap.dsi ? PciPm.PMC_DSI : 0) |
    (aux << 6) |
    (cap.d1 ? PciPm.PMC_D1 : 0) |
    (cap.d2 ? PciPm.PMC_D2 : 0) |
    (pme << PciPm.PMC_PME_SHIFT);
  wr16(bytes, o + PciPm.PMC, pmc);
  wr16(bytes, o + PciPm.PMCSR, (cap.noSoftReset ?? true) ? PciPm.CSR_NO_SOFT_RESET : 0);
  wr16(wmask, o + PciPm.PMCSR, PciPm.CSR_STATE_MASK | (pme !== 0 ? PciPm.CSR_PME_ENABLE : 0));
  if (pme !== 0) wr16(w1c, o + PciPm.PMCSR, PciPm.CSR_PME_STATUS);
  return { offset: o, pmcsr: o + PciPm.PMCSR };
}
