// Service keys the port layer defines for drivers that plug in from other packages.
import type { EmudevDevice, EmudevRegistry } from "@emu/emudev";
import { serviceKey } from "./driver.js";
import { PortError } from "./errors.js";

/**
 * The application's emudev registry: a port over an emulated device (`net_iavfbe,emu=emu_iavf0`) finds the device
 * with `host.service(emudevService)?.device("emu_iavf0")`.
 */
export const emudevService = serviceKey<EmudevRegistry>("emudev");

/**
 * The emudev device `emu` that port `portName` is made over, from the application's registry (`emudevService`).
 * `kind.check` (e.g. `iavf(dev)` of @emu/iavf-emu) throws for a device of another kind: PortError InvalidValue
 * "<emu> is not <kind.what>". No registry, or no such device: PortError Devargs.
 */
export function emudevDeviceOf(
  portName: string,
  emu: string,
  registry: EmudevRegistry | undefined,
  kind?: { readonly what: string; check(dev: EmudevDevice): unknown },
): EmudevDevice {
  if (registry === undefined)
    throw new PortError("Devargs", `${portName}: the application offers no emudev registry (emudevService)`);
  const dev = registry.device(emu);
  if (dev === undefined)
    throw new PortError("Devargs", `${portName}: no emudev device ${emu} (make it with --vdev ${emu},sock=<path>)`);
  if (kind !== undefined) {
    try {
      kind.check(dev);
    } catch (e) {
      throw new PortError("InvalidValue", `${portName}: ${emu} is not ${kind.what}`, { cause: e });
    }
  }
  return dev;
}
