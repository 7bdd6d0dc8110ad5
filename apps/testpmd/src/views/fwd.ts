// Forwarding views: "show config fwd" and what "start" adds about the mode and the queues.
import { formatMac } from "@emu/port";
import type { FwdConfig } from "../fwd/config.js";
import type { FwdMode } from "../fwd/modes-list.js";

export interface FwdView {
  readonly mode: FwdMode;
  readonly config: FwdConfig;
  readonly peerMac: (port: number) => Uint8Array;
}

export const ODD_PORTS_WARNING =
  "\nWarning! port-topology=paired and odd forward ports number, the last port will pair with itself.\n\n";

/** "show config fwd" (ends with an empty line). */
export function fwdConfigView(v: FwdView): string {
  const c = v.config;
  const lines = [
    `${v.mode} packet forwarding - ports=${c.ports.length} - cores=${c.lcores.length} - streams=${c.streams.length} - NUMA support disabled, MP allocation mode: native`,
  ];
  for (const l of c.lcores) {
    lines.push(`Logical Core ${l.lcore} (socket 0) forwards packets on ${l.streams.length} streams:`);
    for (const s of l.streams)
      lines.push(
        `  RX P=${s.rxPort}/Q=${s.rxQueue} (socket 0) -> TX P=${s.txPort}/Q=${s.txQueue} (socket 0) peer=${formatMac(v.peerMac(s.txPort))}`,
      );
  }
  return `${lines.join("\n")}\n\n`;
}

export interface PortQueues {
  readonly id: number;
  readonly rxQueues: number;
  readonly txQueues: number;
  readonly rxDesc: number;
  readonly txDesc: number;
}

/** What "start" prints after the configuration: the mode's settings and each port's first queues. */
export function fwdStartView(
  v: FwdView,
  s: { burst: number; txpkts: number; flows: number },
  ports: readonly PortQueues[],
): string {
  const lines: string[] = [];
  if (v.mode === "flowgen") for (const p of ports) lines.push(`  number of flows for port ${p.id}: ${s.flows}`);
  lines.push(`  ${v.mode} packet forwarding packets/burst=${s.burst}`);
  if (v.mode === "txonly" || v.mode === "flowgen") lines.push(`  packet len=${s.txpkts} - nb packet segments=1`);
  lines.push(`  nb forwarding cores=${v.config.lcores.length} - nb forwarding ports=${ports.length}`);
  for (const p of ports)
    lines.push(
      `  port ${p.id}: RX queue number: ${p.rxQueues} Tx queue number: ${p.txQueues}`,
      "    Rx offloads=0x0 Tx offloads=0x0",
      "    RX queue: 0",
      `      RX desc=${p.rxDesc} - RX free threshold=0`,
      "      RX threshold registers: pthresh=0 hthresh=0  wthresh=0",
      "      RX Offloads=0x0",
      "    TX queue: 0",
      `      TX desc=${p.txDesc} - TX free threshold=0`,
      "      TX threshold registers: pthresh=0 hthresh=0  wthresh=0",
      "      TX offloads=0x0 - TX RS bit threshold=0",
    );
  return `${lines.join("\n")}\n`;
}
