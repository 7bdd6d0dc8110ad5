// The port driver net_iavf_dpa (`port attach <address>,dpa=1,emu=emu_iavf0` in testpmd, which names the port
// `net_iavf_dpa<n>,addr=<address>,…`): a port that chooses the delegated data path for an emu_iavf device. Start opens
// the delegate at `addr` and binds the device to the provider "dpa"; stop detaches it (the delegate is closed), so
// another provider can be attached. No packet passes through the port: its statistics are the delegate's counters.
import { arg } from "@emu/emudev";
import { iavf } from "@emu/iavf-emu";
import { emudevDeviceOf, emudevService, type PortDriver, PortError, randomMac } from "@emu/port";
import { type DeviceAddress, formatAddress, parseAddress } from "@emu/vfio-device";
import { openDelegateDevice } from "./bus.js";
import { attachDelegate, delegateOf, IAVF_DPA } from "./provider.js";

const args = {
  addr: {
    parse: (v: string): DeviceAddress => parseAddress(v),
    help: "the delegate: a PCI address (dddd:bb:dd.f), an mdev UUID, or a vfio-user socket (vfio-user:/path)",
  },
  dpa: arg.bool({ default: true, help: "1: this is the delegated data path (as testpmd's dpa=1)" }),
  emu: arg.string({ help: "the emu_iavf device whose queues the delegate serves" }),
};

const EMU_IAVF = { what: "an emu_iavf device", check: iavf };

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export const netIavfDpa: PortDriver<typeof args> = {
  name: "net_iavf_dpa",
  args,
  create(host, { addr, dpa, emu }) {
    if (!dpa) throw new PortError("Devargs", `${host.name}: dpa=0 asks for no delegated data path`);
    const registry = host.service(emudevService);
    const dev = emudevDeviceOf(host.name, emu, registry, EMU_IAVF);
    const nic = iavf(dev);
    const release = async () => {
      const d = delegateOf(dev);
      if (dev.state !== "closed" && dev.provider === IAVF_DPA) dev.detach();
      await d?.close();
    };
    return {
      capabilities: { maxRxQueues: nic.queuePairs, maxTxQueues: nic.queuePairs, speedMbps: nic.link.speedMbps },
      mac: randomMac(),
      async start() {
        if (dev.state === "closed") throw new PortError("BadState", `${host.name}: ${emu} was closed`);
        if (dev.provider !== undefined)
          throw new PortError(
            "BadState",
            `${host.name}: ${emu} is served by provider ${dev.provider}; detach it first`,
          );
        // Both messages name the address; the bus's also names the source it asked (sysfs or vfio-user).
        let device: Awaited<ReturnType<typeof openDelegateDevice>>;
        try {
          device = await openDelegateDevice(addr);
        } catch (e) {
          throw new PortError("InvalidValue", `${host.name}: no delegate: ${messageOf(e)}`, { cause: e });
        }
        try {
          await attachDelegate(dev, device, registry!);
        } catch (e) {
          throw new PortError(
            "InvalidValue",
            `${host.name}: the delegate ${formatAddress(addr)} cannot serve ${emu}: ${messageOf(e)}`,
            { cause: e },
          );
        }
      },
      stop: release,
      close: release,
      link: () => delegateOf(dev) !== undefined && dev.ready && nic.link.up,
      data: () => ({ module: new URL("./data.js", import.meta.url).href, params: {} }),
      details() {
        const d = delegateOf(dev);
        const c = d?.counters();
        return {
          emu: `${dev.name} (${dev.state}, guest ${dev.connected ? (dev.ready ? "ready" : "connected") : "absent"})`,
          delegate: d === undefined ? "none (port stopped)" : `${d.driver.mac}, ${d.pairs} queue pair(s)`,
          ...(c === undefined
            ? {}
            : {
                doorbells: c.doorbells === "relayed" ? `relayed (${c.doorbellCopies} tails copied)` : c.doorbells,
                "interrupts relayed": String(c.interrupts),
                "interrupts direct": `${c.directVectors} vector(s): the delegate signals the guest's eventfd itself`,
                "guest memory": `${c.dmaMappings} mapping(s) in the delegate, ${c.dmaRefused} refused`,
                "reconfigurations / delegate resets": `${c.syncs} / ${c.delegateResets}`,
              }),
        };
      },
    };
  },
};
