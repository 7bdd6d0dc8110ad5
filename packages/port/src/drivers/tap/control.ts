// net_tap: a port whose other end is the Linux kernel's network stack, through a TAP interface, as DPDK's tap PMD.
// The interface (`iface=`, default dtap<N>) is made when the port is made and goes when it closes; the port's start
// brings it up (IFF_UP) with one fd per queue pair, its stop brings it down. What the port sends, the kernel
// receives on that interface; what the kernel sends out of it, the port receives. With `offload=1` the interface
// offers the kernel checksum offload: the kernel's packets arrive with their L4 checksum left to the NIC (a checksum
// request in MBUF_FLAGS, offload.ts), and the port's packets that carry one are finished by the kernel.
import { closeSync } from "node:fs";
import { arg } from "@emu/emudev";
import type { PortConfig, PortDriver } from "../../driver.js";
import { PortError } from "../../errors.js";
import { formatMac, randomMac } from "../../mac.js";
import { interfaceMac, MAX_IFNAME, openTapQueue, setInterfaceUp } from "./tun.js";
import { VNET_HDR } from "./vnet-header.js";

export interface TapParams {
  /** fd of queue pair q (RX queue q and TX queue q share it). */
  readonly fds: readonly number[];
  /** Frames carry a virtio-net header (`offload=1`). */
  readonly offload: boolean;
  /** The kernel may send TSO packets (`tso=1`). */
  readonly tso: boolean;
}

const args = {
  iface: arg.string({ default: "", help: `TAP interface name (default dtap<N>), at most ${MAX_IFNAME} bytes` }),
  mac: arg.mac({ default: new Uint8Array(0), help: "the port's MAC address (default: random)" }),
  offload: arg.bool({
    default: false,
    help: "1: checksum offload with the kernel (its packets arrive with a checksum request; requests sent are kept)",
  }),
  tso: arg.bool({
    default: false,
    help: "1 (with offload=1): TCP segmentation offload too: the kernel's TCP arrives in packets of up to 64 KiB (a pool of 65535-byte data rooms)",
  }),
};

/** The data room a pool needs for the kernel's TSO packets (gso_max_size 65536 less the TCP stack's reserve). */
const TSO_ROOM = 65535;

function ioError(name: string, what: string, e: unknown): PortError {
  const code = (e as { code?: string }).code ?? String(e);
  return new PortError("Io", `${name}: ${what}: ${code}`, { cause: e });
}

export const netTap: PortDriver<typeof args> = {
  name: "net_tap",
  args,
  create(host, a) {
    const iface = a.iface || `dtap${/\d+$/.exec(host.name)?.[0] ?? "0"}`;
    if (new TextEncoder().encode(iface).length > MAX_IFNAME || /[\s/:]/.test(iface))
      throw new PortError(
        "Devargs",
        `${host.name}: bad interface name "${iface}" (at most ${MAX_IFNAME} bytes, no /, : or spaces)`,
      );
    if (a.tso && !a.offload)
      throw new PortError("Devargs", `${host.name}: tso=1 needs offload=1 (segmentation comes with checksum offload)`);
    let first: number;
    try {
      first = openTapQueue(iface, a.offload, a.tso);
    } catch (e) {
      throw ioError(host.name, `cannot make TAP interface ${iface} (/dev/net/tun; needs CAP_NET_ADMIN)`, e);
    }
    const fds = [first];
    const mac = a.mac.length === 6 ? a.mac : randomMac();
    const closeExtra = () => {
      for (const fd of fds.splice(1)) closeSync(fd);
    };
    return {
      capabilities: { maxRxQueues: 16, maxTxQueues: 16, maxDesc: 16384 },
      mac,
      start(config: PortConfig) {
        if (a.offload && config.pool.headroom < VNET_HDR)
          throw new PortError(
            "InvalidValue",
            `${host.name}: offload=1 reads and writes a ${VNET_HDR}-byte header before each frame, in the buffers' headroom: the pool has ${config.pool.headroom} bytes`,
          );
        if (a.tso && config.pool.dataRoom < TSO_ROOM)
          throw new PortError(
            "InvalidValue",
            `${host.name}: tso=1 receives TCP packets of up to 64 KiB: the pool's data room is ${config.pool.dataRoom} bytes, ${TSO_ROOM} are needed (testpmd: --mbuf-size=65535)`,
          );
        try {
          while (fds.length < Math.max(config.rxQueues, config.txQueues))
            fds.push(openTapQueue(iface, a.offload, a.tso));
          setInterfaceUp(iface, true);
        } catch (e) {
          closeExtra();
          throw ioError(host.name, `cannot start TAP interface ${iface}`, e);
        }
      },
      stop() {
        closeExtra();
        try {
          setInterfaceUp(iface, false);
        } catch {
          // the interface may be gone with its namespace: nothing to bring down
        }
      },
      close() {
        closeExtra();
        for (const fd of fds.splice(0)) closeSync(fd);
      },
      data: () => ({
        module: new URL("./data.js", import.meta.url).href,
        params: { fds: [...fds], offload: a.offload, tso: a.tso } satisfies TapParams,
      }),
      details() {
        let kernelMac = "?";
        try {
          kernelMac = formatMac(interfaceMac(iface));
        } catch {}
        return { iface, "kernel MAC": kernelMac, offload: a.tso ? "checksums, TSO" : a.offload ? "checksums" : "none" };
      },
    };
  },
};
