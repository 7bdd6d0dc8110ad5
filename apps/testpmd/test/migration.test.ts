// Live migration of a running emulated NIC across processes: B (the guest, net_iavf_client) forwards while its
// device moves from back-end A (emu_iavf0 + net_iavfbe) to a new back-end C with `port migrate`, and back to A (B
// closed its connection to A after the first move, so A takes a new client). Frames numbered in B's pcap input are
// read back from A's and C's pcap outputs: none corrupted, none lost past the NIC, none repeated, and the counters of
// both sides add up, and the gap the receivers see across the move is the downtime reported, not the whole move;
// with the mailbox on its interrupt vector, its interrupts keep coming from each new device; a migration the
// destination refuses leaves B forwarding on A.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodePcap, encodePcap } from "@emu/port";
import { tempDir, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { backEnd, composition, figure, portSummary, sleep, VF_MAC } from "./fixtures/nic.js";
import { framesOf } from "./fixtures/packets.js";

const N = 1000;

/** Frame i of the cycle: to the VF, numbered at byte 14, 64..191 bytes of a pattern that depends on i. */
function frame(i: number): Uint8Array {
  const f = new Uint8Array(64 + (i % 128));
  f.set(
    VF_MAC.split(":").map((h) => Number.parseInt(h, 16)),
    0,
  );
  f.set([0x02, 0xaa, 0, 0, 0, 1], 6);
  f.set([0x88, 0xb5], 12);
  new DataView(f.buffer).setUint32(14, i);
  for (let k = 18; k < f.length; k++) f[k] = (i * 13 + k * 7) & 0xff;
  return f;
}

/** Checks the frames of `files` (in order): `total` of them, each one of the cycle, intact, none repeated. */
function checkFrames(files: readonly string[], total: number): void {
  const out = files.flatMap((f) => [...framesOf(f)]);
  expect(out.length).toBe(total);
  let bad = 0;
  let repeated = 0;
  let last = -1;
  for (const f of out) {
    const i = new DataView(f.buffer, f.byteOffset).getUint32(14);
    const want = frame(i % N);
    if (i >= N || f.length !== want.length || f.some((b, k) => b !== want[k])) bad++;
    if (i === last) repeated++; // B's drops (its ring full) make gaps of any size, never a repeat
    last = i;
  }
  expect(bad).toBe(0);
  expect(repeated).toBe(0); // nothing delivered twice (a replayed ring position would repeat its frames)
}

/** When the frames of a pcap file the receiver wrote were written (its clock: wall time, in ms). */
function writtenAt(path: string): number[] {
  const { header, records } = decodePcap(new Uint8Array(readFileSync(path)));
  return records.map((r) => r.seconds * 1000 + r.fraction / (header.nanos ? 1e6 : 1e3));
}

/** The mailbox's interrupts so far, as B's `show port info` tells them. */
async function mailboxInterrupts(b: { ask(cmd: string): Promise<string> }): Promise<number> {
  const info = await b.ask("show port info 0");
  const m = /Mailbox: vector 0, (\d+) interrupts/.exec(info);
  if (m === null) throw new Error(`no mailbox interrupt count in:\n${info}`);
  return Number(m[1]);
}

describe("port migrate", { timeout: 120_000 }, () => {
  it("traffic keeps flowing across a migration: no frame corrupted, lost or repeated, counters continuous", async () => {
    const dir = tempDir({ prefix: "mig-" });
    const input = join(dir, "b-in.pcap");
    writeFileSync(input, encodePcap(Array.from({ length: N }, (_, i) => ({ data: frame(i), timestamp: i }))));
    const nic = await composition(1, {
      a: ["--vdev", `net_pcap0,tx_pcap=${join(dir, "a-out.pcap")}`],
      b: ["--vdev", `net_pcap0,rx_pcap=${input},infinite_rx=1`],
    });
    const c = await backEnd(join(dir, "y.sock"), 1, ["--vdev", `net_pcap0,tx_pcap=${join(dir, "c-out.pcap")}`]);
    await nic.a.ask("start");
    await c.ask("start");
    await nic.b.ask("start");
    await until(async () => figure(await nic.a.ask("show port stats 0"), "TX-packets:") > 3000, 20_000, "A's output");
    const moved = await nic.b.ask(`port migrate 0 ${join(dir, "y.sock")}`);
    const m = /Port 0 migrated: downtime ([\d.]+) ms, \d+ bytes of device state, ([\d.]+) ms in all/.exec(moved);
    expect(m, moved).not.toBeNull();
    const [downtime, total] = [Number(m?.[1]), Number(m?.[2])];
    await until(async () => figure(await c.ask("show port stats 0"), "TX-packets:") > 3000, 20_000, "C's output");
    const bStop = await nic.b.ask("stop");
    await sleep(300);
    const aStop = await nic.a.ask("stop");
    const cStop = await c.ask("stop");
    const guestTx = portSummary(bStop, 0).tx;
    const [aRx, cRx] = [portSummary(aStop, 1).rx, portSummary(cStop, 1).rx];
    expect(aRx).toBeGreaterThan(3000);
    expect(cRx).toBeGreaterThan(3000);
    expect(aRx + cRx).toBe(guestTx); // every frame the guest sent was received by A before or by C after
    expect(await nic.b.quit()).toBe(0);
    expect(await nic.a.quit()).toBe(0); // closes its pcap file
    expect(await c.quit()).toBe(0);
    checkFrames([join(dir, "a-out.pcap"), join(dir, "c-out.pcap")], guestTx);
    // The downtime reported is what the traffic sees. From the receivers' side the gap runs from A's last frame to C's
    // first; B's rings run on through the rest of the move, so the gap is nearer the downtime than the whole move (a
    // port that paused them for all of it would show a gap of nearly the whole move). Scheduling on a busy 2-CPU
    // machine adds some ms at either end, so no tighter bound than that.
    const [aAt, cAt] = [writtenAt(join(dir, "a-out.pcap")), writtenAt(join(dir, "c-out.pcap"))];
    const gap = (cAt[0] ?? 0) - (aAt.at(-1) ?? 0); // each file is written in time order
    const why = `receivers' gap ${gap.toFixed(2)} ms; ${moved}`;
    expect(gap, why).toBeGreaterThan(0);
    expect(gap, why).toBeLessThan(downtime + (total - downtime) / 2);
  });

  it("there and back with the mailbox on its interrupt: A → C → A, counters continuous", async () => {
    const dir = tempDir({ prefix: "mig-" });
    const input = join(dir, "b-in.pcap");
    writeFileSync(input, encodePcap(Array.from({ length: N }, (_, i) => ({ data: frame(i), timestamp: i }))));
    const nic = await composition(1, {
      a: ["--vdev", `net_pcap0,tx_pcap=${join(dir, "a-out.pcap")}`],
      b: ["--vdev", `net_pcap0,rx_pcap=${input},infinite_rx=1`],
      client: ",intr=1",
    });
    const c = await backEnd(join(dir, "y.sock"), 1, ["--vdev", `net_pcap0,tx_pcap=${join(dir, "c-out.pcap")}`]);
    const aSock = join(nic.dir, "x.sock");
    await nic.a.ask("start");
    await c.ask("start");
    await nic.b.ask("start");
    const aOut = async () => figure(await nic.a.ask("show port stats 0"), "TX-packets:");
    const cOut = async () => figure(await c.ask("show port stats 0"), "TX-packets:");
    await until(async () => (await aOut()) > 3000, 20_000, "A's output");
    const there = await nic.b.ask(`port migrate 0 ${join(dir, "y.sock")}`);
    expect(there).toMatch(/Port 0 migrated: downtime [\d.]+ ms/);
    const irqsThere = await mailboxInterrupts(nic.b);
    await until(async () => (await cOut()) > 3000, 20_000, "C's output");
    // GET_STATS every 100 ms: its replies raise vector 0, now C's eventfd.
    await until(async () => (await mailboxInterrupts(nic.b)) > irqsThere + 5, 10_000, "mailbox interrupts from C");
    const aBefore = await aOut();
    const back = await nic.b.ask(`port migrate 0 ${aSock}`); // A's server was let go: it takes B again
    expect(back).toMatch(/Port 0 migrated: downtime [\d.]+ ms/);
    const irqsBack = await mailboxInterrupts(nic.b);
    await until(async () => (await aOut()) > aBefore + 3000, 20_000, "A's output again");
    await until(async () => (await mailboxInterrupts(nic.b)) > irqsBack + 5, 10_000, "mailbox interrupts from A");
    const bStop = await nic.b.ask("stop");
    await sleep(300);
    const aStop = await nic.a.ask("stop");
    const cStop = await c.ask("stop");
    const guestTx = portSummary(bStop, 0).tx;
    const [aRx, cRx] = [portSummary(aStop, 1).rx, portSummary(cStop, 1).rx];
    expect(cRx).toBeGreaterThan(3000);
    expect(aRx).toBeGreaterThan(aBefore + 3000);
    expect(aRx + cRx).toBe(guestTx);
    expect(await nic.b.quit()).toBe(0);
    expect(await nic.a.quit()).toBe(0);
    expect(await c.quit()).toBe(0);
    checkFrames([join(dir, "a-out.pcap"), join(dir, "c-out.pcap")], guestTx);
  });

  it("a destination of another shape refuses the device state: B keeps forwarding on A", async () => {
    const dir = tempDir({ prefix: "mig-" });
    const { a, b } = await composition(1);
    await backEnd(join(dir, "z.sock"), 1, [], [], "02:00:00:00:00:07"); // another MAC: not this device
    await a.ask("set fwd rxonly");
    await a.ask("start");
    await b.ask("set fwd txonly");
    await b.ask("start");
    await until(async () => figure(await a.ask("show port stats 0"), "RX-packets:") > 2000, 20_000, "guest TX");
    const refused = await b.ask(`port migrate 0 ${join(dir, "z.sock")}`);
    expect(refused).toContain("migration failed at restoring the device state at the destination");
    expect(refused).not.toContain("migrated:");
    const before = figure(await a.ask("show port stats 0"), "RX-packets:");
    await until(
      async () => figure(await a.ask("show port stats 0"), "RX-packets:") > before + 2000,
      20_000,
      "A still receiving",
    );
    const bStop = portSummary(await b.ask("stop"), 0);
    await sleep(200);
    const aStop = portSummary(await a.ask("stop"), 0);
    expect(aStop.rx).toBe(bStop.tx);
  });
});
