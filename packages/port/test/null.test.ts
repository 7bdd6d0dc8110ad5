import { openPortData } from "@emu/port";
import { describe, expect, it } from "vitest";
import { pool, registry, startedPort } from "./fixtures/helpers.js";

describe("net_null", () => {
  it("receives packets of `size` bytes from fresh buffers and frees what it sends; counts both", async () => {
    const r = registry();
    const mp = pool(128);
    const p = await startedPort(r, "net_null0,size=100", mp, 2);
    const lease = p.lease();
    const d = await openPortData(lease.description, { pool: mp });
    const bufs = new Uint32Array(32);
    expect(d.rxBurst(1, bufs, 32)).toBe(32);
    for (const b of bufs) expect(mp.length(b)).toBe(100);
    expect(mp.available()).toBe(96);
    expect(d.txBurst(0, bufs, 32)).toBe(32);
    expect(mp.available()).toBe(128);
    const s = p.stats();
    expect(s).toMatchObject({ ipackets: 32, ibytes: 3200, opackets: 32, obytes: 3200, rxNombuf: 0 });
    expect(s.rxQueues.map((q) => q.packets)).toEqual([0, 32]);
    expect(s.txQueues.map((q) => q.packets)).toEqual([32, 0]);
    d.close();
    lease.release();
  });

  it("counts rx_nombuf when the pool is empty; no-rx=1 receives nothing", async () => {
    const r = registry();
    const mp = pool(16);
    const p = await startedPort(r, "net_null0", mp);
    const q = await startedPort(r, "net_null1,no-rx=1", mp);
    const lp = p.lease();
    const lq = q.lease();
    const d = await openPortData(lp.description, { pool: mp });
    const e = await openPortData(lq.description, { pool: mp });
    const bufs = new Uint32Array(32);
    expect(d.rxBurst(0, bufs, 32)).toBe(0);
    expect(p.stats()).toMatchObject({ ipackets: 0, rxNombuf: 32 });
    expect(e.rxBurst(0, bufs, 8)).toBe(0);
    expect(q.stats().rxNombuf).toBe(0);
    for (const x of [d, e]) x.close();
    lp.release();
    lq.release();
  });

  it("refuses a size that does not fit the pool's buffers", async () => {
    const r = registry();
    const p = await r.create("net_null0,size=3000");
    await expect(p.configure({ pool: pool(4) })).rejects.toThrow(/size 3000 does not fit the pool's 2048-byte buffers/);
  });
});
