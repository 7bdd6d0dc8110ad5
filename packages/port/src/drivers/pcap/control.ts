// net_pcap: a port over libpcap files, as DPDK's pcap PMD. `rx_pcap=in.pcap` is received packet by packet (from the
// start at each port start; `infinite_rx=1` replays it forever), `tx_pcap=out.pcap` gets every packet sent, with its
// send time, in a file tcpdump and tshark read. Without tx_pcap, sent packets are counted and dropped.
import { closeSync, openSync, readSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { arg } from "@emu/emudev";
import type { PortDriver } from "../../driver.js";
import { PortError } from "../../errors.js";
import { randomMac } from "../../mac.js";
import { decodePcapHeader, encodePcapHeader, PCAP_HEADER_SIZE } from "../../pcap-format.js";

export interface PcapParams {
  readonly rxPath: string;
  readonly txPath: string;
  readonly infinite: boolean;
  /** [0]: the RX file offset of the next record, shared by the threads that serve RX one after another. */
  readonly cursor: SharedArrayBuffer;
}

const args = {
  rx_pcap: arg.string({ default: "", help: "pcap file to receive from" }),
  tx_pcap: arg.string({ default: "", help: "pcap file to write sent packets to" }),
  infinite_rx: arg.bool({ default: false, help: "replay rx_pcap forever" }),
};

/** Reads and checks rx_pcap's header now, so a wrong file is refused when the port is made. */
function checkRxFile(name: string, path: string): void {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new PortError("Io", `${name}: cannot open rx_pcap ${path}: ${(e as NodeJS.ErrnoException).code}`, {
      cause: e,
    });
  }
  try {
    const head = new Uint8Array(PCAP_HEADER_SIZE);
    const n = readSync(fd, head, 0, head.length, 0);
    decodePcapHeader(head.subarray(0, n));
  } catch (e) {
    throw new PortError("InvalidValue", `${name}: rx_pcap ${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    closeSync(fd);
  }
}

export const netPcap: PortDriver<typeof args> = {
  name: "net_pcap",
  args,
  create(host, a) {
    if (a.rx_pcap === "" && a.tx_pcap === "")
      throw new PortError("Devargs", `${host.name}: give rx_pcap=<file> and/or tx_pcap=<file>`);
    const rxPath = a.rx_pcap === "" ? "" : resolve(a.rx_pcap);
    const txPath = a.tx_pcap === "" ? "" : resolve(a.tx_pcap);
    if (rxPath !== "") checkRxFile(host.name, rxPath);
    const cursor = new SharedArrayBuffer(8);
    return {
      capabilities: { maxRxQueues: 1, maxTxQueues: 1 },
      mac: randomMac(),
      start() {
        new Float64Array(cursor)[0] = PCAP_HEADER_SIZE;
        if (txPath === "") return;
        try {
          writeFileSync(txPath, encodePcapHeader());
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          throw new PortError("Io", `${host.name}: cannot create tx_pcap ${txPath}: ${code}`, { cause: e });
        }
      },
      stop() {},
      close() {},
      data: () => ({
        module: new URL("./data.js", import.meta.url).href,
        params: { rxPath, txPath, infinite: a.infinite_rx, cursor } satisfies PcapParams,
      }),
      details: () => ({
        ...(rxPath === "" ? {} : { rx_pcap: rxPath }),
        ...(txPath === "" ? {} : { tx_pcap: txPath }),
      }),
    };
  },
};
