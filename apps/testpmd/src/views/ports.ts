// Port views: "show port info", "show port summary", "show port <id> rss-hash".
import { type PortInfo, rssHfNames } from "@emu/port";
import { left, speedText } from "./format.js";

/** "show port info N" (it starts with an empty line). */
export function portInfo(id: number, i: PortInfo): string {
  const lines = [
    "",
    `********************* Infos for port ${left(id, 2)} *********************`,
    `MAC address: ${i.macText}`,
    `Device name: ${i.name}`,
    `Driver name: ${i.driver}`,
    `Devargs: ${i.devargs}`,
    ...Object.entries(i.details).map(([k, v]) => `${k[0]!.toUpperCase()}${k.slice(1)}: ${v}`),
    `Port state: ${i.state}${i.configured ? "" : " (not configured)"}`,
    `Link status: ${i.link.up ? "up" : "down"}`,
    `Link speed: ${speedText(i.link.speedMbps)}`,
    `Link duplex: ${i.link.duplex}-duplex`,
    `Autoneg status: ${i.link.autoneg ? "On" : "Off"}`,
    "MTU: 1500",
    `Current number of RX queues: ${i.rxQueues}`,
    `Max possible RX queues: ${i.maxRxQueues}`,
    `Max possible number of RXDs per queue: ${i.maxDesc}`,
    "Min possible number of RXDs per queue: 1",
    `Current number of TX queues: ${i.txQueues}`,
    `Max possible TX queues: ${i.maxTxQueues}`,
    `Max possible number of TXDs per queue: ${i.maxDesc}`,
    "Min possible number of TXDs per queue: 1",
    ...(i.rssHfCapa === 0
      ? ["No RSS offload flow type is supported."]
      : [
          "Supported RSS offload flow types:",
          ...rssHfNames(i.rssHfCapa)
            .split(" ")
            .map((n) => `  ${n}`),
        ]),
    "",
  ];
  return lines.join("\n");
}

/** "show port <id> rss-hash": what RSS hashes on the port, as configured. */
export function rssHash(i: PortInfo): string {
  if (i.rssHfCapa === 0) return "operation not supported by device\n";
  if (i.rssHf === undefined) return "RSS functions: the driver's default\n";
  if (i.rssHf === 0) return "RSS disabled\n";
  return `RSS functions:\n  ${rssHfNames(i.rssHf)}\n`;
}

/** "show port summary": one line per port. */
export function portSummary(total: number, rows: readonly (readonly [number, PortInfo])[]): string {
  const lines = [
    `Number of available ports: ${total}`,
    "Port MAC Address       Name         Driver         Status   Link",
  ];
  for (const [id, i] of rows)
    lines.push(
      `${left(id, 4)} ${left(i.macText, 17)} ${left(i.name, 12)} ${left(i.driver, 14)} ${left(i.link.up ? "up" : "down", 8)} ${speedText(i.link.speedMbps)}`,
    );
  return `${lines.join("\n")}\n`;
}
