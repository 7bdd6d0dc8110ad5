// The command line, as DPDK's testpmd reads it: EAL options, then `--`, then the application's options.
import { availableParallelism } from "node:os";
import { RSS_IP, RSS_UDP } from "@emu/port";
import { FWD_MODES, type FwdMode } from "./fwd/modes-list.js";
import { type Lcore, parseLcores } from "./lcores.js";
import { UsageError } from "./usage-error.js";

export interface TestpmdOptions {
  readonly lcores: readonly Lcore[];
  /** --vdev, in order. */
  readonly vdevs: readonly string[];
  /** -a: PCI allow list. */
  readonly allow: readonly string[];
  readonly noPci: boolean;
  readonly filePrefix: string;
  /** 1 (emergency) .. 8 (debug); default 7 (info). */
  readonly logLevel: number;
  /** -d: modules to load (plugins that register port or emudev drivers). */
  readonly plugins: readonly string[];
  readonly interactive: boolean;
  readonly forwardMode: FwdMode;
  readonly nbCores: number;
  readonly rxq: number;
  readonly txq: number;
  /** 0: the driver's default. */
  readonly rxd: number;
  readonly txd: number;
  readonly burst: number;
  /** Seconds between statistics in non-interactive mode; 0 for none. */
  readonly statsPeriod: number;
  readonly txFirst: boolean;
  readonly autoStart: boolean;
  readonly txpkts: number;
  readonly totalMbufs: number;
  /** Bytes of packet data a pool buffer holds (its data room; the headroom comes on top). */
  readonly mbufSize: number;
  readonly flows: number;
  /** txonly (and tx_first) vary the source address packet by packet (DPDK's --txonly-multi-flow). */
  readonly txonlyMultiFlow: boolean;
  /**
   * What RSS hashes on a port with several RX queues (`RssHf` bits, DPDK's rss_hf: RSS_IP by default, --rss-udp,
   * --disable-rss for 0); a port with one RX queue hashes nothing, as testpmd configures it.
   */
  readonly rssHf: number;
  readonly help: boolean;
  readonly version: boolean;
}

type Setter = (o: Mutable, v: string) => void;
type Mutable = { -readonly [K in keyof TestpmdOptions]: TestpmdOptions[K] } & {
  vdevs: string[];
  allow: string[];
  plugins: string[];
};

function int(name: string, min: number, max: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
      throw new UsageError(`${name} must be an integer from ${min} to ${max}, not "${v}"`);
    return Number(v);
  };
}

const LOG_LEVELS = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

function logLevel(v: string): number {
  const level = v.includes(":") ? v.slice(v.lastIndexOf(":") + 1) : v; // "lib.eal:debug": the level applies to all
  if (/^[1-8]$/.test(level)) return Number(level);
  const i = LOG_LEVELS.indexOf(level.toLowerCase());
  if (i < 0) throw new UsageError(`--log-level: "${v}" is not 1..8 or ${LOG_LEVELS.join("|")}`);
  return i + 1;
}

function txpkts(v: string): number {
  if (v.includes(",")) throw new UsageError("--txpkts: multi-segment packets are not supported; give one length");
  return int("--txpkts", 42, 2048)(v);
}

const EAL_VALUED: Readonly<Record<string, Setter>> = {
  "-l": (o, v) => {
    o.lcores = parseLcores(v);
  },
  "--lcores": (o, v) => {
    o.lcores = parseLcores(v);
  },
  "--vdev": (o, v) => o.vdevs.push(v),
  "-a": (o, v) => o.allow.push(v),
  "--allow": (o, v) => o.allow.push(v),
  "--file-prefix": (o, v) => {
    if (!/^[\w.-]+$/.test(v)) throw new UsageError(`--file-prefix "${v}": letters, digits, _ . - only`);
    o.filePrefix = v;
  },
  "--log-level": (o, v) => {
    o.logLevel = logLevel(v);
  },
  "-d": (o, v) => o.plugins.push(v),
  "-m": () => {}, // memory size: buffers live in a memfd sized by --total-num-mbufs
  "-n": () => {}, // memory channels
  "--socket-mem": () => {},
};
const EAL_FLAGS: Readonly<Record<string, (o: Mutable) => void>> = {
  "--no-pci": (o) => {
    o.noPci = true;
  },
  "--no-huge": () => {}, // always: no hugepages here
  "-h": (o) => {
    o.help = true;
  },
  "--help": (o) => {
    o.help = true;
  },
  "-v": (o) => {
    o.version = true;
  },
  "--version": (o) => {
    o.version = true;
  },
};

const APP_VALUED: Readonly<Record<string, Setter>> = {
  "--forward-mode": (o, v) => {
    if (!(FWD_MODES as readonly string[]).includes(v))
      throw new UsageError(`--forward-mode: "${v}" is not one of ${FWD_MODES.join(", ")}`);
    o.forwardMode = v as FwdMode;
  },
  "--nb-cores": (o, v) => {
    o.nbCores = int("--nb-cores", 1, 1023)(v);
  },
  "--rxq": (o, v) => {
    o.rxq = int("--rxq", 1, 1024)(v);
  },
  "--txq": (o, v) => {
    o.txq = int("--txq", 1, 1024)(v);
  },
  "--rxd": (o, v) => {
    o.rxd = int("--rxd", 1, 65535)(v);
  },
  "--txd": (o, v) => {
    o.txd = int("--txd", 1, 65535)(v);
  },
  "--burst": (o, v) => {
    o.burst = int("--burst", 1, 512)(v);
  },
  "--stats-period": (o, v) => {
    o.statsPeriod = int("--stats-period", 1, 86400)(v);
  },
  "--txpkts": (o, v) => {
    o.txpkts = txpkts(v);
  },
  "--total-num-mbufs": (o, v) => {
    o.totalMbufs = int("--total-num-mbufs", 1024, 1_900_000)(v);
  },
  "--mbuf-size": (o, v) => {
    o.mbufSize = int("--mbuf-size", 2048, 65535)(v);
  },
  "--flowgen-flows": (o, v) => {
    o.flows = int("--flowgen-flows", 1, 65536)(v);
  },
};
const APP_FLAGS: Readonly<Record<string, (o: Mutable) => void>> = {
  "--txonly-multi-flow": (o) => {
    o.txonlyMultiFlow = true;
  },
  "--rss-ip": (o) => {
    o.rssHf = RSS_IP;
  },
  "--rss-udp": (o) => {
    o.rssHf = RSS_UDP;
  },
  "--disable-rss": (o) => {
    o.rssHf = 0;
  },
  "-i": (o) => {
    o.interactive = true;
  },
  "--interactive": (o) => {
    o.interactive = true;
  },
  "--tx-first": (o) => {
    o.txFirst = true;
  },
  "-a": (o) => {
    o.autoStart = true;
  },
  "--auto-start": (o) => {
    o.autoStart = true;
  },
  "-h": (o) => {
    o.help = true;
  },
  "--help": (o) => {
    o.help = true;
  },
};

function defaults(): Mutable {
  const cpus = Math.max(availableParallelism(), 2);
  return {
    lcores: Array.from({ length: cpus }, (_, id) => ({ id, cpus: [] })),
    vdevs: [],
    allow: [],
    noPci: false,
    filePrefix: "rte",
    logLevel: 7,
    plugins: [],
    interactive: false,
    forwardMode: "io",
    nbCores: 1,
    rxq: 1,
    txq: 1,
    rxd: 0,
    txd: 0,
    burst: 32,
    statsPeriod: 0,
    txFirst: false,
    autoStart: false,
    txpkts: 64,
    totalMbufs: 0,
    mbufSize: 2048,
    flows: 1024,
    txonlyMultiFlow: false,
    rssHf: RSS_IP,
    help: false,
    version: false,
  };
}

/** Reads one side of `--` against its option tables. */
function readSide(
  args: readonly string[],
  o: Mutable,
  valued: Readonly<Record<string, Setter>>,
  flags: Readonly<Record<string, (o: Mutable) => void>>,
  side: string,
): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    const set = valued[name];
    if (set !== undefined) {
      const v = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      set(o, v);
      continue;
    }
    const flag = flags[a];
    if (flag !== undefined) {
      flag(o);
      continue;
    }
    // Short options glued to their value: -l0-3, -dplugin.js
    const short = /^(-[lad])(.+)$/.exec(a);
    if (short && valued[short[1]!] !== undefined) {
      valued[short[1]!]!(o, short[2]!);
      continue;
    }
    throw new UsageError(`unknown ${side} option ${a}`);
  }
}

/** Parses `[EAL options] -- [application options]`. */
export function parseArgs(argv: readonly string[]): TestpmdOptions {
  const o = defaults();
  const dd = argv.indexOf("--");
  readSide(dd < 0 ? argv : argv.slice(0, dd), o, EAL_VALUED, EAL_FLAGS, "EAL");
  if (dd >= 0) readSide(argv.slice(dd + 1), o, APP_VALUED, APP_FLAGS, "application");
  return o;
}

export const USAGE = `Usage: emu-testpmd [EAL options] -- [testpmd options]

EAL options:
  -l, --lcores <list>     lcores: 0-3, 0,2 or 0@0,1@0 (the first is the main lcore, the rest forward, each
                          pinned to its CPUs: after @, else its own id); without it nothing is pinned
  --vdev <devargs>        add a port (net_null0, net_ring0, net_pcap0,rx_pcap=a.pcap,tx_pcap=b.pcap,
                          net_tap0,iface=dtap0) or an emudev device of a registered driver (repeatable)
  -a, --allow <pci>       PCI device to use (no PCI port driver is built in)
  --no-pci                use no PCI device
  --file-prefix <name>    name of this process's shared memory (default rte)
  --log-level <level>     1..8 or emerg|alert|crit|err|warning|notice|info|debug (default info)
  -d <module>             load a plugin module (it registers port or emudev drivers)
  -m, -n, --no-huge       accepted for DPDK compatibility; no effect
  -h, --help              this text

testpmd options:
  -i, --interactive       interactive prompt
  -a, --auto-start        start forwarding at once (always so without -i)
  --forward-mode <mode>   ${FWD_MODES.join("|")} (default io)
  --nb-cores <n>          forwarding lcores to use (default 1)
  --rxq <n>, --txq <n>    queues per port (default 1)
  --rxd <n>, --txd <n>    ring size per queue (default: the driver's, 1024)
  --burst <n>             packets per burst, 1..512 (default 32)
  --txpkts <len>          length of generated packets, 42..2048 (default 64)
  --tx-first              send a burst on every stream before forwarding
  --stats-period <s>      without -i: show port statistics every s seconds
  --total-num-mbufs <n>   packet buffers in the pool (default: enough for the ports)
  --mbuf-size <n>         packet data a buffer holds, 2048..65535 (default 2048; 65535 for net_tap's tso=1)
  --flowgen-flows <n>     flows of flowgen mode (default 1024)
  --txonly-multi-flow     txonly and tx_first vary the IPv4 source per packet, over 256 flows (RSS spreads them)
  --rss-ip, --rss-udp     what RSS hashes with several RX queues: IP (default) or UDP; with one, nothing
  --disable-rss           no RSS hashing
`;
