import { isPortError, PacketRing } from "@emu/port";
import { describe, expect, it } from "vitest";
import { pool, portWorker, registry, startedPort } from "./fixtures/helpers.js";

describe("PacketRing", () => {
  it("keeps order across wrap-around and takes no more than its capacity", () => {
    const ring = PacketRing.create(8);
    const consumer = PacketRing.from(ring.buffer);
    const out = new Uint32Array(8);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 20; round++) {
      const batch = Uint32Array.from({ length: 5 }, () => next++);
      expect(ring.enqueue(batch, 5)).toBe(5);
      const k = consumer.dequeue(out, 8);
      expect(k).toBe(5);
      for (let i = 0; i < k; i++) expect(out[i]).toBe(expected++);
    }
    expect(ring.enqueue(new Uint32Array(10), 10)).toBe(8); // full after 8
    expect(ring.count()).toBe(8);
    expect(ring.enqueue(new Uint32Array(1), 1)).toBe(0);
    expect(consumer.dequeue(out, 3)).toBe(3);
    expect(ring.count()).toBe(5);
  });

  it("refuses sizes that are not powers of two and buffers that are not rings", () => {
    for (const s of [0, 3, 1000, 2 ** 25, 1.5]) expect(() => PacketRing.create(s)).toThrow(/power of two/);
    expect(() => PacketRing.from(new SharedArrayBuffer(100))).toThrow(expect.objectContaining({ _tag: "PortError" }));
  });
});

describe("net_ring", () => {
  it("a pair carries packets from a sending worker to a receiving worker, in order and intact", async () => {
    const r = registry();
    const mp = pool(2048);
    await r.create("net_ring0");
    await r.create("net_ring1,peer=net_ring0");
    const [p0, p1] = [r.port("net_ring0")!, r.port("net_ring1")!];
    for (const p of [p0, p1]) await p.configure({ pool: mp });
    await p0.start();
    expect(p0.link().up).toBe(false); // its peer is not started yet
    await p1.start();
    expect(p0.info().details).toEqual({ peer: "net_ring1" });
    expect(p0.link().up && p1.link().up).toBe(true);
    const count = 50_000; // far more than the ring (1024) or the pool (2048) hold: both workers run together
    const tx = p0.lease();
    const rx = p1.lease();
    const [sent, received] = await Promise.all([
      portWorker({ desc: tx.description, role: "send", count }),
      portWorker({ desc: rx.description, role: "recv", count }),
    ]);
    tx.release();
    rx.release();
    expect(sent).toEqual({ done: count, bad: 0 });
    expect(received).toEqual({ done: count, bad: 0 });
    let bytes = 0;
    for (let s = 0; s < count; s++) bytes += 60 + (s % 200);
    expect(p0.stats()).toMatchObject({ opackets: count, obytes: bytes, ipackets: 0, oerrors: 0 });
    expect(p1.stats()).toMatchObject({ ipackets: count, ibytes: bytes, opackets: 0, ierrors: 0 });
    expect(mp.available()).toBe(2048); // every buffer came back (the workers flushed their caches)
  });

  it("a lone net_ring is a loopback; closing a port returns what its rings hold", async () => {
    const r = registry();
    const mp = pool(64);
    const p = await startedPort(r, "net_ring0", mp);
    const lease = p.lease();
    const { openPortData } = await import("@emu/port");
    const d = await openPortData(lease.description, { pool: mp });
    const bufs = new Uint32Array(8);
    expect(mp.alloc(bufs, 8)).toBe(8);
    expect(d.txBurst(0, bufs, 8)).toBe(8);
    expect(d.rxBurst(0, bufs, 3)).toBe(3);
    mp.free(bufs, 3);
    d.close();
    lease.release();
    expect(mp.available()).toBe(64 - 5);
    await p.close();
    expect(mp.available()).toBe(64);
  });

  it("refuses a peer that is not a net_ring, already paired or started, and mismatched queues or pools", async () => {
    const r = registry();
    const mp = pool(64);
    await r.create("net_null0");
    await expect(r.create("net_ring1,peer=net_null0")).rejects.toThrow(/net_null0 is not a net_ring port/);
    await expect(r.create("net_ring1,peer=net_ring9")).rejects.toThrow(/net_ring9 is not a net_ring port/);
    const a = await startedPort(r, "net_ring2", mp);
    await expect(r.create("net_ring3,peer=net_ring2")).rejects.toThrow(/stop net_ring2 before pairing/);
    await a.stop();
    await r.create("net_ring3,peer=net_ring2");
    await expect(r.create("net_ring4,peer=net_ring2")).rejects.toThrow(/already paired with net_ring3/);
    const b = r.port("net_ring3")!;
    await b.configure({ pool: mp, rxQueues: 1, txQueues: 2 });
    await b.start();
    await a.start();
    expect(() => b.lease()).toThrow(/2 TX queues but its peer net_ring2 only 1 RX queues/);
    await b.stop();
    await b.configure({ pool: pool(16), txQueues: 1 });
    await b.start();
    let err: unknown;
    try {
      b.lease();
    } catch (e) {
      err = e;
    }
    expect(isPortError(err) && err.reason).toBe("Pool");
  });

  it("a port's RX rings cannot change while its peer forwards into them", async () => {
    const r = registry();
    const mp = pool(64);
    await r.create("net_ring0");
    await r.create("net_ring1,peer=net_ring0");
    const [a, b] = [r.port("net_ring0")!, r.port("net_ring1")!];
    for (const p of [a, b]) await p.configure({ pool: mp });
    await a.start();
    await b.start();
    const lease = a.lease(); // a thread sends from net_ring0 into net_ring1's rings
    expect(a.leases).toBe(1);
    await b.stop();
    await expect(b.configure({ pool: mp, rxDesc: 256 })).rejects.toThrow(
      "cannot change net_ring1's RX queues while its peer net_ring0 forwards (it sends into them)",
    );
    await b.configure({ pool: mp }); // the same rings: allowed
    lease.release();
    await b.configure({ pool: mp, rxDesc: 256 });
    expect(b.info().rxDesc).toBe(256);
  });
});
