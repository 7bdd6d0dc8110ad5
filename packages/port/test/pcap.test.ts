import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodePcap, encodePcap, isPortError, openPortData, type Port } from "@emu/port";
import { tempDir } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { pool, registry, startedPort } from "./fixtures/helpers.js";

const hasTcpdump = spawnSync("tcpdump", ["--version"]).status === 0;
const hasTshark = spawnSync("tshark", ["--version"]).status === 0;

/** An Ethernet/IPv4/UDP frame whose payload is `seq` repeated: length 60 + seq. */
function frame(seq: number): Uint8Array {
  const f = new Uint8Array(60 + seq).fill(seq & 0xff);
  f.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00]); // dst, src, IPv4
  const ip = [0x45, 0, 0, 46 + seq, 0, 0, 0, 0, 64, 17, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2];
  f.set(ip, 14);
  f.set([0, 9, 0, 9, 0, 26 + seq, 0, 0], 34);
  return f;
}

async function receiveAll(p: Port, max = 1000): Promise<Uint8Array[]> {
  const lease = p.lease();
  const mp = p.config!.pool;
  const d = await openPortData(lease.description, { pool: mp });
  const out: Uint8Array[] = [];
  const bufs = new Uint32Array(8);
  while (out.length < max) {
    const k = d.rxBurst(0, bufs, 8);
    if (k === 0) break;
    for (let i = 0; i < k; i++) out.push(mp.packet(bufs[i]!).slice());
    mp.free(bufs, k);
  }
  d.close();
  lease.release();
  return out;
}

async function send(p: Port, frames: readonly Uint8Array[]): Promise<void> {
  const lease = p.lease();
  const mp = p.config!.pool;
  const d = await openPortData(lease.description, { pool: mp });
  const bufs = new Uint32Array(1);
  for (const f of frames) {
    mp.alloc(bufs, 1);
    mp.setPacket(bufs[0]!, f.length);
    mp.packet(bufs[0]!).set(f);
    expect(d.txBurst(0, bufs, 1)).toBe(1);
  }
  d.close(); // flushes the file
  lease.release();
}

describe("net_pcap", () => {
  it("writes what it sends to tx_pcap, byte-exact, in a file tcpdump reads", async () => {
    const dir = tempDir();
    const out = join(dir, "out.pcap");
    const r = registry();
    const mp = pool(64);
    const p = await startedPort(r, `net_pcap0,tx_pcap=${out}`, mp);
    const frames = Array.from({ length: 1000 }, (_, i) => frame(i)); // ~560 KiB: the 256 KiB write buffer fills twice
    const before = Date.now() / 1000;
    await send(p, frames);
    const { header, records } = decodePcap(new Uint8Array(readFileSync(out)));
    expect(header).toMatchObject({ littleEndian: true, nanos: false, versionMajor: 2, versionMinor: 4, linkType: 1 });
    expect(records.map((x) => x.data)).toEqual(frames);
    expect(records.every((x) => x.originalLength === x.data.length)).toBe(true);
    expect(records[0]!.seconds).toBeGreaterThanOrEqual(Math.floor(before));
    expect(records[0]!.fraction).toBeLessThan(1_000_000);
    expect(p.stats()).toMatchObject({ opackets: 1000, obytes: frames.reduce((a, f) => a + f.length, 0) });
    expect(mp.available()).toBe(64);
    await p.stop();
    await p.start(); // a new start truncates the file to its header
    expect(readFileSync(out).length).toBe(24);
  });

  it.skipIf(!hasTcpdump)("tcpdump reads the file: every packet, with our bytes", async () => {
    const out = join(tempDir(), "out.pcap");
    const p = await startedPort(registry(), `net_pcap0,tx_pcap=${out}`, pool(16));
    await send(p, [frame(1), frame(2), frame(3)]);
    const r = spawnSync("tcpdump", ["-r", out, "-nn", "-xx"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const lines = r.stdout.split("\n").filter((l) => /^\d/.test(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/IP 198\.18\.0\.1\.9 > 198\.18\.0\.2\.9: UDP, length 19/);
    expect(r.stdout).toContain("0x0000:  0200 0000 0001 0200 0000 0002 0800 4500");
  });

  it.skipIf(!hasTshark)("tshark reads the file", async () => {
    const out = join(tempDir(), "out.pcap");
    const p = await startedPort(registry(), `net_pcap0,tx_pcap=${out}`, pool(16));
    await send(p, [frame(5)]);
    const r = spawnSync("tshark", ["-r", out, "-T", "fields", "-e", "udp.length"], { encoding: "utf8" });
    expect(r.stdout.trim()).toBe("31");
  });

  it("receives rx_pcap's packets in order, then nothing; a new start reads from the beginning", async () => {
    const dir = tempDir();
    const inFile = join(dir, "in.pcap");
    const frames = Array.from({ length: 50 }, (_, i) => frame(i * 3));
    writeFileSync(inFile, encodePcap(frames));
    const r = registry();
    const mp = pool(64);
    const p = await startedPort(r, `net_pcap0,rx_pcap=${inFile}`, mp);
    // Two threads one after the other continue where the first stopped (the position is shared).
    expect(await receiveAll(p, 20)).toEqual(frames.slice(0, 24)); // bursts of 8 until 20 are reached
    expect(await receiveAll(p)).toEqual(frames.slice(24));
    expect(await receiveAll(p)).toEqual([]);
    await p.stop();
    await p.start();
    expect(await receiveAll(p)).toEqual(frames);
    expect(p.stats()).toMatchObject({ ipackets: 100, ierrors: 0 });
    expect(mp.available()).toBe(64);
  });

  it("infinite_rx replays the file; records too big for a buffer are counted as errors", async () => {
    const dir = tempDir();
    const inFile = join(dir, "in.pcap");
    writeFileSync(inFile, encodePcap([frame(1), new Uint8Array(3000), frame(2)]));
    const r = registry();
    const p = await startedPort(r, `net_pcap0,rx_pcap=${inFile},infinite_rx=1`, pool(64));
    const got = await receiveAll(p, 7);
    expect(got.slice(0, 4)).toEqual([frame(1), frame(2), frame(1), frame(2)]);
    expect(p.stats().ierrors).toBeGreaterThanOrEqual(2);
  });

  it("reads big-endian and nanosecond files", async () => {
    const f = frame(4);
    const be = new Uint8Array(24 + 16 + f.length);
    const v = new DataView(be.buffer);
    v.setUint32(0, 0xa1b23c4d); // nanosecond magic, big-endian
    v.setUint16(4, 2);
    v.setUint16(6, 4);
    v.setUint32(16, 65535);
    v.setUint32(20, 1);
    v.setUint32(24, 1700000000);
    v.setUint32(28, 999_999_999);
    v.setUint32(32, f.length);
    v.setUint32(36, f.length);
    be.set(f, 40);
    expect(decodePcap(be)).toMatchObject({ header: { littleEndian: false, nanos: true }, records: [{ data: f }] });
    const file = join(tempDir(), "be.pcap");
    writeFileSync(file, be);
    const p = await startedPort(registry(), `net_pcap0,rx_pcap=${file}`, pool(8));
    expect(await receiveAll(p)).toEqual([f]);
  });

  it("refuses missing, foreign and truncated files, and devargs without a file", async () => {
    const dir = tempDir();
    const r = registry();
    const notPcap = join(dir, "x.txt");
    writeFileSync(notPcap, "hello, this is not a capture file");
    const errs = await Promise.all(
      [`net_pcap0,rx_pcap=${join(dir, "none.pcap")}`, `net_pcap1,rx_pcap=${notPcap}`, "net_pcap2"].map((d) =>
        r.create(d).catch((e: unknown) => e),
      ),
    );
    expect(errs.map((e) => isPortError(e) && e.reason)).toEqual(["Io", "InvalidValue", "Devargs"]);
    expect((errs[0] as Error).message).toMatch(/net_pcap0: cannot open rx_pcap .*none\.pcap: ENOENT/);
    expect((errs[1] as Error).message).toMatch(/net_pcap1: rx_pcap .*x\.txt: not a pcap file: magic 0x6c6c6568/);
    expect((errs[2] as Error).message).toBe("net_pcap2: give rx_pcap=<file> and/or tx_pcap=<file>");
    const cut = encodePcap([frame(1)]).subarray(0, 50);
    expect(() => decodePcap(cut)).toThrow("pcap record at offset 24 claims 61 bytes; the file ends first");
    expect(() => decodePcap(cut.subarray(0, 30))).toThrow("pcap record header at offset 24 is cut short");
    // A port reads a record cut short as the end of the file.
    const file = join(dir, "cut.pcap");
    writeFileSync(file, Buffer.concat([encodePcap([frame(1), frame(2)]), cut.subarray(24)]));
    const p = await startedPort(r, `net_pcap3,rx_pcap=${file}`, pool(8));
    expect(await receiveAll(p)).toEqual([frame(1), frame(2)]);
    const ro = await startedPort(r, `net_pcap4,tx_pcap=${join(dir, "no/such/dir/out.pcap")}`, pool(8)).catch(
      (e: unknown) => e,
    );
    expect((ro as Error).message).toMatch(/net_pcap4: cannot create tx_pcap .*out\.pcap: ENOENT/);
  });
});
