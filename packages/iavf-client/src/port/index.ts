/**
 * `@emu/iavf-client/port`: the `net_iavf_client` port driver for `@emu/port` (and testpmd): the guest-side iavf driver
 * as an ethdev-like port, zero copy from the port's packet pool.
 */
import type { PortRegistry } from "@emu/port";
import { netIavfClient } from "./control.js";

export type { IavfClientParams } from "./data.js";
export { netIavfClient };

/** A testpmd plugin (`-d @emu/iavf-client/port`): registers `net_iavf_client` (unless it is registered already). */
export function register(ctx: { readonly ports: PortRegistry }): void {
  if (!ctx.ports.hasDriver(netIavfClient.name)) ctx.ports.registerDriver(netIavfClient);
}
