// Vendor and device names as lspci takes them from pci.ids, for the devices emu emulates or drives (the iavf family:
// the AVF and the 700-series VFs); any other ID is shown by number, as lspci shows it without a name database. (A table here, not the host's pci.ids, so the output does not
// depend on which pciutils version is installed.)
import { hex } from "./text.js";

const VENDORS: ReadonlyMap<number, string> = new Map([[0x8086, "Intel Corporation"]]);
const DEVICES: ReadonlyMap<string, string> = new Map([
  ["8086:1889", "Ethernet Adaptive Virtual Function"],
  ["8086:154c", "Ethernet Virtual Function 700 Series"],
  ["8086:1571", "Ethernet Virtual Function 700 Series"],
  ["8086:37cd", "Ethernet Virtual Function 700 Series"],
]);

const ids = (vendor: number, device: number) => `${hex(vendor, 4)}:${hex(device, 4)}`;

/**
 * A device as lspci names it: `Intel Corporation Ethernet Adaptive Virtual Function`, `Intel Corporation Device 1234`,
 * `Device 1234:11ed`; with `numeric` 1 the IDs only, with 2 the name and `[vendor:device]`. For a subsystem, `of` is
 * the function's own IDs: lspci (3.9) names an unknown subsystem of a known vendor after the function's device.
 */
export function pciName(vendor: number, device: number, numeric: number, of?: readonly [number, number]): string {
  const id = ids(vendor, device);
  if (numeric === 1) return id;
  const tag = numeric >= 2 ? ` [${id}]` : "";
  const v = VENDORS.get(vendor);
  if (v === undefined) return numeric >= 2 ? `Device [${id}]` : `Device ${id}`;
  const d = DEVICES.get(of === undefined ? id : ids(of[0], of[1]));
  if (d === undefined) return numeric >= 2 ? `${v} Device${tag}` : `${v} Device ${hex(device, 4)}`;
  return `${v} ${d}${tag}`;
}
