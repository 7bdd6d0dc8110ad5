import { formatAddress } from "@emu/vfio-device";
import type { DeviceReport } from "./report.js";
import { hex, pm, showSize } from "./text.js";

const REGION_NAMES = ["BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM", "CONFIG", "VGA"];
const IRQ_NAMES = ["INTx", "MSI", "MSI-X", "ERR", "REQ"];

function flagNames(flags: number, names: readonly string[]): string {
  const set = names.filter((_, i) => (flags & (1 << i)) !== 0);
  return set.length === 0 ? "" : ` <${set.join(" ")}>`;
}

/** Where the device is: the vfio-user session (socket, protocol, limits), or the kernel VFIO device's address. */
function sessionLine(r: DeviceReport): string {
  const n = r.negotiated;
  if (n === undefined || r.address.kind !== "vfio-user") return `VFIO: ${formatAddress(r.address)} (kernel)`;
  return (
    `vfio-user: ${r.address.socketPath}, protocol ${n.major}.${n.minor}, max_data_xfer_size ${n.server.maxDataXferSize}, ` +
    `max_msg_fds ${n.server.maxMsgFds}, twin_socket${pm(n.twinSocket)}, write_multiple${pm(n.writeMultiple)}`
  );
}

/** The VFIO part of the report: session, device flags, regions with sparse areas, IRQs. */
export function vfioLines(r: DeviceReport, verbose: number): string[] {
  const out = [
    sessionLine(r),
    `Device: flags 0x${hex(r.info.flags, 0)}${flagNames(r.info.flags, ["RESET", "PCI"])}, ` +
      `${r.info.numRegions} regions, ${r.info.numIrqs} IRQs`,
  ];
  for (const reg of r.regions) {
    const name = REGION_NAMES[reg.index] ?? `device-specific`;
    if ("error" in reg) {
      out.push(`Region ${reg.index} (${name}): <${reg.error}>`);
      continue;
    }
    if (reg.size === 0n && reg.flags === 0 && verbose < 2) continue;
    out.push(
      `Region ${reg.index} (${name}): size=0x${hex(reg.size, 0)}${showSize(reg.size)}, offset=0x${hex(reg.offset, 0)}, ` +
        `flags=0x${hex(reg.flags, 0)}${flagNames(reg.flags, ["READ", "WRITE", "MMAP", "CAPS"])}`,
    );
    if (reg.sparseAreas !== undefined)
      out.push(
        `\tSparse mmap: ${reg.sparseAreas.length === 0 ? "none" : reg.sparseAreas.map((a) => `[0x${hex(a.offset, 0)}+0x${hex(a.size, 0)}]`).join(" ")}`,
      );
    if (reg.type !== undefined) out.push(`\tType: 0x${hex(reg.type.type, 0)}, subtype 0x${hex(reg.type.subtype, 0)}`);
    if (reg.msixMappable) out.push("\tMSI-X table mappable");
    for (const c of reg.otherCapabilities) out.push(`\tCapability ${c.id} v${c.version}: ${c.data.length} byte(s)`);
  }
  for (const irq of r.irqs) {
    const name = IRQ_NAMES[irq.index] ?? `index ${irq.index}`;
    if ("error" in irq) {
      out.push(`IRQ ${irq.index} (${name}): <${irq.error}>`);
      continue;
    }
    if (irq.count === 0 && verbose < 2) continue;
    out.push(
      `IRQ ${irq.index} (${name}): count=${irq.count}, flags=0x${hex(irq.flags, 0)}` +
        flagNames(irq.flags, ["EVENTFD", "MASKABLE", "AUTOMASKED", "NORESIZE"]),
    );
  }
  return out;
}
