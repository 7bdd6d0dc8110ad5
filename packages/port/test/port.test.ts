import {
  builtinPortDrivers,
  emudevService,
  isPortError,
  openPortData,
  type PortDriver,
  PortRegistry,
  RSS_IP,
  RSS_UDP,
  RssHf,
  rssHfNames,
  serviceKey,
} from "@emu/port";
import { afterThisTest } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { pool, registry, startedPort } from "./fixtures/helpers.js";

describe("PortRegistry", () => {
  it("makes ports from devargs by driver name and names what is wrong", async () => {
    const r = registry();
    expect(r.driverNames()).toEqual(["net_null", "net_ring", "net_pcap", "net_tap"]);
    const p = await r.create("net_null3,size=60");
    expect(p).toMatchObject({ name: "net_null3", driver: "net_null", devargs: "size=60", state: "stopped" });
    expect(r.port("net_null3")).toBe(p);
    await expect(r.create("net_null3")).rejects.toThrow("port net_null3 already exists");
    await expect(r.create("net_nul0")).rejects.toThrow(
      'no port driver "net_nul" for net_nul0 (registered: net_null, net_ring, net_pcap, net_tap)',
    );
    const bad = ["net_null", "net_null0,size", "net_null0,size=0", "net_null0,sise=64", "net_null0,size=1,size=2"];
    const messages = await Promise.all(bad.map((d) => r.create(d).catch((e: unknown) => e)));
    for (const e of messages) expect(isPortError(e) && e.reason).toBe("Devargs");
    expect(messages.map((e) => (e as Error).message)).toEqual([
      'devargs "net_null": device name "net_null" must be a driver name followed by an instance number, e.g. emu_iavf0',
      'devargs "net_null0,size": "size" is not key=value',
      'devargs "net_null0": bad value "0" for key "size": must be 1..65535',
      'devargs "net_null0": unknown key "sise" for net_null (accepted: size, no-rx)',
      'devargs "net_null0,size=1,size=2": key "size" given twice',
    ]);
    expect(r.ports().map((x) => x.name)).toEqual(["net_null3"]);
  });

  it("drivers from other packages register by name and get the application's services", async () => {
    const r = new PortRegistry();
    const appThing = serviceKey<{ hello: string }>("app-thing");
    r.provide(appThing, { hello: "there" });
    const seen: unknown[] = [];
    const fake: PortDriver = {
      name: "net_fake",
      args: {},
      async create(host) {
        seen.push(host.service(appThing)?.hello, host.service(emudevService), host.name);
        return builtinPortDrivers[0]!.create(host, { size: 64, "no-rx": false });
      },
    };
    r.registerDriver(fake);
    expect(() => r.registerDriver(fake)).toThrow("port driver net_fake is already registered");
    expect(() => r.registerDriver({ ...fake, name: "net9" })).toThrow(/must be lowercase/);
    const p = await r.create("net_fake0");
    expect(seen).toEqual(["there", undefined, "net_fake0"]);
    await p.close();
    expect(r.port("net_fake0")).toBeUndefined();
  });
});

describe("Port", () => {
  it("adds the counters a device keeps itself while started; clearing and a new start count from zero", async () => {
    const r = new PortRegistry();
    let missed = 5;
    r.registerDriver({
      name: "net_dev",
      args: {},
      async create(host) {
        const inner = await builtinPortDrivers[0]!.create(host, { size: 64, "no-rx": false });
        return { ...inner, deviceCounters: () => ({ imissed: missed, oerrors: 2 }) };
      },
    });
    afterThisTest(() => r.closeAll());
    const p = await startedPort(r, "net_dev0", pool());
    expect(p.stats()).toMatchObject({ imissed: 5, oerrors: 2, ierrors: 0 });
    missed = 9;
    expect(p.stats().imissed).toBe(9);
    p.resetStats();
    missed = 12;
    expect(p.stats()).toMatchObject({ imissed: 3, oerrors: 0 });
    await p.stop();
    expect(p.stats().imissed).toBe(0); // stopped: the device's counters are not the port's
    missed = 1;
    await p.start();
    expect(p.stats().imissed).toBe(1);
  });

  it("runs configure → start → stop → close, refusing what the state does not allow", async () => {
    const r = registry();
    const mp = pool(64);
    const p = await r.create("net_null0");
    expect(p.info()).toMatchObject({ configured: false, rxQueues: 0, link: { up: false } });
    await expect(p.start()).rejects.toThrow("cannot start net_null0: it is not configured; configure it first");
    expect(() => p.lease()).toThrow("net_null0 is stopped: start it before forwarding on it");
    await expect(p.configure({ pool: mp, rxQueues: 0 })).rejects.toThrow("net_null0: RX queues 0 out of range 1..1024");
    await expect(p.configure({ pool: mp, txDesc: 70000 })).rejects.toThrow(/TX descriptors 70000 out of range/);
    await p.configure({ pool: mp, rxQueues: 2, txQueues: 3, rxDesc: 512 });
    expect(p.info()).toMatchObject({ configured: true, rxQueues: 2, txQueues: 3, rxDesc: 512, txDesc: 1024 });
    await p.start();
    await p.start(); // already started: nothing to do
    expect(p.info()).toMatchObject({ state: "started", link: { up: true, speedMbps: 10000, duplex: "full" } });
    expect(p.info().macText).toMatch(/^([0-9A-F]{2}:){5}[0-9A-F]{2}$/);
    await expect(p.configure({ pool: mp })).rejects.toThrow("cannot configure net_null0: it is started; stop it first");
    const lease = p.lease();
    await expect(p.stop()).rejects.toThrow(/1 thread\(s\) still run its data path; stop forwarding first/);
    await expect(p.close()).rejects.toThrow(/threads still run its data path/);
    lease.release();
    lease.release(); // twice is once
    await p.stop();
    expect(p.info().link.up).toBe(false);
    await p.close();
    await p.close();
    expect(p.state).toBe("closed");
    await expect(p.start()).rejects.toThrow("cannot start net_null0: it is closed");
  });

  it("keeps the RSS hash types asked for (DPDK's rss_hf bits) across reconfigurations, within what the driver hashes", async () => {
    // net_null as a port that could hash IP and UDP
    const hashing: PortDriver = {
      name: "net_hash",
      args: {},
      create: () => ({
        capabilities: { maxRxQueues: 4, maxTxQueues: 4, rssHf: RSS_IP | RSS_UDP },
        mac: new Uint8Array(6),
        start() {},
        stop() {},
        close() {},
        data: () => {
          throw new Error("not started in this test");
        },
      }),
    };
    const r = new PortRegistry([...builtinPortDrivers, hashing]);
    afterThisTest(() => r.closeAll());
    const mp = pool(64);
    const p = await r.create("net_hash0");
    await p.configure({ pool: mp });
    expect(p.info()).toMatchObject({ rssHf: undefined, rssHfCapa: RSS_IP | RSS_UDP }); // the driver's default
    await expect(p.configure({ pool: mp, rssHf: 1 })).rejects.toThrow(
      "net_hash0: RSS hash types 0x1 are not RssHf bits",
    );
    await expect(p.configure({ pool: mp, rssHf: -4 })).rejects.toThrow(/are not RssHf bits/);
    await expect(p.configure({ pool: mp, rssHf: 2 ** 32 + RssHf.IPV4 })).rejects.toThrow(/are not RssHf bits/);
    await expect(p.configure({ pool: mp, rssHf: RSS_IP | RssHf.NONFRAG_IPV4_TCP })).rejects.toThrow(
      "net_hash0 cannot hash RSS types ipv4-tcp",
    );
    await p.configure({ pool: mp, rxQueues: 2, rssHf: RSS_IP | RSS_UDP });
    await p.configure({ pool: mp, rxQueues: 4 });
    expect(p.info().rssHf).toBe(RSS_IP | RSS_UDP);
    await p.configure({ pool: mp, rssHf: 0 });
    expect(p.info().rssHf).toBe(0);
    expect(rssHfNames(RSS_IP | RSS_UDP)).toBe("ipv4 ipv4-frag ipv4-udp ipv4-other ipv6 ipv6-frag ipv6-udp ipv6-other");
    expect(rssHfNames(0)).toBe("none");
    const plain = await r.create("net_null0");
    expect(plain.info().rssHfCapa).toBe(0);
    await expect(plain.configure({ pool: mp, rxQueues: 2, rssHf: RSS_IP })).rejects.toThrow(/net_null0 cannot hash/);
  });

  it("statistics clear without racing the threads that write them; a thread touches only its queues", async () => {
    const r = registry();
    const mp = pool(64);
    const p = await startedPort(r, "net_null0", mp, 2);
    const lease = p.lease();
    const d = await openPortData(lease.description, { pool: mp, rxQueues: [1], txQueues: [] });
    const bufs = new Uint32Array(4);
    expect(d.rxBurst(1, bufs, 4)).toBe(4);
    mp.free(bufs, 4);
    expect(p.stats().ipackets).toBe(4);
    p.resetStats();
    expect(p.stats()).toMatchObject({ ipackets: 0, ibytes: 0 });
    d.rxBurst(1, bufs, 2);
    mp.free(bufs, 2);
    expect(p.stats()).toMatchObject({ ipackets: 2, ibytes: 128 });
    expect(() => d.rxBurst(0, bufs, 1)).toThrow("net_null0: this thread does not serve RX queue 0");
    expect(() => d.txBurst(0, bufs, 1)).toThrow("net_null0: this thread does not serve TX queue 0");
    await expect(openPortData(lease.description, { rxQueues: [2] })).rejects.toThrow(
      "net_null0: no RX queue 2 (it has 2)",
    );
    d.close();
    lease.release();
  });
});
