// The testpmd plugin hook (`emu-testpmd -d @emu/iavf-dp-sw …`): emu_iavf devices from --vdev, the iavf-dp-sw provider
// and the net_iavfbe port driver, registered once each.
import type { EmudevRegistry } from "@emu/emudev";
import { iavfDriver } from "@emu/iavf-emu";
import type { PortRegistry } from "@emu/port";
import { netIavfbe } from "./port-driver.js";
import { IAVF_DP_SW, iavfDpSw } from "./provider.js";

/** Registers emu_iavf, iavf-dp-sw and net_iavfbe (those already registered are left as they are). */
export function register({ ports, emudev }: { readonly ports: PortRegistry; readonly emudev: EmudevRegistry }): void {
  if (!emudev.driverNames().includes(iavfDriver.name)) emudev.registerDriver(iavfDriver);
  if (!emudev.providerNames().includes(IAVF_DP_SW)) emudev.registerProvider(iavfDpSw);
  if (!ports.hasDriver(netIavfbe.name)) ports.registerDriver(netIavfbe);
}
