// The emudev driver "emu_iavf": devices emu_iavf0, emu_iavf1, … made from devargs such as
// "emu_iavf0,sock=/tmp/iavf.sock,queues=4,mac=02:00:00:00:00:01".
import { randomBytes } from "node:crypto";
import { type ArgSpec, arg, type EmudevDriver } from "@emu/emudev";
import { formatMac, MAX_QUEUE_PAIRS } from "@emu/iavf-common";
import { IavfDevice } from "./device.js";

/** A unicast MAC other than zero; absent: a random locally administered one. */
const macSpec: ArgSpec<Uint8Array | undefined> = {
  parse(v) {
    const mac = arg.mac().parse(v);
    if (((mac[0] ?? 0) & 1) === 1) throw new Error("a multicast address cannot be a port's MAC");
    if (mac.every((b) => b === 0)) throw new Error("the zero MAC is not an address");
    return mac;
  },
  default: undefined,
  help: "the VF's MAC, xx:xx:xx:xx:xx:xx (default: random, locally administered)",
};

const linkSpec: ArgSpec<"auto" | "up" | "down"> = {
  parse(v) {
    if (v === "auto" || v === "up" || v === "down") return v;
    throw new Error("must be auto (up while a provider is attached), up or down");
  },
  default: "auto",
  help: "the link: auto (up while a provider is attached), up or down; a provider or the application may set it",
};

const args = {
  queues: arg.uint(1, MAX_QUEUE_PAIRS, { default: 1, help: `queue pairs, 1..${MAX_QUEUE_PAIRS}` }),
  mac: macSpec,
  mtu: arg.uint(68, 9702, { default: 1500, help: "the largest MTU the VF may use (max_mtu), 68..9702" }),
  speed: arg.uint(10, 800_000, { default: 25_000, help: "link speed reported to the VF, in Mbps" }),
  link: linkSpec,
};

function randomMac(): Uint8Array {
  const b = randomBytes(6);
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02; // unicast, locally administered
  return b;
}

/** The emudev driver of the emulated Intel AVF NIC. Register it with `registry.registerDriver(iavfDriver)`. */
export const iavfDriver: EmudevDriver<typeof args> = {
  name: "emu_iavf",
  args,
  create(host, a) {
    return new IavfDevice(host, {
      queuePairs: a.queues,
      mac: formatMac(a.mac ?? randomMac()),
      maxMtu: a.mtu,
      speedMbps: a.speed,
      link: a.link,
    });
  },
};
