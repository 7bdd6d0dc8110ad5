// Forwarding end to end through testpmd: every mode, packet contents read back from pcap files, and counters that
// add up (port counters, stream counters and the summary).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodePcap } from "@emu/port";
import { tempDir, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { framesOf, testFrame, udpFields } from "./fixtures/packets.js";
import { type Session, session } from "./fixtures/session.js";

/** The number after `label` in `text` (e.g. "RX-packets:"), at the n-th occurrence. */
function figure(text: string, label: string, n = 0): number {
  const all = [...text.matchAll(new RegExp(`${label} +(\\d+)`, "g"))];
  return Number(all[n]?.[1] ?? Number.NaN);
}

async function statsOf(s: Session, port: number) {
  const t = await s.ask(`show port stats ${port}`);
  return { rx: figure(t, "RX-packets:"), tx: figure(t, "TX-packets:"), txErrors: figure(t, "TX-errors:") };
}

async function macOf(s: Session, port: number): Promise<string> {
  return /MAC address: (\S+)/.exec(await s.ask(`show port info ${port}`))![1]!;
}

describe("generating modes", () => {
  it("txonly writes testpmd's UDP packets; the file, the port counters and the summary agree", async () => {
    const out = join(tempDir(), "tx.pcap");
    const s = await session([
      "-l",
      "0-1",
      "--vdev",
      `net_pcap0,tx_pcap=${out}`,
      "--",
      "-i",
      "--forward-mode=txonly",
      "--txpkts=100",
    ]);
    const mac = await macOf(s, 0);
    const start = await s.ask("start");
    expect(start).toContain("  txonly packet forwarding packets/burst=32\n  packet len=100 - nb packet segments=1\n");
    await until(async () => (await statsOf(s, 0)).tx > 5000, 10_000, "5000 packets sent");
    const stop = await s.ask("stop");
    const port = await statsOf(s, 0);
    await s.quit(); // closes the file
    const frames = framesOf(out);
    expect(frames.length).toBe(port.tx);
    expect(figure(stop, "TX-packets:")).toBe(port.tx);
    expect(figure(stop, "TX-dropped:")).toBe(0);
    expect(frames.length % 32).toBe(0); // whole bursts
    const want = {
      dst: "02:00:00:00:00:00", // the peer address of port 0 (paired with itself)
      src: mac,
      etherType: 0x0800,
      ipVersionIhl: 0x45,
      ipLength: 86,
      ttl: 64,
      protocol: 17,
      ipChecksumOk: true,
      ipSrc: "198.18.0.1",
      ipDst: "198.18.0.2",
      udpSrc: 9,
      udpDst: 9,
      udpLength: 66,
      payloadZero: true,
    };
    for (const f of [frames[0]!, frames[frames.length - 1]!]) {
      expect(f.length).toBe(100);
      expect(udpFields(f)).toEqual(want);
    }
    expect(new Set(frames.map((f) => Buffer.from(f).toString("hex"))).size).toBe(1);
  });

  it("flowgen spreads packets over its flows, each with a valid checksum", async () => {
    const out = join(tempDir(), "flows.pcap");
    const s = await session([
      "-l",
      "0-1",
      "--vdev",
      `net_pcap0,tx_pcap=${out}`,
      "--",
      "-i",
      "--forward-mode=flowgen",
      "--flowgen-flows=64",
    ]);
    expect(await s.ask("start")).toContain(
      "  number of flows for port 0: 64\n  flowgen packet forwarding packets/burst=32\n",
    );
    await until(async () => (await statsOf(s, 0)).tx >= 640, 10_000, "packets sent");
    await s.ask("stop");
    await s.quit();
    const frames = framesOf(out);
    const fields = frames.map(udpFields);
    expect(fields.every((f) => f.ipChecksumOk && f.ipSrc === "198.18.0.1" && f.udpDst === 9)).toBe(true);
    expect(new Set(fields.map((f) => f.ipDst)).size).toBe(64);
    expect(fields.slice(0, 3).map((f) => f.ipDst)).toEqual(["198.18.0.2", "198.18.0.3", "198.18.0.4"]);
    expect(fields[64]!.ipDst).toBe("198.18.0.2"); // round and round
  });

  it("txonly with --txonly-multi-flow varies the source address over 256 flows, as DPDK's, checksums valid", async () => {
    const out = join(tempDir(), "multi.pcap");
    const s = await session([
      "-l",
      "0-1",
      "--vdev",
      `net_pcap0,tx_pcap=${out}`,
      "--",
      "-i",
      "--forward-mode=txonly",
      "--txonly-multi-flow",
      "--flowgen-flows=16", // flowgen's: not txonly's
      "--txpkts=100", // longer than a flow's kept head: the rest comes from the template
    ]);
    await s.ask("start");
    await until(async () => (await statsOf(s, 0)).tx >= 300, 10_000, "packets sent");
    await s.ask("stop");
    await s.quit();
    const frames = framesOf(out);
    expect(frames.every((f) => f.length === 100)).toBe(true);
    const fields = frames.map(udpFields);
    expect(fields.every((f) => f.ipChecksumOk && f.ipDst === "198.18.0.2" && f.udpDst === 9)).toBe(true);
    expect(fields.every((f) => f.udpLength === 66 && f.payloadZero)).toBe(true);
    expect(fields.slice(0, 3).map((f) => f.ipSrc)).toEqual(["198.18.0.1", "198.18.0.2", "198.18.0.3"]);
    expect(new Set(fields.slice(0, 256).map((f) => f.ipSrc)).size).toBe(256);
    expect(fields[255]!.ipSrc).toBe("198.18.1.0");
    expect(fields[256]!.ipSrc).toBe("198.18.0.1"); // round and round
  });
});

describe("receiving modes", () => {
  const N = 500;
  const input = Array.from({ length: N }, (_, i) => testFrame(i));

  /** net_pcap0 reads in.pcap (and writes out0), net_pcap1 writes out1; `mode` forwards 0 → 1. */
  async function run(mode: string) {
    const dir = tempDir();
    const inFile = join(dir, "in.pcap");
    writeFileSync(inFile, encodePcap(input));
    const [out0, out1] = [join(dir, "out0.pcap"), join(dir, "out1.pcap")];
    const s = await session([
      "-l",
      "0-1",
      "--vdev",
      `net_pcap0,rx_pcap=${inFile},tx_pcap=${out0}`,
      "--vdev",
      `net_pcap1,tx_pcap=${out1}`,
      "--",
      "-i",
      `--forward-mode=${mode}`,
    ]);
    const mac1 = await macOf(s, 1);
    await s.ask("start");
    await until(async () => (await statsOf(s, 0)).rx === N, 10_000, "the whole file received");
    const stop = await s.ask("stop");
    const p0 = await statsOf(s, 0);
    const p1 = await statsOf(s, 1);
    await s.quit();
    return { stop, p0, p1, mac1, out0: framesOf(out0), out1: framesOf(out1) };
  }

  it("io forwards the file's packets unchanged, in order", async () => {
    const r = await run("io");
    expect(r.out1).toEqual(input);
    expect(r.out0).toEqual([]);
    expect(r.p0).toMatchObject({ rx: N, tx: 0 });
    expect(r.p1).toMatchObject({ rx: 0, tx: N });
    // The summary: port 0 received N, port 1 sent N, the totals likewise.
    expect([figure(r.stop, "RX-packets:", 0), figure(r.stop, "TX-packets:", 1)]).toEqual([N, N]);
    expect([figure(r.stop, "RX-packets:", 2), figure(r.stop, "TX-packets:", 2)]).toEqual([N, N]);
  });

  it("mac rewrites the addresses: the TX port's own as source, its peer's as destination", async () => {
    const r = await run("mac");
    expect(r.out1).toHaveLength(N);
    const mac1 = Uint8Array.from(r.mac1.split(":"), (h) => Number.parseInt(h, 16));
    r.out1.forEach((f, i) => {
      expect([...f.subarray(0, 6)]).toEqual([2, 0, 0, 0, 0, 1]);
      expect([...f.subarray(6, 12)]).toEqual([...mac1]);
      expect(f.subarray(12)).toEqual(input[i]!.subarray(12));
    });
  });

  it("macswap swaps source and destination", async () => {
    const r = await run("macswap");
    r.out1.forEach((f, i) => {
      const g = input[i]!;
      expect([...f.subarray(0, 6), ...f.subarray(6, 12)]).toEqual([...g.subarray(6, 12), ...g.subarray(0, 6)]);
      expect(f.subarray(12)).toEqual(g.subarray(12));
    });
    expect(r.out1).toHaveLength(N);
  });

  it("rxonly receives and drops", async () => {
    const r = await run("rxonly");
    expect(r.out1).toEqual([]);
    expect(r.p0.rx).toBe(N);
    expect(r.p1.tx).toBe(0);
  });
});

describe("net_ring", () => {
  it("an io loop started with tx_first keeps exactly the packets it was given in flight", async () => {
    const s = await session([
      "-l",
      "0-2",
      "--vdev",
      "net_ring0",
      "--vdev",
      "net_ring1,peer=net_ring0",
      "--",
      "-i",
      "--rxq=2",
      "--txq=2",
      "--nb-cores=2",
    ]);
    await s.ask("start tx_first 4");
    await until(async () => (await statsOf(s, 1)).rx > 100_000, 15_000, "the loop to turn");
    const stop = await s.ask("stop");
    const [p0, p1] = [await statsOf(s, 0), await statsOf(s, 1)];
    const streams = 4; // 2 ports × 2 queues, 4 bursts of 32 each
    const inFlight = streams * 4 * 32;
    expect(p0.tx + p1.tx - (p0.rx + p1.rx)).toBe(inFlight);
    expect(p0.tx - p1.rx).toBeGreaterThanOrEqual(0); // what port 0 sent, port 1 received (or it waits in the ring)
    expect(p1.tx - p0.rx).toBeGreaterThanOrEqual(0);
    const streamRx = [0, 1, 2, 3].map((n) => figure(stop, "RX-packets:", n));
    const streamTx = [0, 1, 2, 3].map((n) => figure(stop, "TX-packets:", n));
    expect(streamRx.reduce((a, b) => a + b)).toBe(p0.rx + p1.rx);
    expect(streamTx.reduce((a, b) => a + b)).toBe(p0.tx + p1.tx); // the tx_first bursts count as the streams' too
    expect(stop).not.toMatch(/TX-dropped: [1-9]/);
    expect(figure(stop, "TX-total:", 2)).toBe(p0.tx + p1.tx);
    await s.quit();
  });

  it("txonly into a pair nobody reads fills the rings: the rest is counted as dropped", async () => {
    const s = await session([
      "-l",
      "0-1",
      "--vdev",
      "net_ring0",
      "--vdev",
      "net_ring1,peer=net_ring0",
      "--",
      "-i",
      "--forward-mode=txonly",
      "--rxd=512",
    ]);
    await s.ask("start");
    await until(async () => (await statsOf(s, 0)).tx === 512, 10_000, "the ring to fill");
    await new Promise((r) => setTimeout(r, 100));
    const stop = await s.ask("stop");
    for (const port of [0, 1]) {
      expect(figure(stop, "TX-packets:", port)).toBe(512); // the peer's RX ring holds 512
      const dropped = figure(stop, "TX-dropped:", port);
      expect(dropped).toBeGreaterThan(0);
      expect(figure(stop, "TX-total:", port)).toBe(512 + dropped);
    }
    expect(figure(stop, "RX-packets:", 2)).toBe(0);
    await s.quit();
  });
});
