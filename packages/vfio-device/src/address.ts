import { VfioDeviceError } from "./errors.js";

/** A PCI function on a host bus, as the kernel names it: domain:bus:device.function. */
export interface PciAddress {
  readonly kind: "pci";
  readonly domain: number;
  readonly bus: number;
  readonly device: number;
  readonly function: number;
}
/** A mediated device, named by its UUID (lower case, canonical 8-4-4-4-12 form). */
export interface MdevAddress {
  readonly kind: "mdev";
  readonly uuid: string;
}
/** A device served over vfio-user on a UNIX socket path. */
export interface VfioUserAddress {
  readonly kind: "vfio-user";
  readonly socketPath: string;
}
export type DeviceAddress = PciAddress | MdevAddress | VfioUserAddress;

const BDF = /^(?:([0-9a-fA-F]{4,8}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function pciAddress(domain: number, bus: number, device: number, fn: number): PciAddress {
  const fields = [
    ["domain", domain, 0xffffffff],
    ["bus", bus, 0xff],
    ["device", device, 0x1f],
    ["function", fn, 7],
  ] as const;
  const bad = fields.find(([, v, max]) => !Number.isInteger(v) || v < 0 || v > max);
  if (bad !== undefined) {
    const [name, v, max] = bad;
    const shown = Number.isInteger(v) && v >= 0 ? `0x${v.toString(16)}` : String(v);
    throw new VfioDeviceError("BadAddress", `not a PCI address: its ${name} is ${shown}, not 0..0x${max.toString(16)}`);
  }
  return { kind: "pci", domain, bus, device, function: fn };
}

/**
 * Parses the address forms a user types, as DPDK's `-a` does:
 * - `0000:3b:00.1` or `3b:00.1` (domain 0 when absent) → a PCI function;
 * - `c0ffee00-1234-5678-9abc-def012345678` → a mediated device;
 * - `vfio-user:/path/to.sock`, or any string containing `/` → a vfio-user socket.
 */
export function parseAddress(text: string): DeviceAddress {
  const s = text.trim();
  if (s.startsWith("vfio-user:")) {
    const socketPath = s.slice("vfio-user:".length);
    if (socketPath === "") throw new VfioDeviceError("BadAddress", `empty vfio-user socket path in "${text}"`);
    return { kind: "vfio-user", socketPath };
  }
  const bdf = BDF.exec(s);
  if (bdf) {
    try {
      return pciAddress(
        Number.parseInt(bdf[1] ?? "0", 16),
        Number.parseInt(bdf[2]!, 16),
        Number.parseInt(bdf[3]!, 16),
        Number.parseInt(bdf[4]!, 10),
      );
    } catch (e) {
      // The shape is a BDF's but a field is out of range (device 0x20, domain above 32 bits): say which, of what text.
      throw new VfioDeviceError("BadAddress", `"${text}" is ${(e as Error).message}`, { cause: e });
    }
  }
  if (UUID.test(s)) return { kind: "mdev", uuid: s.toLowerCase() };
  if (s.includes("/")) return { kind: "vfio-user", socketPath: s };
  throw new VfioDeviceError(
    "BadAddress",
    `"${text}" is not a PCI address (dddd:bb:dd.f), an mdev UUID or a vfio-user socket (vfio-user:/path)`,
  );
}

const hex = (n: number, w: number) => n.toString(16).padStart(w, "0");

/** The canonical text form: `0000:3b:00.1`, the UUID, or `vfio-user:/path`. */
export function formatAddress(a: DeviceAddress): string {
  switch (a.kind) {
    case "pci":
      return `${hex(a.domain, 4)}:${hex(a.bus, 2)}:${hex(a.device, 2)}.${a.function}`;
    case "mdev":
      return a.uuid;
    case "vfio-user":
      return `vfio-user:${a.socketPath}`;
  }
}

export function sameAddress(a: DeviceAddress, b: DeviceAddress): boolean {
  return formatAddress(a) === formatAddress(b);
}
