// The device side of the interoperability checklist (shared/docs/iavf-device.md §7), one test per item, against
// emu_iavf served by another process and driven by a raw guest driver over a real socket.
import {
  AqFlag,
  AqLen,
  AqOpcode,
  AqReturnCode,
  DEFAULT_RSS_HENA,
  decodeVirtchnl,
  encodeVirtchnl,
  LinkSpeed,
  PF_MINIMAL_CAPS,
  qrxTail,
  qtxTail,
  Reg,
  VfCap,
  VfrState,
  VirtchnlOp,
  VirtchnlStatus,
} from "@emu/iavf-common";
import { until } from "@emu/test-kit";
import { PciIrq } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { bringUp, linuxIrqMap, negotiate, rxRing, txRing, VSI, vsiQueues } from "./fixtures/bring-up.js";
import { openDriver, serveIavf } from "./fixtures/harness.js";
import { MEM } from "./fixtures/raw-driver.js";

const u8 = (...b: number[]) => Uint8Array.from(b);

async function setup(extra?: string, resetDelayMs?: number) {
  const dev = await serveIavf(extra, resetDelayMs);
  const drv = await openDriver(dev.sock);
  return { dev, drv };
}

describe("§7 interoperability checklist, device side", () => {
  it("1. accepts admin-queue programming in either order (Linux/DPDK and VPP) and reads the ring base lazily", async () => {
    const { drv } = await setup();
    // VPP: LEN=0, T, H, BAL, BAH, then LEN|ENABLE; a 4-entry ATQ and a 16-entry ARQ, wrapped several times.
    await drv.initAdminQueues("vpp", 4, 16);
    for (let i = 0; i < 10; i++)
      expect(await drv.call({ kind: "VersionRequest", major: 1, minor: 1 })).toMatchObject({ minor: 1 });
    expect(await drv.r32(Reg.VF_ATQH1)).toBe(10 % 4);
    // Linux/DPDK: H, T, LEN|ENABLE, then BAL and BAH — the base is read at the doorbell, not at ENABLE.
    await drv.initAdminQueues("linux", 32, 32);
    expect(await drv.call({ kind: "VersionRequest", major: 1, minor: 1 })).toMatchObject({ minor: 1 });
  });

  it("2. completes ATQ descriptors with DD|CMP and advances ATQH; posts ARQ messages (0x0802, DD|CMP|BUF, cookies, datalen) and advances ARQH", async () => {
    const { drv } = await setup();
    await drv.initAdminQueues();
    const version = encodeVirtchnl({ kind: "VersionRequest", major: 1, minor: 1 });
    const done = await drv.send(version.opcode, version.payload);
    expect(done.flags & (AqFlag.DD | AqFlag.CMP | AqFlag.ERR)).toBe(AqFlag.DD | AqFlag.CMP);
    expect(done.retval).toBe(0);
    expect(await drv.r32(Reg.VF_ATQH1)).toBe(1);
    expect(await drv.r32(Reg.VF_ARQH1)).toBe(1);
    const arq = drv.desc(MEM.ARQ, 0);
    expect(arq).toMatchObject({ opcode: AqOpcode.SEND_MSG_TO_VF, datalen: 8, retval: 0, cookieHigh: 1, cookieLow: 0 });
    expect(arq.flags).toBe(AqFlag.DD | AqFlag.CMP | AqFlag.BUF | AqFlag.LB);
    const m = await drv.next();
    expect(decodeVirtchnl(1, m.payload, "reply")).toEqual({
      ok: true,
      value: { kind: "VersionReply", major: 1, minor: 1 },
    });
  });

  it("3. completes AQ queue shutdown (0x0003) and refuses unknown AQ opcodes with an error retval", async () => {
    const { dev, drv } = await setup();
    await drv.initAdminQueues();
    const shutdown = await drv.send(0, new Uint8Array(0), { aqOpcode: AqOpcode.QUEUE_SHUTDOWN, flags: 0 });
    expect([shutdown.flags & 0xf, shutdown.retval]).toEqual([AqFlag.DD | AqFlag.CMP, AqReturnCode.OK]);
    const unknown = await drv.send(0, new Uint8Array(0), { aqOpcode: 0x0999, flags: 0 });
    expect([unknown.flags & 0xf, unknown.retval]).toEqual([AqFlag.DD | AqFlag.CMP | AqFlag.ERR, AqReturnCode.ESRCH]);
    const rssAq = await drv.send(0, new Uint8Array(0), { aqOpcode: AqOpcode.SET_RSS_KEY, flags: 0 });
    expect([rssAq.flags & 0xf, rssAq.retval]).toEqual([AqFlag.DD | AqFlag.CMP | AqFlag.ERR, AqReturnCode.ENOSYS]);
    expect(await drv.r32(Reg.VF_ATQH1)).toBe(3);
    expect(await drv.receive()).toBeUndefined(); // none of them is a virtchnl message: no reply
    expect((await dev.ask<{ counters: { unknownAqOpcode: number } }>("nic")).counters.unknownAqOpcode).toBe(1);
  });

  it("4. keeps LEN.ENABLE as written and clears it only on reset", async () => {
    const { drv } = await setup();
    await drv.initAdminQueues();
    for (let i = 0; i < 3; i++) await drv.call({ kind: "VersionRequest", major: 1, minor: 1 });
    expect(await drv.r32(Reg.VF_ATQLEN1)).toBe((32 | AqLen.ENABLE) >>> 0);
    expect(await drv.r32(Reg.VF_ARQLEN1)).toBe((32 | AqLen.ENABLE) >>> 0);
    await drv.send(VirtchnlOp.RESET_VF, new Uint8Array(0));
    expect(await drv.r32(Reg.VF_ARQLEN1)).toBe(0);
    expect(await drv.r32(Reg.VF_ATQLEN1)).toBe(0);
  });

  it("5. RESET_VF: no reply, VFGEN_RSTAT INPROGRESS → COMPLETED → VFACTIVE, the version remembered", async () => {
    const { dev, drv } = await setup(undefined, 400);
    await bringUp(drv, 4);
    await dev.ask("log");
    await drv.next(); // the LINK_CHANGE after ENABLE_QUEUES
    const slot = drv.ntc;
    await drv.send(VirtchnlOp.RESET_VF, new Uint8Array(0));
    // At once, before any later register access is served: the queues disabled, RSTAT INPROGRESS.
    expect(await drv.r32(Reg.VF_ARQLEN1)).toBe(0);
    expect((await drv.r32(Reg.VFGEN_RSTAT)) & 3).toBe(VfrState.INPROGRESS);
    const seen = new Set<number>();
    await until(async () => {
      const s = (await drv.r32(Reg.VFGEN_RSTAT)) & 3;
      seen.add(s);
      return s === VfrState.VFACTIVE;
    });
    expect([...seen]).toEqual([VfrState.INPROGRESS, VfrState.COMPLETED, VfrState.VFACTIVE]);
    expect(drv.desc(MEM.ARQ, slot).flags & AqFlag.DD).toBe(0); // nothing was posted
    expect(await drv.r32(Reg.VF_ARQH1)).toBe(0);
    const queues = await dev.ask<{ enabled: boolean; size: number }[]>("queues");
    expect(queues.every((q) => !q.enabled && q.size === 0)).toBe(true);
    // Linux after a reset: admin queues again and GET_VF_RESOURCES without VERSION.
    await drv.initAdminQueues();
    const res = await drv.call({ kind: "GetVfResourcesRequest", capabilities: 0xffff_ffff });
    expect(res).toMatchObject({ kind: "GetVfResourcesReply", capabilities: PF_MINIMAL_CAPS });
    const log = await dev.ask<{ direction: string; name: string }[]>("log");
    expect(log.filter((e) => e.direction === "request").map((e) => e.name)).toEqual(["RESET_VF", "GET_VF_RESOURCES"]);
  });

  it("6. replies to every other opcode with the same v_opcode; unknown opcodes get ERR_NOT_SUPPORTED (−64)", async () => {
    const { drv } = await setup();
    await negotiate(drv);
    const requests = [
      encodeVirtchnl({ kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 }),
      encodeVirtchnl({ kind: "GetRssHenaCapsRequest" }),
      encodeVirtchnl({ kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 0 }),
      { opcode: VirtchnlOp.ADD_RSS_CFG, payload: new Uint8Array(16) },
      { opcode: VirtchnlOp.GET_OFFLOAD_VLAN_V2_CAPS, payload: new Uint8Array(0) },
      { opcode: 0x1234, payload: u8(1, 2, 3) },
      encodeVirtchnl({ kind: "RequestQueues", numQueuePairs: 2 }),
    ];
    const statuses: number[] = [];
    for (const r of requests) {
      const reply = await drv.request(r.opcode, r.payload); // throws if the reply's opcode differs
      statuses.push(reply.status);
    }
    const NS = VirtchnlStatus.ERR_NOT_SUPPORTED;
    expect(statuses).toEqual([0, 0, 0, NS, NS, NS, NS]);
  });

  it("7. is lenient on message lengths: the legacy (+1 element) and the exact sizes are both accepted", async () => {
    const { drv } = await setup();
    await negotiate(drv);
    const legacy = encodeVirtchnl(vsiQueues(2));
    expect(legacy.payload.length).toBe(72 + 64 * 2);
    expect((await drv.request(legacy.opcode, legacy.payload)).status).toBe(0);
    expect((await drv.request(legacy.opcode, legacy.payload.subarray(0, 8 + 64 * 2))).status).toBe(0);
    const irq = encodeVirtchnl(linuxIrqMap(2));
    expect((await drv.request(irq.opcode, irq.payload)).status).toBe(0);
    expect((await drv.request(irq.opcode, irq.payload.subarray(0, 2 + 12 * 3))).status).toBe(0);
    const mac = encodeVirtchnl({ kind: "AddEthAddr", vsiId: VSI, addresses: [{ mac: "02:00:00:00:00:09", type: 2 }] });
    expect((await drv.request(mac.opcode, mac.payload)).status).toBe(0);
    expect((await drv.request(mac.opcode, mac.payload.subarray(0, 12))).status).toBe(0);
    // Neither: the validator's status.
    expect((await drv.request(mac.opcode, mac.payload.subarray(0, 13))).status).toBe(
      VirtchnlStatus.ERR_OPCODE_MISMATCH,
    );
  });

  it("8. sends LINK_CHANGE after GET_VF_RESOURCES and ENABLE_QUEUES, in Mbps with ADV_LINK_SPEED and legacy without", async () => {
    const { dev, drv } = await setup(",queues=2,speed=25000,link=up");
    await bringUp(drv, 2);
    const last = decodeVirtchnl(17, (await drv.next()).payload, "reply");
    if (last.ok) drv.events.push(last.value);
    const adv = { kind: "Event", event: { type: "LinkChange", linkSpeed: 25000, linkUp: true, severity: 0 } };
    expect(drv.events).toEqual([adv, adv]); // one after GET_VF_RESOURCES, one after ENABLE_QUEUES
    drv.events.length = 0;
    await dev.ask("setLink", false);
    const down = await drv.next();
    expect(decodeVirtchnl(17, down.payload, "reply")).toMatchObject({
      ok: true,
      value: { event: { type: "LinkChange", linkSpeed: 25000, linkUp: false } },
    });
    // A VF without ADV_LINK_SPEED gets the legacy enum.
    await drv.initAdminQueues();
    await drv.call({ kind: "GetVfResourcesRequest", capabilities: VfCap.OFFLOAD_L2 });
    const legacy = await drv.next();
    expect(decodeVirtchnl(17, legacy.payload, "reply")).toMatchObject({
      ok: true,
      value: { event: { type: "LinkChange", linkSpeed: LinkSpeed.SPEED_25GB, linkUp: false } },
    });
  });

  it("9. grants a small capability set, ≤ 16 queue pairs, max_vectors = the MSI-X table size, RSS key 52 and LUT 64", async () => {
    const { drv } = await setup(",queues=16");
    const all = await negotiate(drv, 0xffff_ffff);
    expect(all).toMatchObject({ numQueuePairs: 16, maxVectors: 17, rssKeySize: 52, rssLutSize: 64 });
    expect(all.capabilities).toBe(PF_MINIMAL_CAPS);
    for (const bit of [VfCap.OFFLOAD_RSS_AQ, VfCap.OFFLOAD_RX_FLEX_DESC, VfCap.OFFLOAD_VLAN_V2, VfCap.LARGE_NUM_QPAIRS])
      expect(all.capabilities & bit).toBe(0);
    expect((await drv.client.getIrqInfo(PciIrq.MSIX)).count).toBe(all.maxVectors);
    const l2 = await drv.call({
      kind: "GetVfResourcesRequest",
      capabilities: (VfCap.OFFLOAD_L2 | VfCap.CAP_PTP) >>> 0,
    });
    expect(l2).toMatchObject({ capabilities: VfCap.OFFLOAD_L2 });
    const v10 = await drv.call({ kind: "GetVfResourcesRequest" }); // a 1.0 VF: L2 | RSS_REG | VLAN assumed
    expect(v10).toMatchObject({ capabilities: VfCap.OFFLOAD_L2 | VfCap.OFFLOAD_VLAN });
  });

  it("10. enables and disables queues one by one (DPDK) or in bulk (Linux); tails persist across CONFIG and ENABLE", async () => {
    const { dev, drv } = await setup(",queues=2");
    await negotiate(drv);
    // Linux writes the RX tail before the queues are even configured; through the mmapped page.
    expect(drv.bar.isMapped(BigInt(qrxTail(1)), 4)).toBe(true);
    await drv.w32(qrxTail(1), 511);
    await drv.call(vsiQueues(2));
    await drv.call(linuxIrqMap(2));
    for (const q of [0, 1]) {
      await drv.w32(qtxTail(q), 0);
      await drv.call({ kind: "EnableQueues", vsiId: VSI, rxQueues: 0, txQueues: 1 << q });
      await drv.call({ kind: "EnableQueues", vsiId: VSI, rxQueues: 1 << q, txQueues: 0 });
    }
    const on =
      await dev.ask<{ id: number; enabled: boolean; base: bigint; size: number; irqVector: number }[]>("queues");
    expect(on.map((q) => [q.id, q.enabled, q.base, q.size, q.irqVector])).toEqual([
      [0, true, rxRing(0), 512, 1],
      [1, true, txRing(0), 512, 1],
      [2, true, rxRing(1), 512, 2],
      [3, true, txRing(1), 512, 2],
    ]);
    expect(await drv.r32(qrxTail(1))).toBe(511);
    expect(await dev.ask("doorbell", 2)).toEqual([0xff, 0x01, 0, 0]);
    await drv.call({ kind: "DisableQueues", vsiId: VSI, rxQueues: 3, txQueues: 3 });
    expect((await dev.ask<{ enabled: boolean }[]>("queues")).some((q) => q.enabled)).toBe(false);
    await drv.call({ kind: "EnableQueues", vsiId: VSI, rxQueues: 3, txQueues: 3 });
    expect((await dev.ask<{ enabled: boolean }[]>("queues")).every((q) => q.enabled)).toBe(true);
    expect(await drv.r32(qrxTail(1))).toBe(511);
    // No queue selected at all is a parameter error; a queue not configured cannot be enabled.
    const none = encodeVirtchnl({ kind: "EnableQueues", vsiId: VSI, rxQueues: 0, txQueues: 0 });
    expect((await drv.request(none.opcode, none.payload)).status).toBe(VirtchnlStatus.ERR_PARAM);
  });

  it("11. GET_STATS at any time, SET_RSS_HENA(0), GET_RSS_HENA_CAPS, RSS key and LUT, promisc, MAC and VLAN filters", async () => {
    const { dev, drv } = await setup(",queues=4,mac=02:00:00:00:00:01");
    await negotiate(drv);
    const stats = await drv.call({ kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 });
    expect(stats).toMatchObject({ kind: "GetStatsReply", stats: { rxBytes: 0n, txErrors: 0n } });
    expect(await drv.call({ kind: "SetRssHena", hena: 0n })).toEqual({ kind: "Ack", opcode: 26 });
    expect(await drv.call({ kind: "GetRssHenaCapsRequest" })).toEqual({
      kind: "GetRssHenaCapsReply",
      hena: DEFAULT_RSS_HENA,
    });
    await drv.call({ kind: "SetRssHena", hena: DEFAULT_RSS_HENA });
    const key = Uint8Array.from({ length: 52 }, (_, i) => i + 1);
    const lut = Uint8Array.from({ length: 64 }, (_, i) => (i * 3) % 4);
    await drv.call({ kind: "ConfigRssKey", vsiId: VSI, bytes: key });
    await drv.call({ kind: "ConfigRssLut", vsiId: VSI, bytes: lut });
    await drv.call({ kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 2 });
    await drv.call({
      kind: "AddEthAddr",
      vsiId: VSI,
      addresses: [
        { mac: "02:00:00:00:00:aa", type: 2 },
        { mac: "33:33:00:00:00:01", type: 0 },
      ],
    });
    await drv.call({ kind: "DelEthAddr", vsiId: VSI, addresses: [{ mac: "33:33:00:00:00:01", type: 0 }] });
    await drv.call({ kind: "AddVlan", vsiId: VSI, vlanIds: [100, 200, 300] });
    await drv.call({ kind: "DelVlan", vsiId: VSI, vlanIds: [200] });
    const nic = await dev.ask<{ rss: object; filters: object }>("nic");
    expect(nic.rss).toEqual({ key, lut, hena: DEFAULT_RSS_HENA });
    expect(nic.filters).toEqual({
      macs: [
        { mac: "02:00:00:00:00:01", type: 1 },
        { mac: "02:00:00:00:00:aa", type: 2 },
      ],
      vlans: [100, 300],
      unicastPromisc: false,
      multicastPromisc: true,
      vlanStripping: false,
    });
    await dev.ask("addStats", { rxBytes: 1500, rxUnicast: 1 });
    expect(await drv.call({ kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 })).toMatchObject({
      stats: { rxBytes: 1500n, rxUnicast: 1n },
    });
  });

  it("12. the descriptor formats are the provider's: the device reports ring, length, buffer size and the legacy RXDID", async () => {
    const { dev, drv } = await setup(",queues=1");
    await negotiate(drv);
    await drv.call(vsiQueues(1, 256));
    const nic = await dev.ask<{ rxQueues: object[]; txQueues: object[] }>("nic");
    expect(nic.rxQueues).toEqual([
      { ringLen: 256, dmaRingAddr: rxRing(0), databufferSize: 2048, maxPktSize: 1518, crcStrip: true, rxdid: 1 },
    ]);
    expect(nic.txQueues).toEqual([{ ringLen: 256, dmaRingAddr: txRing(0) }]);
  });

  it("13. interrupts: vector 0 for the mailbox when ICR0_ENA1.ADMINQ and INTENA, auto-masked, SWINT_TRIG, queue vectors per CONFIG_IRQ_MAP", async () => {
    const { dev, drv } = await setup(",queues=2");
    const fired: number[] = [];
    await drv.client.enableIrqs(PciIrq.MSIX, 0, 17, (v) => fired.push(v));
    await drv.initAdminQueues();
    await drv.call({ kind: "VersionRequest", major: 1, minor: 1 });
    expect(fired).toEqual([]); // nothing enabled yet
    await drv.w32(Reg.VFINT_ICR0_ENA1, 0x4000_0000);
    await drv.w32(Reg.VFINT_DYN_CTL01, 0x1b); // DPDK's INTENA | CLEARPBA | ITR_NONE
    expect(await drv.r32(Reg.VFINT_DYN_CTL01)).toBe(0x19); // CLEARPBA reads back 0
    await drv.call({ kind: "VersionRequest", major: 1, minor: 1 });
    await until(() => fired.length === 1);
    expect(await drv.r32(Reg.VFINT_DYN_CTL01)).toBe(0x18); // INTENA cleared by the interrupt
    expect(await drv.r32(Reg.VFINT_ICR01)).toBe(0x4000_0000); // ADMINQ cause, cleared by the read
    expect(await drv.r32(Reg.VFINT_ICR01)).toBe(0);
    await drv.call({ kind: "VersionRequest", major: 1, minor: 1 }); // held: INTENA is clear
    await new Promise((r) => setTimeout(r, 50));
    expect(fired).toEqual([0]);
    await drv.w32(Reg.VFINT_DYN_CTL01, 0x19); // Linux re-arms: the held cause fires
    await until(() => fired.length === 2);
    // Queue vectors: mapped by CONFIG_IRQ_MAP, raised by the data path through the NIC view, gated by DYN_CTLN1.
    await drv.call({ kind: "GetVfResourcesRequest", capabilities: 0xffff_ffff });
    await drv.call(linuxIrqMap(2));
    expect(await dev.ask("interrupt", 2)).toBe("held");
    await drv.w32(0x3800 + 4 * 1, 0x19); // DYN_CTLN1(1) = vector 2
    await until(() => fired.includes(2));
    expect(await dev.ask("interrupt", 2)).toBe("held");
    await drv.w32(0x3800, 0x1 | 0x18 | 0x4); // SWINT_TRIG with INTENA on vector 1
    await until(() => fired.includes(1));
    expect(fired.filter((v) => v === 2)).toHaveLength(1);
  });

  it("14. accepts writes to VFQF_HENA/HKEY/HLUT and the ITR registers; every register reads back", async () => {
    const { dev, drv } = await setup(",queues=4");
    await negotiate(drv, VfCap.OFFLOAD_L2); // no RSS_PF: Linux's register path
    // Before the driver writes it, the hash set is the PF's default (what GET_RSS_HENA_CAPS reports): Linux's iavf
    // never sets it over virtchnl unless the user asks (ethtool), so a PF that left 0 would give it no RSS.
    expect((await dev.ask<{ rss: { hena: bigint } }>("nic")).rss.hena).toBe(DEFAULT_RSS_HENA);
    expect(BigInt(await drv.r32(0xc400)) | (BigInt(await drv.r32(0xc404)) << 32n)).toBe(DEFAULT_RSS_HENA);
    await drv.w32(0xc400, 0x8000_0000);
    await drv.w32(0xc404, 0x1);
    for (let i = 0; i <= 13; i++) await drv.w32(0xcc00 + 4 * i, 0x04030201 + i);
    for (let i = 0; i <= 16; i++) await drv.w32(0xd000 + 4 * i, 0x03020100);
    await drv.w32(0x4c00, 0x3e); // ITR01(0)
    await drv.w32(0x2800 + 64 + 4 * 2, 0x7a); // ITRN1(1, vector 3): in the mmapped RX page
    await drv.w32(0x3800 + 4 * 3, (0x1 | (1 << 3) | (0x20 << 5)) >>> 0); // DYN_CTLN1(3): INTENA, ITR 1 := 0x20
    expect(await drv.r32(0xc400)).toBe(0x8000_0000);
    expect(await drv.r32(0xcc34)).toBe(0x04030201 + 13); // one word beyond the key, as Linux writes
    expect(await drv.r32(0xd040)).toBe(0x03020100);
    expect(await drv.r32(0x4c00)).toBe(0x3e);
    expect(await drv.r32(0x2800 + 64 + 8)).toBe(0x7a);
    expect(await dev.ask("itr", 3, 1)).toBe(0x7a);
    expect(await dev.ask("itr", 4, 1)).toBe(0x20);
    expect(await drv.r32(0x2800 + 64 + 12)).toBe(0x20);
    const nic = await dev.ask<{ rss: { hena: bigint; key: Uint8Array; lut: Uint8Array } }>("nic");
    expect(nic.rss.hena).toBe(0x1_8000_0000n);
    expect(Array.from(nic.rss.key.subarray(0, 4))).toEqual([1, 2, 3, 4]);
    expect(Array.from(nic.rss.lut.subarray(0, 4))).toEqual([0, 1, 2, 3]);
    for (const off of [Reg.VFINT_STAT_CTL01, 0x1000, 0xe000, 0xfffc]) {
      await drv.w32(off, 0x5a5a_0001);
      expect(await drv.r32(off)).toBe(0x5a5a_0001);
    }
    await drv.w32(Reg.VFGEN_RSTAT, 0); // read-only
    expect((await drv.r32(Reg.VFGEN_RSTAT)) & 3).toBe(VfrState.VFACTIVE);
  });
});
