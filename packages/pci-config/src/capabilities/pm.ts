import { bit, field } from "../internal/bits.js";
import { rd8, rd16 } from "../internal/bytes.js";
import { PciPm } from "../registers/pm.js";
import type { CapabilityBase, RequireLength } from "./base.js";

// Power Management capability: PMC, PMCSR, the bridge support byte and Data.

export interface DecodedPm extends CapabilityBase {
  readonly kind: "pm";
  readonly version: number;
  readonly pmeClock: boolean;
  readonly dsi: boolean;
  /** Aux current field (0..7; 0 = self powered, 1..7 = 55..375 mA). */
  readonly auxCurrent: number;
  readonly d1: boolean;
  readonly d2: boolean;
  /** PME# support mask: bit 0 D0 .. bit 4 D3cold. */
  readonly pmeSupport: number;
  /** 0..3 = D0..D3hot. */
  readonly powerState: number;
  readonly noSoftReset: boolean;
  readonly pmeEnable: boolean;
  /** PMCSR Data_Select (which Data register value is shown) and Data_Scale (its unit). */
  readonly dataSelect: number;
  readonly dataScale: number;
  readonly pmeStatus: boolean;
  /** PMCSR_BSE, the PCI-to-PCI bridge support extensions byte, raw (0 for functions that are not bridges). */
  readonly bridgeSupport: number;
  /** PMCSR_BSE.B2_B3#: a bridge put in D3hot stops its secondary clock (B2) rather than its power (B3). */
  readonly b2b3: boolean;
  /** PMCSR_BSE.BPCC_En: bus power/clock control is enabled. */
  readonly busPowerClockControl: boolean;
  /** The Data register (meaning chosen by `dataSelect`). */
  readonly data: number;
}

export function decodePm(b: Uint8Array, o: number, base: CapabilityBase, need: RequireLength): DecodedPm {
  need(PciPm.SIZEOF);
  const pmc = base.word;
  const csr = rd16(b, o + PciPm.PMCSR);
  const bse = rd8(b, o + PciPm.PMCSR_BSE);
  return {
    ...base,
    kind: "pm",
    version: pmc & PciPm.PMC_VERSION_MASK,
    pmeClock: bit(pmc, PciPm.PMC_PME_CLOCK),
    dsi: bit(pmc, PciPm.PMC_DSI),
    auxCurrent: (pmc & PciPm.PMC_AUX_CURRENT_MASK) >> 6,
    d1: bit(pmc, PciPm.PMC_D1),
    d2: bit(pmc, PciPm.PMC_D2),
    pmeSupport: (pmc & PciPm.PMC_PME_MASK) >> PciPm.PMC_PME_SHIFT,
    powerState: csr & PciPm.CSR_STATE_MASK,
    noSoftReset: bit(csr, PciPm.CSR_NO_SOFT_RESET),
    pmeEnable: bit(csr, PciPm.CSR_PME_ENABLE),
    dataSelect: field(csr, PciPm.CSR_DATA_SEL_MASK, PciPm.CSR_DATA_SEL_SHIFT),
    dataScale: field(csr, PciPm.CSR_DATA_SCALE_MASK, PciPm.CSR_DATA_SCALE_SHIFT),
    pmeStatus: bit(csr, PciPm.CSR_PME_STATUS),
    bridgeSupport: bse,
    b2b3: bit(bse, PciPm.BSE_B2_B3),
    busPowerClockControl: bit(bse, PciPm.BSE_BPCC_EN),
    data: rd8(b, o + PciPm.DATA),
  };
}
