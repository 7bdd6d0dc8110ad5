// The init sequences of the Linux iavf driver, DPDK's iavf PMD and VPP's dev_iavf (shared/docs/iavf-device.md §4.8)
// replayed message by message against emu_iavf in another process; every message the device puts on the ARQ is
// checked byte for byte (opcode, status, payload written out from the struct layouts of §4.5).
import {
  AqOpcode,
  encodeVirtchnl,
  qrxTail,
  qtxTail,
  Reg,
  VfCap,
  type VirtchnlMessage,
  VirtchnlOp,
} from "@emu/iavf-common";
import { PciIrq } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { VSI, vsiQueues } from "./fixtures/bring-up.js";
import { openDriver, serveIavf } from "./fixtures/harness.js";
import type { RawDriver } from "./fixtures/raw-driver.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const C = VfCap;

/** Sends `m` and returns every message the ARQ then holds, as "opcode status hex". */
async function step(drv: RawDriver, m: VirtchnlMessage): Promise<string[]> {
  const e = encodeVirtchnl(m);
  await drv.send(e.opcode, e.payload);
  const out: string[] = [];
  for (let r = await drv.receive(); r !== undefined; r = await drv.receive())
    out.push(`${r.desc.cookieHigh} ${r.desc.cookieLow} ${hex(r.payload)}`);
  return out;
}

// Expected ARQ messages.
const ACK = (op: number) => `${op} 0 `;
const VERSION_1_1 = "1 0 0100000001000000";
/** vf_resource (20) + one vsi_resource (16) + the legacy empty slot (16): 52 bytes. */
const resources = (qps: string, caps: string, mac: string) =>
  `3 0 0100${qps}1100dc05${caps}3400000040000000${`0100${qps}060000000100${mac}`}${"00".repeat(16)}`;
/** LINK_CHANGE, 25000 Mbps. */
const LINK = (up: boolean) => `17 0 01000000a8610000${up ? "01" : "00"}00000000000000`;
const GRANTED = "a1000900"; // L2 | RSS_PF | VLAN | WB_ON_ITR | ADV_LINK_SPEED
const MAC = "020000000001";
const HENA = "000000801e7a0080"; // Linux's default hash set
const STATS0 = "00".repeat(96);

const KEY = Uint8Array.from({ length: 52 }, (_, i) => i);
const LUT = (n: number) => Uint8Array.from({ length: 64 }, (_, i) => i % n);
const irqMap = (n: number, rxOnly: boolean): VirtchnlMessage => ({
  kind: "ConfigIrqMap",
  vectors: [
    ...Array.from({ length: n }, (_, q) => ({
      vsiId: VSI,
      vectorId: rxOnly ? 1 : q + 1,
      rxqMap: 1 << q,
      txqMap: rxOnly ? 0 : 1 << q,
      rxitrIdx: 0,
      txitrIdx: rxOnly ? 0 : 1,
    })),
    ...(rxOnly ? [] : [{ vsiId: VSI, vectorId: 0, rxqMap: 0, txqMap: 0, rxitrIdx: 0, txitrIdx: 0 }]),
  ],
});
const sel = (kind: "EnableQueues" | "DisableQueues", rx: number, tx: number): VirtchnlMessage => ({
  kind,
  vsiId: VSI,
  rxQueues: rx,
  txQueues: tx,
});
const mac = (kind: "AddEthAddr" | "DelEthAddr"): VirtchnlMessage => ({
  kind,
  vsiId: VSI,
  addresses: [{ mac: "02:00:00:00:00:01", type: 1 }],
});

describe("init sequences replayed byte for byte", () => {
  it("Linux iavf: VERSION, GET_VF_RESOURCES, IRQ map, MAC, queues, enable, RSS, promisc, stats", async () => {
    const dev = await serveIavf(",queues=4,mac=02:00:00:00:00:01,link=up");
    const drv = await openDriver(dev.sock);
    await drv.untilRstat();
    await drv.initAdminQueues("linux");
    const linuxCaps =
      C.OFFLOAD_L2 |
      C.OFFLOAD_RSS_PF |
      C.OFFLOAD_RSS_AQ |
      C.OFFLOAD_RSS_REG |
      C.OFFLOAD_VLAN |
      C.OFFLOAD_WB_ON_ITR |
      C.OFFLOAD_RSS_PCTYPE_V2 |
      C.OFFLOAD_VLAN_V2 |
      C.OFFLOAD_CRC |
      C.OFFLOAD_ENCAP |
      C.OFFLOAD_ENCAP_CSUM |
      C.OFFLOAD_REQ_QUEUES |
      C.OFFLOAD_ADQ |
      C.OFFLOAD_USO |
      C.OFFLOAD_FDIR_PF |
      C.OFFLOAD_ADV_RSS_PF |
      C.CAP_ADV_LINK_SPEED |
      C.OFFLOAD_QOS;
    expect(await step(drv, { kind: "VersionRequest", major: 1, minor: 1 })).toEqual([VERSION_1_1]);
    expect(await step(drv, { kind: "GetVfResourcesRequest", capabilities: linuxCaps })).toEqual([
      resources("0400", GRANTED, MAC),
      LINK(true),
    ]);
    await drv.w32(Reg.VFINT_ICR0_ENA1, 0x4000_0000);
    await drv.w32(Reg.VFINT_DYN_CTL01, 0x19);
    expect(await step(drv, irqMap(4, false))).toEqual([ACK(7)]);
    expect(await step(drv, mac("AddEthAddr"))).toEqual([ACK(10)]);
    for (let q = 0; q < 4; q++) await drv.w32(qrxTail(q), 504); // Linux fills RX rings before configuring them
    expect(await step(drv, vsiQueues(4))).toEqual([ACK(6)]);
    expect(await step(drv, sel("EnableQueues", 0xf, 0xf))).toEqual([ACK(8), LINK(true)]);
    expect(await step(drv, { kind: "GetRssHenaCapsRequest" })).toEqual([`25 0 ${HENA}`]);
    expect(await step(drv, { kind: "SetRssHena", hena: 0x80007a1e80000000n })).toEqual([ACK(26)]);
    expect(await step(drv, { kind: "ConfigRssKey", vsiId: VSI, bytes: KEY })).toEqual([ACK(23)]);
    expect(await step(drv, { kind: "ConfigRssLut", vsiId: VSI, bytes: LUT(4) })).toEqual([ACK(24)]);
    expect(await step(drv, { kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 0 })).toEqual([ACK(14)]);
    expect(await step(drv, { kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 })).toEqual([
      `15 0 ${STATS0}`,
    ]);
    expect(await drv.r32(qrxTail(3))).toBe(504);
    // ifdown: disable, delete the MAC; remove: RESET_VF.
    expect(await step(drv, sel("DisableQueues", 0xf, 0xf))).toEqual([ACK(9)]);
    expect(await step(drv, mac("DelEthAddr"))).toEqual([ACK(11)]);
    expect(await step(drv, { kind: "ResetVf" })).toEqual([]);
  });

  it("DPDK iavf: resources, VLAN strip, RSS, queues, RX-only IRQ map, per-queue enable, stop, close with queue shutdown", async () => {
    const dev = await serveIavf(",queues=2,mac=02:00:00:00:00:01,link=up");
    const drv = await openDriver(dev.sock);
    await drv.untilRstat();
    await drv.initAdminQueues("linux");
    const dpdkCaps =
      C.OFFLOAD_L2 |
      C.OFFLOAD_VLAN |
      C.OFFLOAD_RSS_PF |
      C.OFFLOAD_WB_ON_ITR |
      C.OFFLOAD_RX_POLLING |
      C.CAP_ADV_LINK_SPEED |
      C.OFFLOAD_RX_FLEX_DESC |
      C.OFFLOAD_FDIR_PF |
      C.OFFLOAD_ADV_RSS_PF |
      C.OFFLOAD_REQ_QUEUES |
      C.OFFLOAD_CRC_DPDK_21_02 |
      C.OFFLOAD_VLAN_V2 |
      C.LARGE_NUM_QPAIRS;
    expect(await step(drv, { kind: "VersionRequest", major: 1, minor: 1 })).toEqual([VERSION_1_1]);
    expect(await step(drv, { kind: "GetVfResourcesRequest", capabilities: dpdkCaps })).toEqual([
      resources("0200", GRANTED, MAC),
      LINK(true),
    ]);
    // DPDK main at init: SET_RSS_HENA(0) and GET_STATS.
    expect(await step(drv, { kind: "SetRssHena", hena: 0n })).toEqual([ACK(26)]);
    expect(await step(drv, { kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 })).toEqual([
      `15 0 ${STATS0}`,
    ]);
    await drv.w32(Reg.VFINT_ICR0_ENA1, 0x4000_0000);
    await drv.w32(Reg.VFINT_DYN_CTL01, 0x1b);
    // dev_configure
    expect(await step(drv, { kind: "DisableVlanStripping" })).toEqual([ACK(28)]);
    expect(await step(drv, { kind: "GetRssHenaCapsRequest" })).toEqual([`25 0 ${HENA}`]);
    expect(await step(drv, { kind: "SetRssHena", hena: 0x80007a1e80000000n })).toEqual([ACK(26)]);
    expect(await step(drv, { kind: "ConfigRssLut", vsiId: VSI, bytes: LUT(2) })).toEqual([ACK(24)]);
    expect(await step(drv, { kind: "ConfigRssKey", vsiId: VSI, bytes: KEY })).toEqual([ACK(23)]);
    // dev_start
    expect(await step(drv, vsiQueues(2))).toEqual([ACK(6)]);
    expect(await step(drv, irqMap(2, true))).toEqual([ACK(7)]);
    expect(await step(drv, mac("AddEthAddr"))).toEqual([ACK(10)]);
    for (let q = 0; q < 2; q++) {
      await drv.w32(qtxTail(q), 0);
      expect(await step(drv, sel("EnableQueues", 0, 1 << q))).toEqual([ACK(8), LINK(true)]);
    }
    for (let q = 0; q < 2; q++) {
      await drv.w32(qrxTail(q), 511);
      expect(await step(drv, sel("EnableQueues", 1 << q, 0))).toEqual([ACK(8), LINK(true)]);
    }
    // stop, close
    for (let q = 0; q < 2; q++) expect(await step(drv, sel("DisableQueues", 1 << q, 1 << q))).toEqual([ACK(9)]);
    expect(await step(drv, mac("DelEthAddr"))).toEqual([ACK(11)]);
    expect(await step(drv, { kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 0 })).toEqual([ACK(14)]);
    const shutdown = await drv.send(0, new Uint8Array(0), { aqOpcode: AqOpcode.QUEUE_SHUTDOWN, flags: 0 });
    expect(shutdown.retval).toBe(0);
    expect(await drv.receive()).toBeUndefined();
  });

  it("VPP dev_iavf: small rings programmed LEN-last, RESET_VF first, then resources, queues, RSS, promisc, enable", async () => {
    const dev = await serveIavf(",queues=2,mac=02:00:00:00:00:01,link=up", 20);
    const drv = await openDriver(dev.sock);
    await drv.initAdminQueues("vpp", 4, 16);
    expect(await step(drv, { kind: "ResetVf" })).toEqual([]);
    await drv.untilRstat();
    await drv.initAdminQueues("vpp", 4, 16);
    const vppCaps =
      C.CAP_ADV_LINK_SPEED |
      C.LARGE_NUM_QPAIRS |
      C.OFFLOAD_ADV_RSS_PF |
      C.OFFLOAD_FDIR_PF |
      C.OFFLOAD_L2 |
      C.OFFLOAD_REQ_QUEUES |
      C.OFFLOAD_RSS_PF |
      C.OFFLOAD_RX_POLLING |
      C.OFFLOAD_VLAN |
      C.OFFLOAD_VLAN_V2 |
      C.OFFLOAD_WB_ON_ITR;
    expect(await step(drv, { kind: "VersionRequest", major: 1, minor: 1 })).toEqual([VERSION_1_1]);
    expect(await step(drv, { kind: "GetVfResourcesRequest", capabilities: vppCaps })).toEqual([
      resources("0200", GRANTED, MAC),
      LINK(true),
    ]);
    expect(await step(drv, { kind: "DisableVlanStripping" })).toEqual([ACK(28)]);
    expect(await step(drv, vsiQueues(2))).toEqual([ACK(6)]);
    expect(await step(drv, irqMap(2, true))).toEqual([ACK(7)]);
    expect(await step(drv, mac("AddEthAddr"))).toEqual([ACK(10)]);
    expect(await step(drv, { kind: "ConfigRssKey", vsiId: VSI, bytes: KEY })).toEqual([ACK(23)]);
    expect(await step(drv, { kind: "ConfigRssLut", vsiId: VSI, bytes: LUT(2) })).toEqual([ACK(24)]);
    expect(await step(drv, { kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 3 })).toEqual([ACK(14)]);
    expect(await step(drv, sel("EnableQueues", 3, 3))).toEqual([ACK(8), LINK(true)]);
    for (let i = 0; i < 6; i++)
      expect(await step(drv, { kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 })).toHaveLength(1);
    const shutdown = await drv.send(0, new Uint8Array(0), { aqOpcode: AqOpcode.QUEUE_SHUTDOWN, flags: 0 });
    expect(shutdown.retval).toBe(0);
  });

  it("guest memory without an fd (QEMU's anonymous RAM): the mailbox runs over DMA_READ/DMA_WRITE messages", async () => {
    const dev = await serveIavf(",queues=2,mac=02:00:00:00:00:01,link=up");
    const drv = await openDriver(dev.sock, { messageBased: true });
    let messages = 0;
    drv.client.on("dma", () => messages++);
    const fired: number[] = [];
    await drv.client.enableIrqs(PciIrq.MSIX, 0, 17, (v) => fired.push(v));
    await drv.initAdminQueues();
    await drv.w32(Reg.VFINT_ICR0_ENA1, 0x4000_0000);
    await drv.w32(Reg.VFINT_DYN_CTL01, 0x19);
    expect(await step(drv, { kind: "VersionRequest", major: 1, minor: 1 })).toEqual([VERSION_1_1]);
    expect(await step(drv, { kind: "GetVfResourcesRequest", capabilities: 0xffff_ffff })).toEqual([
      resources("0200", GRANTED, MAC),
      LINK(true),
    ]);
    expect(messages).toBeGreaterThan(10);
    expect(fired).toContain(0);
    expect(await step(drv, vsiQueues(2))).toEqual([ACK(VirtchnlOp.CONFIG_VSI_QUEUES)]);
  });
});
