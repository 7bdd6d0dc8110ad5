import * as fs from "node:fs";

/** Where distributions keep the PCI ID database (pciutils / hwdata). */
export const PCI_IDS_PATHS = ["/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids", "/usr/share/pci.ids"] as const;

/** Vendor and device names from a pci.ids file, as lspci shows them. */
export class PciIdDatabase {
  private constructor(
    private readonly vendors: ReadonlyMap<number, string>,
    private readonly devices: ReadonlyMap<number, string>,
  ) {}

  /** Parses pci.ids text: `vvvv  Vendor`, then `\tdddd  Device` lines (subsystems and classes are skipped). */
  static parse(text: string): PciIdDatabase {
    const vendors = new Map<number, string>();
    const devices = new Map<number, string>();
    let vendor: number | undefined;
    for (const line of text.split("\n")) {
      if (line.startsWith("C ")) break; // the class section follows the vendors
      const v = /^([0-9a-f]{4}) {2}(.+)$/.exec(line);
      if (v) {
        vendor = Number.parseInt(v[1]!, 16);
        vendors.set(vendor, v[2]!);
        continue;
      }
      const d = /^\t([0-9a-f]{4}) {2}(.+)$/.exec(line);
      if (d && vendor !== undefined) devices.set(((vendor << 16) | Number.parseInt(d[1]!, 16)) >>> 0, d[2]!);
    }
    return new PciIdDatabase(vendors, devices);
  }

  /** The first readable database of `paths`, or an empty one (names then print as lspci's "Device 1234"). */
  static load(paths: readonly string[] = PCI_IDS_PATHS): PciIdDatabase {
    for (const p of paths) {
      try {
        return PciIdDatabase.parse(fs.readFileSync(p, "utf8"));
      } catch {}
    }
    return new PciIdDatabase(new Map(), new Map());
  }

  vendorName(vendorId: number): string | undefined {
    return this.vendors.get(vendorId);
  }

  /** The device's name, or lspci's fallback `Device 3253`. */
  deviceName(vendorId: number, deviceId: number): string {
    return this.devices.get(((vendorId << 16) | deviceId) >>> 0) ?? `Device ${deviceId.toString(16).padStart(4, "0")}`;
  }
}
