// Service keys the port layer defines for drivers that plug in from other packages.
import type { EmudevRegistry } from "@emu/emudev";
import { serviceKey } from "./driver.js";

/**
 * The application's emudev registry: a port over an emulated device (`net_iavfbe,emu=emu_iavf0`) finds the device
 * with `host.service(emudevService)?.device("emu_iavf0")`.
 */
export const emudevService = serviceKey<EmudevRegistry>("emudev");
