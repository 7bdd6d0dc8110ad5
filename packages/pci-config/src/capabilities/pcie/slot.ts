import { bit, field } from "../../internal/bits.js";
import { rd16, rd32 } from "../../internal/bytes.js";
import { PciExp } from "../../registers/pcie.js";
import { pciePowerLimitWatts } from "./encodings.js";

// The slot register group of the PCI Express capability: SLTCAP, SLTCTL, SLTSTA (ports with a slot).

export interface PcieSltCap {
  readonly attentionButton: boolean;
  readonly powerController: boolean;
  readonly mrlSensor: boolean;
  readonly attentionIndicator: boolean;
  readonly powerIndicator: boolean;
  readonly hotPlugSurprise: boolean;
  readonly hotPlugCapable: boolean;
  /** Slot power limit in watts (Infinity for the "greater than 600 W" encoding). */
  readonly powerLimitWatts: number;
  readonly electromechanicalInterlock: boolean;
  readonly noCommandCompleted: boolean;
  readonly physicalSlotNumber: number;
  readonly raw: number;
}

export interface PcieSltCtl {
  readonly attentionButtonPressedEnable: boolean;
  readonly powerFaultDetectedEnable: boolean;
  readonly mrlSensorChangedEnable: boolean;
  readonly presenceDetectChangedEnable: boolean;
  readonly commandCompletedInterruptEnable: boolean;
  readonly hotPlugInterruptEnable: boolean;
  /** Indicator controls: 0 reserved, 1 on, 2 blink, 3 off. */
  readonly attentionIndicator: number;
  readonly powerIndicator: number;
  /** Power Controller Control (set = power off). */
  readonly powerControllerOff: boolean;
  readonly electromechanicalInterlock: boolean;
  readonly dataLinkLayerStateChangedEnable: boolean;
  readonly raw: number;
}

export interface PcieSltSta {
  readonly attentionButtonPressed: boolean;
  readonly powerFaultDetected: boolean;
  readonly mrlSensorChanged: boolean;
  readonly presenceDetectChanged: boolean;
  readonly commandCompleted: boolean;
  /** MRL sensor state (set = open). */
  readonly mrlSensorOpen: boolean;
  readonly presenceDetected: boolean;
  readonly electromechanicalInterlockEngaged: boolean;
  readonly dataLinkLayerStateChanged: boolean;
  readonly raw: number;
}

export function decodeSltCap(b: Uint8Array, o: number): PcieSltCap {
  const sltcap = rd32(b, o + PciExp.SLTCAP);
  return {
    attentionButton: bit(sltcap, PciExp.SLTCAP_ABP),
    powerController: bit(sltcap, PciExp.SLTCAP_PCP),
    mrlSensor: bit(sltcap, PciExp.SLTCAP_MRLSP),
    attentionIndicator: bit(sltcap, PciExp.SLTCAP_AIP),
    powerIndicator: bit(sltcap, PciExp.SLTCAP_PIP),
    hotPlugSurprise: bit(sltcap, PciExp.SLTCAP_HPS),
    hotPlugCapable: bit(sltcap, PciExp.SLTCAP_HPC),
    powerLimitWatts: pciePowerLimitWatts(
      field(sltcap, PciExp.SLTCAP_SPLV_MASK, PciExp.SLTCAP_SPLV_SHIFT),
      field(sltcap, PciExp.SLTCAP_SPLS_MASK, PciExp.SLTCAP_SPLS_SHIFT),
    ),
    electromechanicalInterlock: bit(sltcap, PciExp.SLTCAP_EIP),
    noCommandCompleted: bit(sltcap, PciExp.SLTCAP_NCCS),
    physicalSlotNumber: sltcap >>> PciExp.SLTCAP_PSN_SHIFT,
    raw: sltcap,
  };
}

export function decodeSltCtl(b: Uint8Array, o: number): PcieSltCtl {
  const sltctl = rd16(b, o + PciExp.SLTCTL);
  return {
    attentionButtonPressedEnable: bit(sltctl, PciExp.SLTCTL_ABPE),
    powerFaultDetectedEnable: bit(sltctl, PciExp.SLTCTL_PFDE),
    mrlSensorChangedEnable: bit(sltctl, PciExp.SLTCTL_MRLSCE),
    presenceDetectChangedEnable: bit(sltctl, PciExp.SLTCTL_PDCE),
    commandCompletedInterruptEnable: bit(sltctl, PciExp.SLTCTL_CCIE),
    hotPlugInterruptEnable: bit(sltctl, PciExp.SLTCTL_HPIE),
    attentionIndicator: field(sltctl, PciExp.SLTCTL_AIC_MASK, PciExp.SLTCTL_AIC_SHIFT),
    powerIndicator: field(sltctl, PciExp.SLTCTL_PIC_MASK, PciExp.SLTCTL_PIC_SHIFT),
    powerControllerOff: bit(sltctl, PciExp.SLTCTL_PCC),
    electromechanicalInterlock: bit(sltctl, PciExp.SLTCTL_EIC),
    dataLinkLayerStateChangedEnable: bit(sltctl, PciExp.SLTCTL_DLLSCE),
    raw: sltctl,
  };
}

export function decodeSltSta(b: Uint8Array, o: number): PcieSltSta {
  const sltsta = rd16(b, o + PciExp.SLTSTA);
  return {
    attentionButtonPressed: bit(sltsta, PciExp.SLTSTA_ABP),
    powerFaultDetected: bit(sltsta, PciExp.SLTSTA_PFD),
    mrlSensorChanged: bit(sltsta, PciExp.SLTSTA_MRLSC),
    presenceDetectChanged: bit(sltsta, PciExp.SLTSTA_PDC),
    commandCompleted: bit(sltsta, PciExp.SLTSTA_CC),
    mrlSensorOpen: bit(sltsta, PciExp.SLTSTA_MRLSS),
    presenceDetected: bit(sltsta, PciExp.SLTSTA_PDS),
    electromechanicalInterlockEngaged: bit(sltsta, PciExp.SLTSTA_EIS),
    dataLinkLayerStateChanged: bit(sltsta, PciExp.SLTSTA_DLLSC),
    raw: sltsta,
  };
}
