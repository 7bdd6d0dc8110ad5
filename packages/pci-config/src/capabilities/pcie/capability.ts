import { bit, field } from "../../internal/bits.js";
import { PciExp } from "../../registers/pcie.js";
import type { CapabilityBase, RequireLength } from "../base.js";
import {
  decodeDevCap,
  decodeDevCap2,
  decodeDevCtl,
  decodeDevCtl2,
  decodeDevSta,
  type PcieDevCap,
  type PcieDevCap2,
  type PcieDevCtl,
  type PcieDevCtl2,
  type PcieDevSta,
} from "./device.js";
import {
  decodeLnkCap,
  decodeLnkCap2,
  decodeLnkCtl,
  decodeLnkCtl2,
  decodeLnkSta,
  decodeLnkSta2,
  type PcieLnkCap,
  type PcieLnkCap2,
  type PcieLnkCtl,
  type PcieLnkCtl2,
  type PcieLnkSta,
  type PcieLnkSta2,
} from "./link.js";
import { decodeRoot, type PcieRoot } from "./root.js";
import { decodeSltCap, decodeSltCtl, decodeSltSta, type PcieSltCap, type PcieSltCtl, type PcieSltSta } from "./slot.js";

// The PCI Express capability as a whole: which register groups a function of its type has, each decoded by its
// group's module.

/**
 * The PCI Express capability, register by register. Registers a function of this type does not have are undefined:
 * link registers for root-complex integrated endpoints and event collectors, slot registers unless a root or
 * downstream port has a slot, root registers except on root ports and event collectors, the "2" registers before
 * capability version 2.
 */
export interface DecodedPcie extends CapabilityBase {
  readonly kind: "pcie";
  readonly version: number;
  /** Device/port type code (FLAGS bits 4-7) and its name. */
  readonly deviceType: number;
  readonly deviceTypeName: string;
  readonly slotImplemented: boolean;
  readonly interruptMessageNumber: number;
  readonly devCap: PcieDevCap;
  readonly devCtl: PcieDevCtl;
  readonly devSta: PcieDevSta;
  readonly lnkCap: PcieLnkCap | undefined;
  readonly lnkCtl: PcieLnkCtl | undefined;
  readonly lnkSta: PcieLnkSta | undefined;
  readonly sltCap: PcieSltCap | undefined;
  readonly sltCtl: PcieSltCtl | undefined;
  readonly sltSta: PcieSltSta | undefined;
  readonly root: PcieRoot | undefined;
  readonly devCap2: PcieDevCap2 | undefined;
  readonly devCtl2: PcieDevCtl2 | undefined;
  readonly lnkCap2: PcieLnkCap2 | undefined;
  readonly lnkCtl2: PcieLnkCtl2 | undefined;
  readonly lnkSta2: PcieLnkSta2 | undefined;
}

const PCIE_TYPES: Record<number, string> = {
  [PciExp.TYPE_ENDPOINT]: "Endpoint",
  [PciExp.TYPE_LEG_END]: "Legacy Endpoint",
  [PciExp.TYPE_ROOT_PORT]: "Root Port",
  [PciExp.TYPE_UPSTREAM]: "Upstream Port",
  [PciExp.TYPE_DOWNSTREAM]: "Downstream Port",
  [PciExp.TYPE_PCI_BRIDGE]: "PCI-Express to PCI/PCI-X Bridge",
  [PciExp.TYPE_PCIE_BRIDGE]: "PCI/PCI-X to PCI-Express Bridge",
  [PciExp.TYPE_RC_END]: "Root Complex Integrated Endpoint",
  [PciExp.TYPE_RC_EC]: "Root Complex Event Collector",
};

/**
 * Decodes the PCI Express capability at `o`. The capabilities register (in `base.word`) says which register groups
 * the function has; the others decode as undefined.
 */
export function decodePcie(b: Uint8Array, o: number, base: CapabilityBase, need: RequireLength): DecodedPcie {
  const flags = base.word;
  need(pcieSize(flags));
  const version = flags & PciExp.FLAGS_VERSION_MASK;
  const type = field(flags, PciExp.FLAGS_TYPE_MASK, PciExp.FLAGS_TYPE_SHIFT);
  const hasLink = type !== PciExp.TYPE_RC_END && type !== PciExp.TYPE_RC_EC;
  const slotPossible =
    type === PciExp.TYPE_ROOT_PORT || type === PciExp.TYPE_DOWNSTREAM || type === PciExp.TYPE_PCIE_BRIDGE;
  const hasSlot = slotPossible && bit(flags, PciExp.FLAGS_SLOT);
  const hasRoot = type === PciExp.TYPE_ROOT_PORT || type === PciExp.TYPE_RC_EC;
  const v2 = version >= 2;

  return {
    ...base,
    kind: "pcie",
    version,
    deviceType: type,
    deviceTypeName: PCIE_TYPES[type] ?? `Unknown type ${type}`,
    slotImplemented: bit(flags, PciExp.FLAGS_SLOT),
    interruptMessageNumber: field(flags, PciExp.FLAGS_IRQ_MASK, PciExp.FLAGS_IRQ_SHIFT),
    devCap: decodeDevCap(b, o),
    devCtl: decodeDevCtl(b, o),
    devSta: decodeDevSta(b, o),
    lnkCap: hasLink ? decodeLnkCap(b, o) : undefined,
    lnkCtl: hasLink ? decodeLnkCtl(b, o) : undefined,
    lnkSta: hasLink ? decodeLnkSta(b, o) : undefined,
    sltCap: hasSlot ? decodeSltCap(b, o) : undefined,
    sltCtl: hasSlot ? decodeSltCtl(b, o) : undefined,
    sltSta: hasSlot ? decodeSltSta(b, o) : undefined,
    root: hasRoot ? decodeRoot(b, o) : undefined,
    devCap2: v2 ? decodeDevCap2(b, o) : undefined,
    devCtl2: v2 ? decodeDevCtl2(b, o) : undefined,
    lnkCap2: v2 && hasLink ? decodeLnkCap2(b, o) : undefined,
    lnkCtl2: v2 && hasLink ? decodeLnkCtl2(b, o) : undefined,
    lnkSta2: v2 && hasLink ? decodeLnkSta2(b, o) : undefined,
  };
}

/** The size of a PCI Express capability with these registers (what must lie inside config space). */
function pcieSize(word: number): number {
  const version = word & PciExp.FLAGS_VERSION_MASK;
  const type = field(word, PciExp.FLAGS_TYPE_MASK, PciExp.FLAGS_TYPE_SHIFT);
  if (version >= 2) return PciExp.SIZEOF_V2;
  if (type === PciExp.TYPE_ROOT_PORT || type === PciExp.TYPE_RC_EC) return PciExp.RTSTA + 4;
  return bit(word, PciExp.FLAGS_SLOT) ? PciExp.SLTSTA + 2 : PciExp.LNKSTA + 2;
}
