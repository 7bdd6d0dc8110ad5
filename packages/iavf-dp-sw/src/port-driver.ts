// The port driver net_iavfbe (`port attach net_iavfbe,emu=emu_iavf0`): the back-end side of an emu_iavf device as a
// port — its receive takes what the guest transmits, its transmit delivers to the guest. The control half finds the
// device in the application's emudev registry, binds it to the iavf-dp-sw provider while the port is started (the
// device's link follows), and describes the data half: the device's shared block, which every thread maps from.
import { arg, type EmudevDevice, type EmudevRegistry } from "@emu/emudev";
import { LITTLE_ENDIAN_HOST } from "@emu/iavf-common";
import { iavf } from "@emu/iavf-emu";
import { emudevDeviceOf, emudevService, type PortDriver, PortError, randomMac } from "@emu/port";
import type { IavfbeParams } from "./data/index.js";
import { backendOf, IAVF_DP_SW, iavfDpSw } from "./provider.js";

const args = {
  emu: arg.string({ help: "the emu_iavf device to serve (made with --vdev emu_iavf0,sock=<path>)" }),
};

/** The emu_iavf device `emu`, with this package's provider registered in its registry. */
function findDevice(name: string, emu: string, registry: EmudevRegistry | undefined): EmudevDevice {
  const dev = emudevDeviceOf(name, emu, registry, { what: "an emu_iavf device", check: iavf });
  if (!registry?.providerNames().includes(IAVF_DP_SW)) registry?.registerProvider(iavfDpSw);
  return dev;
}

/** The guest's RSS hash set (HENA) in words. */
function rssText(hena: bigint): string {
  if (hena === 0n) return "off (the guest enabled no packet type)";
  const n = hena.toString(2).replaceAll("0", "").length;
  return `${n} packet type${n === 1 ? "" : "s"} hashed (HENA 0x${hena.toString(16)})`;
}

export const netIavfbe: PortDriver<typeof args> = {
  name: "net_iavfbe",
  args,
  create(host, { emu }) {
    if (!LITTLE_ENDIAN_HOST)
      throw new PortError(
        "Unsupported",
        `${host.name}: the data path reads descriptors as words; this host is big-endian`,
      );
    const dev = findDevice(host.name, emu, host.service(emudevService));
    const nic = iavf(dev);
    const mine = () => dev.provider === IAVF_DP_SW && backendOf(dev) !== undefined;
    const release = () => {
      if (dev.state !== "closed" && dev.provider === IAVF_DP_SW) dev.detach();
    };
    return {
      capabilities: { maxRxQueues: nic.queuePairs, maxTxQueues: nic.queuePairs, speedMbps: nic.link.speedMbps },
      mac: randomMac(),
      start() {
        if (dev.state === "closed") throw new PortError("BadState", `${host.name}: ${emu} was closed`);
        if (dev.provider !== undefined && dev.provider !== IAVF_DP_SW)
          throw new PortError(
            "BadState",
            `${host.name}: ${emu} is served by provider ${dev.provider}; detach it first`,
          );
        if (dev.provider === undefined) dev.attach(IAVF_DP_SW);
      },
      stop: release,
      close: release,
      link: () => mine() && dev.ready && nic.link.up,
      data() {
        const b = backendOf(dev);
        if (b === undefined) throw new PortError("BadState", `${host.name}: ${emu} is not attached to ${IAVF_DP_SW}`);
        return {
          module: new URL("./data/index.js", import.meta.url).href,
          params: { blocks: b.blocks, device: dev.name } satisfies IavfbeParams,
        };
      },
      details() {
        const b = backendOf(dev);
        const c = b?.stats.totals();
        return {
          emu: `${dev.name} (${dev.state}, guest ${dev.connected ? (dev.ready ? "ready" : "connected") : "absent"})`,
          "queue pairs": String(nic.queuePairs),
          rss: rssText(nic.rss().hena),
          ...(c === undefined
            ? {}
            : {
                "dropped (guest tx)": `bad address ${c.badAddress}, bad length ${c.badLength}, bad type ${c.badType}, oversize ${c.oversize}, bad offload ${c.badOffload}`,
                "tx offloads": `checksums filled in ${c.offloadChecksums} frames, TSO ${c.offloadTso} packets`,
                "dropped (guest rx)": `no descriptor ${c.noDescriptor}, filtered ${c.filtered}`,
                "bad rings/tails": `${c.badRing}/${c.badTail}`,
                interrupts: String(b?.interrupts ?? 0),
              }),
        };
      },
    };
  },
};
