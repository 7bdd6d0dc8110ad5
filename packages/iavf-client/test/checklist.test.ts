// iavf-device.md §7, guest driver side: each item checked against emu_iavf, from the device's own log of what it
// received and from the registers and memory the driver left.
import { IavfDriver, isIavfClientError, LINUX_REQUESTED_CAPS } from "@emu/iavf-client";
import { AqFlag, AqLen, Reg, VirtchnlOp } from "@emu/iavf-common";
import { afterThisTest } from "@emu/test-kit";
import { RegionIo } from "@emu/vfio-device";
import { describe, expect, it } from "vitest";
import { serveIavf } from "./fixtures/device.js";
import { rawSession } from "./fixtures/raw.js";

const QUEUES = 3;

async function up(options: Parameters<typeof IavfDriver.attach>[1] = {}, device = {}) {
  const served = await serveIavf({ queues: 4, ...device });
  const client = await served.connect();
  const nic = await IavfDriver.attach(client, { queuePairs: QUEUES, statsIntervalMs: 0, ...options });
  afterThisTest(() => nic.close());
  const requests = async () => (await served.log()).filter((e) => e.direction === "request");
  return { served, client, nic, requests };
}

describe("§7 driver 1: reset state, admin queue, ARQ buffers", () => {
  it("accepts VFGEN_RSTAT COMPLETED (1) as Linux does: attaches while the device is between COMPLETED and VFACTIVE", async () => {
    const served = await serveIavf({ queues: 4, resetDelayMs: 400 });
    const client = await served.connect();
    const probe = await RegionIo.open(client, 0);
    afterThisTest(() => probe.close());
    const reset = served.pfReset();
    await expect.poll(async () => (await probe.read32(BigInt(Reg.VFGEN_RSTAT))) & 3).toBe(1);
    const nic = await IavfDriver.attach(client, { statsIntervalMs: 0 });
    afterThisTest(() => nic.close());
    expect(nic.state).toBe("running");
    await reset;
  });

  it("programs both queues (length with ENABLE, 4 KiB-aligned bases) and posts every ARQ buffer, ARQT = len − 1", async () => {
    const served = await serveIavf({ queues: 1 });
    const client = await served.connect();
    const { bar, adminq } = await rawSession(client, { order: "linux", atqLength: 32, arqLength: 32 });
    await adminq.setup();
    expect(await bar.read(Reg.VF_ATQLEN1)).toBe((32 | AqLen.ENABLE) >>> 0);
    expect(await bar.read(Reg.VF_ARQLEN1)).toBe((32 | AqLen.ENABLE) >>> 0);
    expect(await bar.read(Reg.VF_ARQT1)).toBe(31);
    expect(await bar.read(Reg.VF_ATQH1)).toBe(0);
    const base = (lo: number, hi: number) => (BigInt(hi) << 32n) | BigInt(lo);
    expect(base(await bar.read(Reg.VF_ATQBAL1), await bar.read(Reg.VF_ATQBAH1))).toBe(adminq.atqBase);
    expect(base(await bar.read(Reg.VF_ARQBAL1), await bar.read(Reg.VF_ARQBAH1))).toBe(adminq.arqBase);
    expect(adminq.atqBase % 4096n).toBe(0n);
    const addrs = new Set<number>();
    for (let i = 0; i < 32; i++) {
      const d = adminq.arqDescriptor(i);
      expect(d.flags).toBe(AqFlag.BUF | AqFlag.LB);
      expect(d.datalen).toBe(4096);
      addrs.add(d.addrHigh * 2 ** 32 + d.addrLow);
    }
    expect(addrs.size).toBe(32); // a buffer of its own per descriptor
  });
});

describe("§7 driver 2-3: the messages, at their exact legacy lengths", () => {
  it("VERSION 1.1, GET_VF_RESOURCES with the capability word, the SR-IOV VSI, then IRQ map, MAC, queues, enable", async () => {
    const { nic, requests } = await up();
    const log = await requests();
    expect(log.map((e) => e.name)).toEqual([
      "VERSION",
      "GET_VF_RESOURCES",
      "CONFIG_IRQ_MAP",
      "ADD_ETH_ADDR",
      "CONFIG_VSI_QUEUES",
      "ENABLE_QUEUES",
      "CONFIG_RSS_KEY",
      "CONFIG_RSS_LUT",
    ]);
    const [version, resources, irqMap, mac, queues, enable, key, lut] = log;
    expect(version?.request).toEqual({ kind: "VersionRequest", major: 1, minor: 1 });
    expect(resources).toMatchObject({ length: 4, request: { capabilities: LINUX_REQUESTED_CAPS } });
    expect(nic.vsiId).toBe(1);
    expect(irqMap?.length).toBe(14 + 12 * (QUEUES + 1));
    const vectors = irqMap?.request?.kind === "ConfigIrqMap" ? irqMap.request.vectors : [];
    expect(vectors.at(-1)).toMatchObject({ vectorId: 0, rxqMap: 0, txqMap: 0 }); // vector 0 last, as Linux
    expect(vectors.slice(0, QUEUES).map((v) => [v.vectorId, v.rxqMap, v.txqMap, v.rxitrIdx, v.txitrIdx])).toEqual([
      [1, 1, 1, 0, 1],
      [2, 2, 2, 0, 1],
      [3, 4, 4, 0, 1],
    ]);
    expect(mac).toMatchObject({ length: 12 + 8, request: { addresses: [{ mac: nic.mac, type: 1 }] } });
    expect(queues?.length).toBe(72 + 64 * QUEUES);
    expect(enable).toMatchObject({ length: 12, request: { rxQueues: 0b111, txQueues: 0b111 } });
    expect(key?.length).toBe(5 + 52);
    expect(lut?.length).toBe(5 + 64);
    expect(lut?.request?.kind === "ConfigRssLut" && Array.from(lut.request.bytes.subarray(0, 6))).toEqual([
      0, 1, 2, 0, 1, 2,
    ]);
  });

  it("polls GET_STATS while running, as Linux's watchdog does", async () => {
    const { nic, requests } = await up({ statsIntervalMs: 50 });
    const seen: bigint[] = [];
    nic.on("stats", (s) => seen.push(s.rxBytes));
    await expect.poll(() => seen.length, { timeout: 3000 }).toBeGreaterThanOrEqual(3);
    expect((await requests()).filter((e) => e.opcode === VirtchnlOp.GET_STATS).length).toBeGreaterThanOrEqual(3);
  });

  it("counts link-up only once the queues are set up, in Mbps when ADV_LINK_SPEED was granted", async () => {
    const { served, nic } = await up({}, { link: true });
    expect((await nic.waitForLink(3000)).speedMbps).toBe(25_000);
    const links: boolean[] = [];
    nic.on("link", (l) => links.push(l.up));
    await served.setLink(false);
    await served.setLink(true);
    await expect.poll(() => links).toEqual([false, true]);
  });
});

describe("§7 driver 5: close", () => {
  it("DISABLE_QUEUES, DEL_ETH_ADDR, RESET_VF; vectors, DMA and BAR released; the device stays open", async () => {
    const { served, client, nic, requests } = await up({ interrupts: true });
    await served.clearLog();
    await nic.close();
    const log = await requests();
    expect(log.map((e) => e.name)).toEqual(["DISABLE_QUEUES", "DEL_ETH_ADDR", "RESET_VF"]);
    expect(log[0]?.request).toMatchObject({ rxQueues: 0b111, txQueues: 0b111 });
    expect(client.dmaBuffers()).toEqual([]);
    expect(nic.state).toBe("closed");
    await expect(nic.stats()).rejects.toMatchObject({ reason: "Closed" });
    await expect(nic.reset()).rejects.toThrow(/closed/);
    const again = await IavfDriver.attach(client, { statsIntervalMs: 0 });
    afterThisTest(() => again.close());
    expect(again.state).toBe("running");
  });

  it("without RESET_VF: every admin-queue register zeroed (the queue-shutdown command itself: replay-linux)", async () => {
    const { client, nic } = await up({ resetOnClose: false });
    await nic.close();
    const probe = await RegionIo.open(client, 0);
    afterThisTest(() => probe.close());
    for (const r of [Reg.VF_ATQLEN1, Reg.VF_ARQLEN1, Reg.VF_ATQBAL1, Reg.VF_ARQBAL1, Reg.VF_ATQT1, Reg.VF_ARQT1]) {
      expect(await probe.read32(BigInt(r))).toBe(0);
    }
  });
});

describe("a device that goes away", () => {
  it("the watchdog finds it: the driver fails with a Device error, close still succeeds", async () => {
    const { served, nic } = await up({ watchdogMs: 20 });
    const errors: string[] = [];
    nic.on("error", (e) => errors.push(e.reason));
    await served.kill();
    await expect.poll(() => nic.state, { timeout: 3000 }).toBe("failed");
    expect(errors).toContain("Device");
    const err = await nic.stats().catch((e: unknown) => e);
    expect(isIavfClientError(err)).toBe(true);
    await nic.close();
    expect(nic.state).toBe("closed");
  });
});
