// The interactive commands: syntax, help section and line, and what each does.
import { CommandError, type Testpmd } from "../app.js";
import type { Forwarding } from "../forwarding.js";
import { FWD_MODES, type FwdMode } from "../fwd/modes-list.js";
import { MIN_TX_LEN } from "../fwd/packets.js";
import { parseSyntax, type Syntax } from "./grammar.js";

export type Section = "control" | "display" | "config" | "ports";

export interface Context {
  readonly app: Testpmd;
  readonly fwd: Forwarding;
  /** Set by quit: the prompt ends after this command. */
  quit(): void;
  help(section: string | undefined): void;
}

export interface Command {
  readonly syntax: Syntax;
  readonly section: Section | "help";
  readonly help: string;
  run(ctx: Context, args: readonly string[]): void | Promise<void>;
}

function command(
  text: string,
  section: Section | "help",
  help: string,
  run: (ctx: Context, args: readonly string[]) => void | Promise<void>,
): Command {
  return { syntax: parseSyntax(text), section, help, run };
}

/** For commands on ports: each selected id (an invalid one printed DPDK's message and selects nothing). */
const ids = (ctx: Context, which: string) => ctx.app.select(which);

function number(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new CommandError(`${what} must be ${min}..${max}`);
  return n;
}

export const COMMANDS: readonly Command[] = [
  command("start", "control", "Start packet forwarding with the current configuration.", (c) => c.fwd.start()),
  command(
    "start tx_first [<n>]",
    "control",
    "Send n bursts (default 1) of txonly packets on every stream first, then forward.",
    (c, [n]) => c.fwd.start(n === undefined ? 1 : number(n, "tx_first bursts", 1, 4096)),
  ),
  command("stop", "control", "Stop forwarding and show the forwarding statistics.", (c) => c.fwd.stop()),
  command("quit", "control", "Stop forwarding, stop and close every port, and leave.", (c) => c.quit()),
  command(
    "show port stats all|<port_id>",
    "display",
    "Port statistics, with throughput since the last show.",
    (c, [w]) => c.app.showStats(ids(c, w!)),
  ),
  command("clear port stats all|<port_id>", "display", "Set port statistics to zero.", (c, [w]) =>
    c.app.clearStats(ids(c, w!)),
  ),
  command("show port info all|<port_id>", "display", "Port information: driver, MAC, link, queues.", (c, [w]) => {
    for (const id of ids(c, w!)) c.app.showInfo(id);
  }),
  command(
    "show port <port_id> rss-hash",
    "display",
    "What RSS hashes on the port (RSS disabled: nothing).",
    (c, [w]) => {
      for (const id of ids(c, w!)) c.app.showRssHash(id);
    },
  ),
  command("show port summary", "display", "One line per port.", (c) => c.app.showSummary(ids(c, "all"))),
  command("show port summary all|<port_id>", "display", "One line for the port(s).", (c, [w]) => {
    const sel = ids(c, w!);
    if (sel.length > 0) c.app.showSummary(sel);
  }),
  command("show config fwd", "display", "Forwarding configuration: mode, lcores, streams.", (c) => c.fwd.showConfig()),
  command("dump_lcores", "display", "Every lcore with the CPUs its thread runs on.", (c) => c.fwd.dumpLcores()),
  command(`set fwd ${FWD_MODES.join("|")}`, "config", "Set the forwarding mode.", (c, [mode]) => {
    c.app.settings.mode = mode as FwdMode;
    c.app.out(`Set ${mode} packet forwarding mode\n`);
  }),
  command("set nbcore <n>", "config", "Set the number of forwarding lcores used.", (c, [n]) => {
    const want = Number(n);
    const max = c.app.fwdLcores.length;
    if (want < 1 || want > max) {
      c.app.out(`nb fwd cores ${want} > ${max} (max. number of configured lcores) - ignored\n`);
      return;
    }
    c.app.settings.nbCores = want;
    c.app.out(`Number of forwarding cores set to ${want}\n`);
  }),
  command("set burst <n>", "config", "Set the packets per burst (1..512).", (c, [n]) => {
    c.app.settings.burst = number(n!, "burst", 1, 512);
    c.app.out(`Number of packets per burst set to ${c.app.settings.burst}\n`);
  }),
  command("set txpkts <n>", "config", `Set the length of generated packets (${MIN_TX_LEN}..2048).`, (c, [n]) => {
    c.app.settings.txpkts = number(n!, "txpkts", MIN_TX_LEN, 2048);
  }),
  command(
    "port attach <devargs>",
    "ports",
    "Attach a port (or an emudev device) from devargs; it stays stopped.",
    (c, [d]) => c.app.attach(d!),
  ),
  command("port detach <port_id>", "ports", "Close and remove a stopped port.", async (c, [w]) => {
    for (const id of ids(c, w!)) await c.app.detach(id);
  }),
  command(
    "port migrate <port_id> <path>",
    "ports",
    "Move a started port's device to the vfio-user server on <path>, forwarding on (live migration).",
    async (c, [w, path]) => {
      for (const id of ids(c, w!)) await c.app.migrate(id, path!);
    },
  ),
  command("port start all|<port_id>", "ports", "Configure and start port(s).", (c, [w]) => {
    const sel = ids(c, w!);
    return sel.length > 0 ? c.app.startPorts(sel) : undefined;
  }),
  command("port stop all|<port_id>", "ports", "Stop port(s).", (c, [w]) => {
    const sel = ids(c, w!);
    return sel.length > 0 ? c.app.stopPorts(sel) : undefined;
  }),
  command("port close all|<port_id>", "ports", "Close stopped port(s).", (c, [w]) => {
    const sel = ids(c, w!);
    return sel.length > 0 ? c.app.closePorts(sel) : undefined;
  }),
  command("help [control|display|config|ports|all]", "help", "Help, by section.", (c, [s]) => c.help(s)),
];
