// net_iavf_client as @emu/port drives it (the data half opened here, as a forwarding thread would), against emu_iavf
// served by another process with the test provider of fixtures/loop-server.ts.
import { netIavfClient } from "@emu/iavf-client/port";
import { DEFAULT_RSS_HENA, RssPctype as P } from "@emu/iavf-common";
import { MBUF_HASH, MBUF_META_WORDS, MbufPool, PortRegistry, RssHf } from "@emu/port";
import { afterThisTest, until } from "@emu/test-kit";
import { expect, it } from "vitest";
import { frame, hashOf, serveLoop } from "./fixtures/loop.js";

async function started(queues: number, mode: "loop" | "capture", devargs = "") {
  const served = await serveLoop(queues, mode);
  const ports = new PortRegistry([netIavfClient]);
  afterThisTest(() => ports.closeAll());
  const pool = MbufPool.create("test", { count: 4096 });
  afterThisTest(() => pool.close());
  const port = await ports.create(`net_iavf_client0,path=${served.sock}${devargs}`);
  await port.configure({ pool, rxQueues: queues, txQueues: queues, rxDesc: 128, txDesc: 128 });
  await port.start();
  const lease = port.lease();
  const { openPortData } = await import("@emu/port/data");
  const data = await openPortData(lease.description, { pool });
  afterThisTest(() => {
    data.close();
    lease.release();
  });
  return { served, port, pool, data, lease };
}

it("is made from devargs: connects, probes the VF (queue pairs, MAC), refuses what it cannot do", async () => {
  const served = await serveLoop(4, "capture");
  const ports = new PortRegistry([netIavfClient]);
  afterThisTest(() => ports.closeAll());
  const port = await ports.create(`net_iavf_client0,path=${served.sock},mac=02:11:22:33:44:55`);
  const info = port.info();
  expect(info.macText).toBe("02:11:22:33:44:55");
  expect([info.maxRxQueues, info.maxTxQueues]).toEqual([4, 4]);
  const pool = MbufPool.create("t", { count: 1024 });
  afterThisTest(() => pool.close());
  await expect(port.configure({ pool, rxQueues: 2, txQueues: 1 })).rejects.toThrow(/as many RX as TX/);
  await expect(port.configure({ pool, rxQueues: 1, txQueues: 1, rxDesc: 100 })).rejects.toThrow(/multiple of 32/);
  await expect(ports.create("net_iavf_client1,path=/nonexistent/x.sock")).rejects.toThrow(/cannot connect/);
  await expect(ports.create("net_iavf_client1")).rejects.toThrow(/path/);
});

it("rss_key= sets the RSS key the VF hashes with (random without it); a key that is not hex or not the VF's size is refused", async () => {
  const key = Array.from({ length: 52 }, (_, i) => (i * 37 + 11) & 0xff);
  const hex = key.map((b) => b.toString(16).padStart(2, "0")).join("");
  const { served } = await started(1, "capture", `,rss_key=${hex}`);
  expect(await served.rssKey()).toEqual(key);

  const other = await started(1, "capture");
  const random = await other.served.rssKey();
  expect(random).toHaveLength(52);
  expect(random).not.toEqual(key);

  const ports = new PortRegistry([netIavfClient]);
  afterThisTest(() => ports.closeAll());
  await expect(ports.create(`net_iavf_client1,path=${served.sock},rss_key=xyz`)).rejects.toThrow(/rss_key.*hex/);
  const pool = MbufPool.create("k", { count: 1024 });
  afterThisTest(() => pool.close());
  const short = await serveLoop(1, "capture");
  const port = await ports.create(`net_iavf_client2,path=${short.sock},rss_key=${hex.slice(0, 80)}`);
  await port.configure({ pool, rxQueues: 1, txQueues: 1, rxDesc: 128, txDesc: 128 });
  await expect(port.start()).rejects.toThrow(/rssKey has 40 bytes; the VF's RSS key has 52/);
});

it("hashes what the port's RSS types ask (DPDK's rss_hf, mapped as DPDK's iavf does); nothing for 0; Linux's set without", async () => {
  const pct = (...bits: number[]) => bits.reduce((a, b) => a | (1n << BigInt(b)), 0n).toString(16);
  const { served } = await started(1, "capture");
  expect(await served.rssHena()).toBe(DEFAULT_RSS_HENA.toString(16));
  const ports = new PortRegistry([netIavfClient]);
  afterThisTest(() => ports.closeAll());
  const pool = MbufPool.create("h", { count: 1024 });
  afterThisTest(() => pool.close());
  let made = 0;
  const asked = async (rssHf: number) => {
    const dev = await serveLoop(1, "capture");
    const port = await ports.create(`net_iavf_client${++made},path=${dev.sock}`);
    await port.configure({ pool, rxQueues: 1, txQueues: 1, rxDesc: 128, txDesc: 128, rssHf });
    await port.start();
    const hena = await dev.rssHena();
    await port.close();
    return hena;
  };
  expect(await asked(0)).toBe("0");
  // Of UDP's three pctypes the device offers (GET_RSS_HENA_CAPS) the plain one only: the others are not asked for.
  expect(await asked(RssHf.NONFRAG_IPV4_UDP)).toBe(pct(P.NONF_IPV4_UDP));
  // IPV4 stands for every IPv4 type
  expect(await asked(RssHf.IPV4 | RssHf.L2_PAYLOAD)).toBe(
    pct(P.NONF_IPV4_UDP, P.NONF_IPV4_TCP, P.NONF_IPV4_SCTP, P.NONF_IPV4_OTHER, P.FRAG_IPV4, P.L2_PAYLOAD),
  );
});

it("zero copy both ways: TX sends the pool's buffers as they lie, RX lands in pool buffers with the RSS hash", async () => {
  const { served, pool, data, port } = await started(1, "capture");
  expect(port.link()).toMatchObject({ up: true });
  expect(port.info().details).toMatchObject({ doorbells: "mapped" });
  const bufs = new Uint32Array(32);
  expect(pool.alloc(bufs, 32)).toBe(32);
  const sent = Array.from({ length: 32 }, (_, i) => frame(i, 64 + i));
  for (let i = 0; i < 32; i++) {
    pool.setPacket(bufs[i]!, sent[i]!.length);
    pool.packet(bufs[i]!).set(sent[i]!);
  }
  expect(data.txBurst(0, bufs, 32)).toBe(32);
  const got: number[][] = [];
  await until(async () => {
    got.push(...(await served.captured()).map((c) => c.data));
    return got.length === 32;
  }, 5000);
  expect(got).toEqual(sent.map((f) => Array.from(f)));

  const incoming = Array.from({ length: 20 }, (_, i) => frame(1000 + i, 100));
  expect(await served.inject(0, incoming)).toBe(20);
  const rx = new Uint32Array(32);
  let n = 0;
  await until(() => {
    n += data.rxBurst(0, rx.subarray(n), 32 - n);
    return n === 20;
  }, 5000);
  for (let i = 0; i < 20; i++) {
    expect(Array.from(pool.packet(rx[i]!))).toEqual(Array.from(incoming[i]!));
    expect(pool.meta[rx[i]! * MBUF_META_WORDS + MBUF_HASH]).toBe(hashOf(incoming[i]!));
  }
  pool.free(rx, 20);
  const s = port.stats();
  expect([s.ipackets, s.opackets, s.ibytes]).toEqual([20, 32, 2000]);
});

it("four queue pairs: each queue loops back on its own ring; at stop every buffer is back in the pool", async () => {
  const { pool, data, port, lease } = await started(4, "loop");
  const bufs = new Uint32Array(8);
  for (let q = 0; q < 4; q++) {
    expect(pool.alloc(bufs, 8)).toBe(8);
    for (let i = 0; i < 8; i++) {
      const f = frame(q * 100 + i);
      pool.setPacket(bufs[i]!, f.length);
      pool.packet(bufs[i]!).set(f);
    }
    expect(data.txBurst(q, bufs, 8)).toBe(8);
  }
  for (let q = 0; q < 4; q++) {
    const rx = new Uint32Array(32);
    let n = 0;
    await until(() => {
      n += data.rxBurst(q, rx.subarray(n), 32 - n);
      return n === 8;
    }, 5000);
    expect(Array.from(rx.subarray(0, 8), (b) => new DataView(pool.packet(b).slice().buffer).getUint32(42))).toEqual(
      Array.from({ length: 8 }, (_, i) => q * 100 + i),
    );
    pool.free(rx, 8);
  }
  expect(port.stats().rxQueues.map((r) => r.packets)).toEqual([8, 8, 8, 8]);
  data.close();
  lease.release();
  await port.stop();
  pool.flush();
  expect(pool.available()).toBe(pool.count);
});

it("a reset from the PF while a thread holds the rings: they pause, start over, and traffic flows again", async () => {
  const { served, pool, data, port, lease } = await started(1, "loop");
  // The RX ring is started over after a reset by this thread's first receive once the pause is lifted; a frame the
  // device loops back before that finds no buffer and is dropped, as by a NIC: it is sent again (at most 5 times).
  const roundTrip = async (seq: number) => {
    const rx = new Uint32Array(32);
    for (let attempt = 1; ; attempt++) {
      const b = new Uint32Array(1);
      expect(pool.alloc(b, 1)).toBe(1);
      const f = frame(seq);
      pool.setPacket(b[0]!, f.length);
      pool.packet(b[0]!).set(f);
      await until(() => data.txBurst(0, b, 1) === 1, 5000, "TX taken");
      let got = -1;
      try {
        await until(
          () => {
            const n = data.rxBurst(0, rx, 32);
            for (let i = 0; i < n; i++) {
              got = new DataView(pool.packet(rx[i]!).slice().buffer).getUint32(42);
            }
            pool.free(rx, n);
            return got === seq;
          },
          1000,
          `frame ${seq} back`,
        );
        return;
      } catch (e) {
        if (attempt === 5) throw e;
      }
    }
  };
  await roundTrip(1);
  const reset = served.pfReset();
  await until(() => !port.link().up, 10_000, "the driver sees the reset (link down)");
  await reset;
  await until(() => port.link().up, 10_000, "link up after the reset");
  await roundTrip(2);
  data.close();
  lease.release();
  await port.stop();
  pool.flush();
  expect(pool.available()).toBe(pool.count); // nothing lost across the reset
});
