// Receive-side scaling as a real NIC does it: with 4 queue pairs, the key, LUT and HENA the guest configured, each
// flow lands on RX queue LUT[hash & 63] — the hash computed here, independently, with the tests' bit-by-bit Toeplitz
// (checked against the verification suite in toeplitz.test.ts) — and the write-back carries the hash (FLTSTAT 3);
// a classifier type HENA leaves out is not hashed (queue LUT[0]... the default queue 0, no hash). The guest's four
// TX queues reach the port's four RX queues.
import { RssPctype, RxPtype, RxStatus } from "@emu/iavf-common";
import { until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { type Flow, frameOf, hashInput, MS_KEY, payload, toeplitzReference } from "./fixtures/frames.js";
import { openGuest, type Received, serveBackend } from "./fixtures/harness.js";

const PAIRS = 4;
/** An irregular LUT: entry i → queue (i * 3 + 1) % 4. */
const LUT = Uint8Array.from({ length: 64 }, (_, i) => (i * 3 + 1) % PAIRS);
const bit = (b: number) => 1n << BigInt(b);
/** UDP and TCP over IPv4 and IPv6 are hashed; IPv6 TCP is left out. */
const HENA =
  bit(RssPctype.NONF_IPV4_UDP) |
  bit(RssPctype.NONF_IPV4_TCP) |
  bit(RssPctype.NONF_IPV6_UDP) |
  bit(RssPctype.NONF_IPV4_OTHER);

function flows(): Flow[] {
  const out: Flow[] = [];
  for (let i = 0; i < 24; i++)
    out.push({ src: `10.0.${i}.1`, dst: "10.1.0.2", sport: 1024 + 37 * i, dport: 80, proto: i % 2 ? "tcp" : "udp" });
  for (let i = 0; i < 12; i++)
    out.push({ src: `2001:db8::${i + 1}`, dst: "2001:db8:1::2", sport: 5000 + i, dport: 53, proto: "udp" });
  for (let i = 0; i < 4; i++)
    out.push({ src: `2001:db8::${i + 1}`, dst: "2001:db8:1::2", sport: 6000 + i, dport: 443, proto: "tcp" });
  return out;
}

describe("RSS over 4 queue pairs", () => {
  it("spreads flows by the guest's key, LUT and HENA; the hash is in the write-back", async () => {
    const be = await serveBackend(PAIRS);
    const { queues } = await openGuest(be.sock, PAIRS, { key: MS_KEY, lut: LUT, hena: HENA });
    await until(() => be.ask<boolean>("ready"));
    for (let q = 0; q < PAIRS; q++) await queues.post(q, RING_POST);
    const fs = flows();
    const frames = fs.map((f, i) => frameOf(f, payload(64, i)));
    // Two frames per flow, from two port TX queues: the queue a frame leaves on does not matter, its flow does.
    expect(await be.ask("tx", 0, frames)).toBe(frames.length);
    expect(await be.ask("tx", 3, frames)).toBe(frames.length);
    const got: Received[][] = Array.from({ length: PAIRS }, () => []);
    await until(() => {
      for (let q = 0; q < PAIRS; q++) got[q]!.push(...queues.receive(q));
      return got.flat().length >= 2 * frames.length;
    });
    const where = new Map<string, { queue: number; hash: number; status: number; ptype: number }[]>();
    got.forEach((rs, queue) => {
      for (const r of rs) {
        const k = Array.from(r.bytes).join(",");
        where.set(k, [...(where.get(k) ?? []), { queue, hash: r.hash, status: r.status, ptype: r.ptype }]);
      }
    });
    const used = new Set<number>();
    fs.forEach((f, i) => {
      const seen = where.get(Array.from(frames[i]!).join(","));
      expect(seen, `flow ${i}`).toHaveLength(2);
      const hashed = !(f.proto === "tcp" && f.src.includes(":"));
      const h = toeplitzReference(MS_KEY, hashInput(f));
      const queue = hashed ? LUT[h & 63]! : 0;
      used.add(queue);
      for (const s of seen ?? []) {
        expect(s.queue, `flow ${i} ${f.src}:${f.sport} ${f.proto}`).toBe(queue);
        const fltstat = (s.status >>> RxStatus.FLTSTAT_SHIFT) & 3;
        expect(fltstat).toBe(hashed ? RxStatus.FLTSTAT_RSS_HASH : 0);
        if (hashed) expect(s.hash).toBe(h);
        const v6 = f.src.includes(":");
        expect(s.ptype).toBe(
          f.proto === "udp" ? (v6 ? RxPtype.IPV6_UDP : RxPtype.IPV4_UDP) : v6 ? RxPtype.IPV6_TCP : RxPtype.IPV4_TCP,
        );
      }
    });
    expect(used.size).toBe(PAIRS); // the flows really spread

    // Guest TX queue q reaches port RX queue q.
    for (let q = 0; q < PAIRS; q++) await queues.transmit(q, [frameOf(fs[q]!, payload(20 + q, q))]);
    const rx = await be.ask<{ queue: number; bytes: Uint8Array }[]>("rx", PAIRS);
    expect(rx.map((r) => r.queue).sort()).toEqual([0, 1, 2, 3]);
    for (const r of rx)
      expect(Array.from(r.bytes)).toEqual(Array.from(frameOf(fs[r.queue]!, payload(20 + r.queue, r.queue))));
  });

  it("one queue pair: every frame on queue 0, still hashed when HENA says so", async () => {
    const be = await serveBackend(1);
    const { queues } = await openGuest(be.sock, 1, { key: MS_KEY, lut: new Uint8Array(64), hena: HENA });
    await until(() => be.ask<boolean>("ready"));
    await queues.post(0, RING_POST);
    const fs = flows().slice(0, 8);
    await be.ask(
      "tx",
      0,
      fs.map((f, i) => frameOf(f, payload(30, i))),
    );
    const got: Received[] = [];
    await until(() => {
      got.push(...queues.receive(0));
      return got.length >= fs.length;
    });
    for (const [i, f] of fs.entries()) expect(got[i]!.hash).toBe(toeplitzReference(MS_KEY, hashInput(f)));
  });
});

const RING_POST = 60;
