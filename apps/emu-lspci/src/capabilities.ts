import {
  type CapabilityChainBreak,
  type DecodedCapability,
  type DecodedExtendedCapability,
  PciCapId,
} from "@emu/pci-config";
import { pciName } from "./names.js";
import { type CapContext, pcieLines } from "./pcie-capability.js";
import { hex, pm } from "./text.js";

export type { CapContext } from "./pcie-capability.js";

/** The PM capability's auxiliary current, in mA, by its 3-bit code. */
const AUX_CURRENT_MA = [0, 55, 100, 160, 220, 270, 320, 375];
const VIRTIO_CFG = ["<unknown>", "CommonCfg", "Notify", "ISR", "DeviceCfg"];
/** Standard capabilities lspci names but does not decode ("... <?>"). */
const STD_UNDECODED = new Set([0x06, 0x0b, 0x0e, 0x0f]);

type Cap<K extends DecodedCapability["kind"]> = Extract<DecodedCapability, { kind: K }>;

/** The lines of one standard capability, with their tabs, as lspci prints them. */
export function capabilityLines(cap: DecodedCapability, ctx: CapContext): string[] {
  const at = `\tCapabilities: [${hex(cap.offset, 2)}] `;
  const vv = ctx.verbose >= 2;
  switch (cap.kind) {
    case "pm":
      return pmLines(cap, vv, at);
    case "msi":
      return msiLines(cap, vv, at);
    case "msix":
      return msixLines(cap, vv, at);
    case "pcie":
      ctx.pcieType = cap.deviceType;
      return pcieLines(cap, ctx, at);
    case "vendor":
      return vendorLines(cap, vv, at);
    case "slot-id":
      return [
        `${at}Slot ID: ${cap.expansionSlots} slots, First${pm(cap.firstInChassis)}, chassis ${hex(cap.chassis, 2)}`,
      ];
    case "debug-port":
      return [`${at}Debug port: BAR=${cap.bar} offset=${hex(cap.barOffset, 4)}`];
    case "ssvid":
      return [`${at}Subsystem: ${pciName(cap.subsystemVendorId, cap.subsystemId, ctx.numeric)}`];
    case "af":
      return advancedFeaturesLines(cap, vv, at);
    case "sata":
      return [sataLine(cap, vv, at)];
    case "other":
      return [otherLine(cap, ctx, at)];
  }
}

function pmLines(cap: Cap<"pm">, vv: boolean, at: string): string[] {
  const lines = [`${at}Power Management version ${cap.version}`];
  if (!vv) return lines;
  const pme = (bit: number): string => pm((cap.pmeSupport & (1 << bit)) !== 0);
  lines.push(
    `\t\tFlags: PMEClk${pm(cap.pmeClock)} DSI${pm(cap.dsi)} D1${pm(cap.d1)} D2${pm(cap.d2)} ` +
      `AuxCurrent=${AUX_CURRENT_MA[cap.auxCurrent] ?? 0}mA ` +
      `PME(D0${pme(0)},D1${pme(1)},D2${pme(2)},D3hot${pme(3)},D3cold${pme(4)})`,
    `\t\tStatus: D${cap.powerState} NoSoftRst${pm(cap.noSoftReset)} PME-Enable${pm(cap.pmeEnable)} ` +
      `DSel=${cap.dataSelect} DScale=${cap.dataScale} PME${pm(cap.pmeStatus)}`,
  );
  if (cap.bridgeSupport !== 0) lines.push(`\t\tBridge: PM${pm(cap.busPowerClockControl)} B3${pm(!cap.b2b3)}`);
  return lines;
}

function msiLines(cap: Cap<"msi">, vv: boolean, at: string): string[] {
  const lines = [
    `${at}MSI: Enable${pm(cap.enabled)} Count=${cap.vectorsEnabled}/${cap.vectorsCapable} ` +
      `Maskable${pm(cap.perVectorMask)} 64bit${pm(cap.address64)}`,
  ];
  if (!vv) return lines;
  lines.push(`\t\tAddress: ${hex(cap.address, cap.address64 ? 16 : 8)}  Data: ${hex(cap.data, 4)}`);
  if (cap.perVectorMask)
    lines.push(`\t\tMasking: ${hex(cap.maskBits ?? 0, 8)}  Pending: ${hex(cap.pendingBits ?? 0, 8)}`);
  return lines;
}

function msixLines(cap: Cap<"msix">, vv: boolean, at: string): string[] {
  const lines = [`${at}MSI-X: Enable${pm(cap.enabled)} Count=${cap.tableSize} Masked${pm(cap.functionMask)}`];
  if (vv)
    lines.push(
      `\t\tVector table: BAR=${cap.tableBar} offset=${hex(cap.tableOffset, 8)}`,
      `\t\tPBA: BAR=${cap.pbaBar} offset=${hex(cap.pbaOffset, 8)}`,
    );
  return lines;
}

function vendorLines(cap: Cap<"vendor">, vv: boolean, at: string): string[] {
  const v = cap.virtio;
  if (v === undefined) return [`${at}Vendor Specific Information: Len=${hex(cap.length, 2)} <?>`];
  const lines = [`${at}Vendor Specific Information: VirtIO: ${VIRTIO_CFG[v.cfgType] ?? "<unknown>"}`];
  if (vv)
    lines.push(
      `\t\tBAR=${v.bar} offset=${hex(v.offset, 8)} size=${hex(v.length, 8)}` +
        (v.notifyOffMultiplier === undefined ? "" : ` multiplier=${hex(v.notifyOffMultiplier, 8)}`),
    );
  return lines;
}

function advancedFeaturesLines(cap: Cap<"af">, vv: boolean, at: string): string[] {
  const lines = [`${at}PCI Advanced Features`];
  if (vv)
    lines.push(
      `\t\tAFCap: TP${pm(cap.transactionsPendingCapable)} FLR${pm(cap.flrCapable)}`,
      `\t\tAFCtrl: FLR${pm(cap.initiateFlr)}`,
      `\t\tAFStatus: TP${pm(cap.transactionsPending)}`,
    );
  return lines;
}

function sataLine(cap: Cap<"sata">, vv: boolean, at: string): string {
  const l = `${at}SATA HBA v${cap.major}.${cap.minor}`;
  if (!vv) return l;
  const loc = cap.barLocation;
  if (loc >= 4 && loc <= 9) return `${l} BAR${loc - 4} Offset=${hex(cap.barOffset, 8)}`;
  return loc === 15 ? `${l} InCfgSpace` : `${l} BAR??${loc}`;
}

/** Named but not decoded here: the name, and lspci's "<?>" where lspci does not decode it either. */
function otherLine(cap: Cap<"other">, ctx: CapContext, at: string): string {
  if (cap.id === PciCapId.AGP)
    return `${at}AGP version ${((cap.word >> 4) & 0xf).toString(16)}.${(cap.word & 0xf).toString(16)}`;
  if (cap.id === PciCapId.PCIX) return `${at}PCI-X ${ctx.headerType === 1 ? "bridge" : "non-bridge"} device`;
  if (cap.id === PciCapId.EA) return `${at}Enhanced Allocation (EA): NumEntries=${cap.word & 0x3f}`;
  if (cap.title === undefined) return `${at}Capability ID 0x${cap.id.toString(16)} [${hex(cap.word, 4)}]`;
  return `${at}${cap.title}${STD_UNDECODED.has(cap.id) ? " <?>" : ""}`;
}

/** The lines lspci prints where a capability list stops early. */
export function chainBreakLine(
  brk: CapabilityChainBreak,
  extended: readonly DecodedExtendedCapability[] | undefined,
  verbose: number,
): string {
  if (extended === undefined) {
    if (brk.reason === "unreadable") return "\tCapabilities: <access denied>";
    return `\tCapabilities: [${hex(brk.offset, 2)}] <chain ${brk.reason}>`;
  }
  const version = extended.find((e) => e.offset === brk.offset)?.version ?? 0;
  return `\tCapabilities: [${hex(brk.offset, 3)}${verbose >= 2 ? ` v${version}` : ""}] <chain ${brk.reason}>`;
}
