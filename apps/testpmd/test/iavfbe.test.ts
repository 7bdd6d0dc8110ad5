// The emulated NIC in testpmd: `--vdev emu_iavf0,sock=…` makes the device, `port attach net_iavfbe,emu=emu_iavf0`
// its software back-end port; io forwarding wires it to a net_pcap port. A guest (the raw driver of @emu/iavf-emu's
// tests, over vfio-user with memfd guest memory) receives the pcap file's frames byte for byte, and what it transmits
// lands in the output file; the port counters add up.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as iavfDpSw from "@emu/iavf-dp-sw";
import { encodePcap } from "@emu/port";
import { tempDir, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { type Flow, frameOf, payload } from "../../../packages/iavf-dp-sw/test/fixtures/frames.js";
import { openGuest, type Received } from "../../../packages/iavf-dp-sw/test/fixtures/harness.js";
import { framesOf } from "./fixtures/packets.js";
import { session } from "./fixtures/session.js";

const flow: Flow = { src: "198.18.0.1", dst: "198.18.0.2", sport: 9, dport: 9, proto: "udp" };

function figure(text: string, label: string): number {
  return Number(new RegExp(`${label} +(\\d+)`).exec(text)?.[1] ?? Number.NaN);
}

describe("net_iavfbe in testpmd", () => {
  it("port attach net_iavfbe,emu=emu_iavf0; io forwarding with net_pcap both ways, bytes and counters", async () => {
    const dir = tempDir();
    const sock = join(dir, "x.sock");
    const [inFile, outFile] = [join(dir, "in.pcap"), join(dir, "out.pcap")];
    const toGuest = Array.from({ length: 20 }, (_, i) => frameOf(flow, payload(30 + 40 * i, i)));
    writeFileSync(inFile, encodePcap(toGuest));
    const s = await session(
      [
        "-l",
        "0-1",
        "--vdev",
        `emu_iavf0,sock=${sock},queues=1,mac=02:00:00:00:00:01`,
        "--vdev",
        `net_pcap0,rx_pcap=${inFile},tx_pcap=${outFile}`,
        "--",
        "-i",
      ],
      [iavfDpSw],
    );
    expect(s.banner).toContain("EMUDEV: device emu_iavf0 (driver emu_iavf) created and started");
    expect(await s.ask("port attach net_iavfbe,emu=emu_iavf0")).toContain("Port 1 is attached. Now total ports is 2");
    await s.ask("port start 1");
    const { queues } = await openGuest(sock, 1);
    await until(async () => (await s.ask("show port info 1")).includes("Link status: up"), 5000, "the link");
    await queues.post(0, 60);
    await s.ask("start");
    const got: Received[] = [];
    await until(() => {
      got.push(...queues.receive(0));
      return got.length >= toGuest.length;
    });
    expect(got.map((r) => Array.from(r.bytes))).toEqual(toGuest.map((f) => Array.from(f)));
    const fromGuest = Array.from({ length: 15 }, (_, i) => frameOf(flow, payload(50 + i, 100 + i), [2, 0, 0, 0, 0, 9]));
    await queues.transmit(0, fromGuest);
    await until(async () => figure(await s.ask("show port stats 0"), "TX-packets:") === fromGuest.length);
    const stop = await s.ask("stop");
    expect(stop).toContain("Forward statistics for port 1");
    const p1 = await s.ask("show port stats 1");
    expect(figure(p1, "RX-packets:")).toBe(fromGuest.length);
    expect(figure(p1, "TX-packets:")).toBe(toGuest.length);
    expect(figure(p1, "RX-errors:")).toBe(0);
    const info = await s.ask("show port info 1");
    expect(info).toContain("emu_iavf0");
    expect((await s.quit()).status).toBe(0);
    expect(s.stderr()).toBe("");
    expect(framesOf(outFile).map((f) => Array.from(f))).toEqual(fromGuest.map((f) => Array.from(f)));
  });
});
