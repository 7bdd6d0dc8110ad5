// Packets through the emulated NIC, two processes: A serves emu_iavf0 and forwards on net_iavfbe, B drives the VF as
// net_iavf_client. Traffic both ways, contents read back from pcap files on the far side, counters that add up.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodePcap } from "@emu/port";
import { until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { composition, figure, portSummary, RSS_KEY, sleep, streams, VF_MAC } from "./fixtures/nic.js";
import { framesOf, udpFields } from "./fixtures/packets.js";

const hexMac = VF_MAC.toUpperCase();

/** Frames of 60..1514 bytes, to `dst`, each numbered in its payload. */
function numbered(count: number, dst: string, tag: number): Uint8Array[] {
  const mac = dst.split(":").map((h) => Number.parseInt(h, 16));
  return Array.from({ length: count }, (_, i) => {
    const f = new Uint8Array(60 + ((i * 37) % 1455));
    f.set(mac, 0);
    f.set([0x02, 0xaa, 0, 0, tag, 1], 6);
    f.set([0x88, 0xb5], 12); // local experimental EtherType
    new DataView(f.buffer).setUint32(14, i);
    for (let k = 18; k < f.length; k++) f[k] = (i * 7 + k) & 0xff;
    return f;
  });
}

function pcap(path: string, frames: readonly Uint8Array[]): string {
  writeFileSync(path, encodePcap(frames.map((data, i) => ({ data, timestamp: i }))));
  return path;
}

async function stopped(p: { ask(l: string): Promise<string> }) {
  return p.ask("stop");
}

describe("one queue pair", { timeout: 120_000 }, () => {
  it("io both ways: frames from a pcap file in A reach B's pcap file byte for byte, and B's reach A's", async () => {
    const dir = (await import("@emu/test-kit")).tempDir({ prefix: "nic-pcap-" });
    const toGuest = numbered(300, VF_MAC, 1);
    const fromGuest = numbered(300, "02:aa:00:00:00:99", 2);
    const nic = await composition(1, {
      a: ["--vdev", `net_pcap0,rx_pcap=${pcap(join(dir, "a-in.pcap"), toGuest)},tx_pcap=${join(dir, "a-out.pcap")}`],
      b: ["--vdev", `net_pcap0,rx_pcap=${pcap(join(dir, "b-in.pcap"), fromGuest)},tx_pcap=${join(dir, "b-out.pcap")}`],
    });
    await nic.a.ask("start");
    await nic.b.ask("start");
    await until(
      async () => figure(await nic.b.ask("show port stats 1"), "TX-packets:") === 300,
      20_000,
      "B's pcap out",
    );
    await until(
      async () => figure(await nic.a.ask("show port stats 0"), "TX-packets:") === 300,
      20_000,
      "A's pcap out",
    );
    await stopped(nic.b);
    await stopped(nic.a);
    expect(await nic.b.quit()).toBe(0); // closes its pcap file
    expect(await nic.a.quit()).toBe(0);
    expect(framesOf(join(dir, "b-out.pcap")).map((f) => [...f])).toEqual(toGuest.map((f) => [...f]));
    expect(framesOf(join(dir, "a-out.pcap")).map((f) => [...f])).toEqual(fromGuest.map((f) => [...f]));
  });

  it("txonly in B → rxonly in A, then txonly in A → rxonly in B: counters add up on both sides", async () => {
    const { a, b } = await composition(1);
    // Guest TX: every packet B's port counts as sent is one the back-end received.
    await a.ask("set fwd rxonly");
    await a.ask("start");
    await b.ask("set fwd txonly");
    await b.ask("start");
    await until(async () => figure(await a.ask("show port stats 0"), "RX-packets:") > 20_000, 20_000, "guest TX");
    const bStop = portSummary(await stopped(b), 0);
    await sleep(200);
    const aStop = portSummary(await stopped(a), 0);
    expect(bStop.tx).toBeGreaterThan(20_000);
    expect(aStop.rx).toBe(bStop.tx);
    // Guest RX: every packet A's port sent, B received or the VF dropped for want of a posted buffer (rx_discards,
    // B's RX-dropped from GET_STATS as DPDK's imissed).
    await b.ask("clear port stats all");
    await a.ask("clear port stats all");
    await b.ask("set fwd rxonly");
    await b.ask("start");
    await a.ask("set fwd txonly");
    await a.ask("start");
    await until(async () => figure(await b.ask("show port stats 0"), "RX-packets:") > 20_000, 20_000, "guest RX");
    const aTx = portSummary(await stopped(a), 0);
    await sleep(200);
    const bRx = portSummary(await stopped(b), 0);
    expect(bRx.rx + bRx.rxDropped).toBe(aTx.tx);
    expect(bRx.rx).toBeGreaterThan(20_000);
    const info = await a.ask("show port info 0");
    expect(info).toContain("Dropped (guest tx): bad address 0, bad length 0, bad type 0, oversize 0");
    // One RX queue: testpmd asks for no RSS (DPDK's init_port_config), the VF is told so (SET_RSS_HENA 0) and the
    // device hashes nothing.
    expect(await b.ask("show port 0 rss-hash")).toBe("RSS disabled\n");
    expect(info).toContain("Rss: off (the guest enabled no packet type)\n");
    expect(await b.ask("show port info 0")).toContain("Supported RSS offload flow types:\n  ipv4\n  ipv4-frag\n");
    expect(await a.ask("show port 0 rss-hash")).toBe("operation not supported by device\n");
  });

  it("io loop with tx_first: packets go round through both processes; what left one side arrived on the other", async () => {
    const { a, b } = await composition(1);
    await a.ask("start");
    await b.ask("start tx_first");
    await until(async () => figure(await a.ask("show port stats 0"), "RX-packets:") > 20_000, 20_000, "the loop");
    const bStop = portSummary(await stopped(b), 0);
    await sleep(200);
    const aStop = portSummary(await stopped(a), 0);
    expect(aStop.rx).toBe(bStop.tx); // B stopped first: nothing of it was in flight when A stopped
    // What A sent after B stopped sits in the guest's RX ring (at most its 1023 posted buffers), or was dropped.
    expect(aStop.tx - bStop.rx).toBeGreaterThanOrEqual(0);
    expect(aStop.tx - bStop.rx).toBeLessThanOrEqual(1023);
    expect(bStop.tx).toBe(bStop.rx + 32); // the tx_first burst is still going round
  });
});

describe("RSS as testpmd configures it", { timeout: 120_000 }, () => {
  it("--rss-udp and --disable-rss reach the VF: the device hashes UDP only, or nothing", async () => {
    const udp = await composition(2, { args: ["--rss-udp"] });
    expect(await udp.b.ask("show port 0 rss-hash")).toBe("RSS functions:\n  ipv4-udp ipv6-udp\n");
    // DPDK's iavf asks for UDP's three pctypes each; the device offers the plain ones
    expect(await udp.a.ask("show port info 0")).toContain("Rss: 2 packet types hashed (HENA 0x20080000000)\n");
    const none = await composition(2, { args: ["--disable-rss"] });
    expect(await none.b.ask("show port 0 rss-hash")).toBe("RSS disabled\n");
    expect(await none.a.ask("show port info 0")).toContain("Rss: off (the guest enabled no packet type)\n");
  });
});

describe("four queue pairs", { timeout: 120_000 }, () => {
  it("RSS spreads A's flows over B's four RX queues; B's four TX queues arrive on A's queue for queue", async () => {
    // B's key is fixed: flowgen's 64 flows differ in 6 bits of the destination address, and Toeplitz is linear, so
    // with a random key (the default, as Linux's and DPDK's) about one run in twenty hashes them onto 2 queues.
    const { a, b } = await composition(4, { args: ["--flowgen-flows=64"], client: `,rss_key=${RSS_KEY}` });
    await b.ask("set fwd rxonly");
    await b.ask("start");
    await a.ask("set fwd flowgen");
    await a.ask("start");
    await until(async () => figure(await b.ask("show port stats 0"), "RX-packets:") > 40_000, 20_000, "guest RX");
    const aStop = await stopped(a);
    await sleep(200);
    const bStop = await stopped(b);
    const rxQueues = streams(bStop).map((s) => s.rx);
    expect(rxQueues).toHaveLength(4);
    for (const n of rxQueues) expect(n).toBeGreaterThan(1000); // every queue gets flows
    // testpmd's default set, RSS_IP, which DPDK's iavf takes as every IPv4 and IPv6 type (the device's offer: 10)
    expect(await b.ask("show port 0 rss-hash")).toBe(
      "RSS functions:\n  ipv4 ipv4-frag ipv4-other ipv6 ipv6-frag ipv6-other\n",
    );
    expect(await a.ask("show port info 0")).toMatch(/Rss: 10 packet types hashed \(HENA 0x[0-9a-f]+\)\n/);
    expect(rxQueues.reduce((x, y) => x + y) + portSummary(bStop, 0).rxDropped).toBe(portSummary(aStop, 0).tx);

    await a.ask("clear port stats all");
    await b.ask("clear port stats all");
    await a.ask("set fwd rxonly");
    await a.ask("start");
    await b.ask("set fwd txonly");
    await b.ask("start");
    await until(async () => figure(await a.ask("show port stats 0"), "RX-packets:") > 40_000, 20_000, "guest TX");
    const bTx = streams(await stopped(b));
    await sleep(200);
    const aRx = streams(await stopped(a));
    expect(aRx.map((s) => s.rx)).toEqual(bTx.map((s) => s.tx)); // per queue: sent = received
    for (const s of bTx) expect(s.tx).toBeGreaterThan(1000);
  });
});

it("the frames are testpmd's own: txonly's UDP packets arrive whole in the guest (pcap in B)", {
  timeout: 120_000,
}, async () => {
  const dir = (await import("@emu/test-kit")).tempDir({ prefix: "nic-udp-" });
  const out = join(dir, "b-out.pcap");
  const { a, b } = await composition(1, { b: ["--vdev", `net_pcap0,tx_pcap=${out}`] });
  await b.ask("start");
  await a.ask("set fwd txonly");
  await a.ask("set txpkts 128");
  await a.ask("start");
  await until(async () => figure(await b.ask("show port stats 1"), "TX-packets:") > 1000, 20_000, "captured");
  await stopped(a);
  await sleep(200);
  await stopped(b);
  expect(await b.quit()).toBe(0);
  const frames = framesOf(out);
  expect(frames.length).toBeGreaterThan(1000);
  for (const f of frames.slice(0, 50))
    expect(udpFields(f)).toMatchObject({
      dst: hexMac,
      ipLength: 114,
      ipChecksumOk: true,
      udpDst: 9,
      payloadZero: true,
    });
});
