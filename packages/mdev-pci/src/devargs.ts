import { type DeviceAddress, formatAddress, isVfioDeviceError, parseAddress } from "@emu/vfio-device";
import { MdevPciError } from "./errors.js";

/** One `-a`/`-b` argument: an address and its driver arguments (`0000:3b:02.0,queues=2`). */
export interface DeviceArg {
  readonly address: DeviceAddress;
  /** `key=value` pairs after the address; a bare `key` maps to "". */
  readonly args: ReadonlyMap<string, string>;
}

/** Parses a DPDK-style device argument: an address (BDF, mdev UUID, vfio-user socket) then `,key=value` pairs. */
export function parseDeviceArg(text: string): DeviceArg {
  const [head, ...rest] = text.split(",");
  let address: DeviceAddress;
  try {
    address = parseAddress(head ?? "");
  } catch (e) {
    if (isVfioDeviceError(e))
      throw new MdevPciError("BadArgument", `bad device argument "${text}": ${e.message}`, { cause: e });
    throw e;
  }
  const args = new Map<string, string>();
  for (const kv of rest) {
    if (kv === "") throw new MdevPciError("BadArgument", `bad device argument "${text}": empty key between commas`);
    const eq = kv.indexOf("=");
    const key = eq < 0 ? kv : kv.slice(0, eq);
    if (key === "") throw new MdevPciError("BadArgument", `bad device argument "${text}": "${kv}" has no key`);
    if (args.has(key)) throw new MdevPciError("BadArgument", `bad device argument "${text}": "${key}" given twice`);
    args.set(key, eq < 0 ? "" : kv.slice(eq + 1));
  }
  return { address, args };
}

export function formatDeviceArg(arg: DeviceArg): string {
  return [formatAddress(arg.address), ...[...arg.args].map(([k, v]) => (v === "" ? k : `${k}=${v}`))].join(",");
}

/**
 * Which devices the bus takes, as DPDK's EAL options say it: an allow-list (`-a`), or a block-list (`-b`), never
 * both; `noPci` leaves out the host's kernel devices (the sysfs source) while devices from sources the application
 * registered (vfio-user sockets) are still seen, as DPDK's virtual devices survive `--no-pci`.
 */
export interface DeviceSelection {
  readonly allow?: readonly DeviceArg[];
  readonly block?: readonly DeviceAddress[];
  readonly noPci?: boolean;
}

/**
 * Reads the EAL options that select devices from an argument list: `-a`/`--allow`, `-b`/`--block` (each with the
 * value as the next argument or after `=`), and `--no-pci`. Other arguments are returned untouched, in order.
 */
export function parseSelectionArgs(argv: readonly string[]): { selection: DeviceSelection; rest: string[] } {
  const allow: DeviceArg[] = [];
  const block: DeviceAddress[] = [];
  let noPci = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^(-a|--allow|-b|--block)(?:=(.*))?$/.exec(a);
    if (m) {
      const value = m[2] ?? argv[++i];
      if (value === undefined || value === "") throw new MdevPciError("BadArgument", `${m[1]} needs a device address`);
      if (m[1] === "-a" || m[1] === "--allow") allow.push(parseDeviceArg(value));
      else {
        const parsed = parseDeviceArg(value);
        if (parsed.args.size > 0)
          throw new MdevPciError("BadArgument", `${m[1]} ${value}: a blocked device takes no arguments`);
        block.push(parsed.address);
      }
    } else if (a === "--no-pci") noPci = true;
    else rest.push(a);
  }
  if (allow.length > 0 && block.length > 0) {
    throw new MdevPciError("BadArgument", "options -a (allow) and -b (block) cannot be used at the same time");
  }
  return {
    selection: { ...(allow.length ? { allow } : {}), ...(block.length ? { block } : {}), ...(noPci ? { noPci } : {}) },
    rest,
  };
}
