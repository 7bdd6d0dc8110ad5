import { bit } from "../../internal/bits.js";
import { rd16, rd32 } from "../../internal/bytes.js";
import { PciExp } from "../../registers/pcie.js";

// The root register group of the PCI Express capability: RTCTL, RTCAP, RTSTA (root ports and event collectors).

export interface PcieRoot {
  readonly crsSoftwareVisibilityCapable: boolean;
  readonly systemErrorOnCorrectable: boolean;
  readonly systemErrorOnNonFatal: boolean;
  readonly systemErrorOnFatal: boolean;
  readonly pmeInterruptEnable: boolean;
  readonly crsSoftwareVisibilityEnable: boolean;
  readonly pmeRequesterId: number;
  readonly pmeStatus: boolean;
  readonly pmePending: boolean;
}

export function decodeRoot(b: Uint8Array, o: number): PcieRoot {
  const rtctl = rd16(b, o + PciExp.RTCTL);
  const rtcap = rd16(b, o + PciExp.RTCAP);
  const rtsta = rd32(b, o + PciExp.RTSTA);
  return {
    crsSoftwareVisibilityCapable: bit(rtcap, PciExp.RTCAP_CRSSV),
    systemErrorOnCorrectable: bit(rtctl, PciExp.RTCTL_SECEE),
    systemErrorOnNonFatal: bit(rtctl, PciExp.RTCTL_SENFEE),
    systemErrorOnFatal: bit(rtctl, PciExp.RTCTL_SEFEE),
    pmeInterruptEnable: bit(rtctl, PciExp.RTCTL_PMEIE),
    crsSoftwareVisibilityEnable: bit(rtctl, PciExp.RTCTL_CRSSVE),
    pmeRequesterId: rtsta & PciExp.RTSTA_PME_RID_MASK,
    pmeStatus: bit(rtsta, PciExp.RTSTA_PME_STATUS),
    pmePending: bit(rtsta, PciExp.RTSTA_PME_PENDING),
  };
}
