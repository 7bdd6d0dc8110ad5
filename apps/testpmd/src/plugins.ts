// Plugins: modules that register drivers into testpmd's registries before any device is made — port drivers (a
// future net_iavfbe, net_iavf_client) and emudev drivers (emu_iavf). Loaded with `-d <module>` (DPDK's option for
// driver libraries) or handed to runTestpmd by a program that embeds it.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { EmudevRegistry } from "@emu/emudev";
import type { PortRegistry } from "@emu/port";
import { UsageError } from "./usage-error.js";

/** What a plugin is given: the registries testpmd makes ports and emudev devices from. */
export interface PluginContext {
  readonly ports: PortRegistry;
  readonly emudev: EmudevRegistry;
  /**
   * Claims bus addresses as port names: `port attach <address>,<key>=1,…` (a BDF, an mdev UUID, `vfio-user:/path`)
   * then makes a port of `driver` with devargs `addr=<address>,<key>=1,…`.
   */
  readonly claimAddress: (key: string, driver: string) => void;
}

export interface TestpmdPlugin {
  register(ctx: PluginContext): void | Promise<void>;
}

/** Imports `-d <module>`: a path (relative to the working directory) or a package name; it exports `register`. */
export async function loadPlugin(spec: string): Promise<TestpmdPlugin> {
  const url = spec.startsWith(".") || spec.startsWith("/") ? pathToFileURL(resolve(spec)).href : spec;
  let mod: { register?: unknown; default?: { register?: unknown } };
  try {
    mod = (await import(url)) as typeof mod;
  } catch (e) {
    throw new UsageError(`-d ${spec}: cannot load it: ${e instanceof Error ? e.message : String(e)}`);
  }
  const plugin = typeof mod.register === "function" ? mod : mod.default;
  if (typeof plugin?.register !== "function") throw new UsageError(`-d ${spec}: it exports no register(ctx) function`);
  return plugin as TestpmdPlugin;
}
