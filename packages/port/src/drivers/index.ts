// The port drivers built into @emu/port.
import type { PortDriver } from "../driver.js";
import { netNull } from "./null/control.js";
import { netPcap } from "./pcap/control.js";
import { netRing } from "./ring/control.js";
import { netTap } from "./tap/control.js";

export { netNull, netPcap, netRing, netTap };

/** net_null, net_ring, net_pcap, net_tap: `new PortRegistry(builtinPortDrivers)`. */
// biome-ignore lint/suspicious/noExplicitAny: drivers of different devargs schemas
export const builtinPortDrivers: readonly PortDriver<any>[] = [netNull, netRing, netPcap, netTap];
