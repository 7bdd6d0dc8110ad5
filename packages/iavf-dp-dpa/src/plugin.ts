// The testpmd plugin hook (`emu-testpmd -d @emu/iavf-dp-dpa …`): emu_iavf devices from --vdev, the provider "dpa" and
// the port driver net_iavf_dpa, and — where the application takes bus addresses as port names — the claim that makes
// `port attach <address>,dpa=1,emu=emu_iavf0` a net_iavf_dpa port.
import type { EmudevRegistry } from "@emu/emudev";
import { iavfDriver } from "@emu/iavf-emu";
import type { PortRegistry } from "@emu/port";
import { netIavfDpa } from "./port-driver.js";
import { IAVF_DPA, iavfDpa } from "./provider.js";

export interface DpaPluginContext {
  readonly ports: PortRegistry;
  readonly emudev: EmudevRegistry;
  /** An application that takes bus addresses in `port attach`: `<address>,<key>=1,…` becomes a `driver` port. */
  readonly claimAddress?: (key: string, driver: string) => void;
}

/** Registers emu_iavf, dpa and net_iavf_dpa (those already registered are left as they are). */
export function register({ ports, emudev, claimAddress }: DpaPluginContext): void {
  if (!emudev.driverNames().includes(iavfDriver.name)) emudev.registerDriver(iavfDriver);
  if (!emudev.providerNames().includes(IAVF_DPA)) emudev.registerProvider(iavfDpa);
  if (!ports.hasDriver(netIavfDpa.name)) ports.registerDriver(netIavfDpa);
  claimAddress?.("dpa", netIavfDpa.name);
}
