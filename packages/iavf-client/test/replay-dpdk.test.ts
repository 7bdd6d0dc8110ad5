// DPDK's iavf PMD order (21.02 with the additions of DPDK main, iavf-device.md §4.8), replayed message by message
// through the raw mailbox, each reply checked byte for byte against the struct layouts.
import { AqLen, DEFAULT_RSS_HENA, Icr0, qrxTail, qtxTail, Reg, VfCap, VirtchnlOp } from "@emu/iavf-common";
import { expect, it } from "vitest";
import { le } from "./fixtures/raw.js";
import { linkEvent, MAC, QUEUES, replay, VSI, vfResourcesReply } from "./fixtures/replay.js";

/** What DPDK 21.02 asks for (its CRC bit is 0x80, the value of ADV_LINK_SPEED). */
const DPDK_CAPS =
  VfCap.OFFLOAD_L2 |
  VfCap.OFFLOAD_VLAN |
  VfCap.OFFLOAD_RSS_PF |
  VfCap.OFFLOAD_WB_ON_ITR |
  VfCap.OFFLOAD_RX_POLLING |
  VfCap.CAP_ADV_LINK_SPEED |
  VfCap.OFFLOAD_RX_FLEX_DESC |
  VfCap.OFFLOAD_FDIR_PF |
  VfCap.OFFLOAD_ADV_RSS_PF |
  VfCap.OFFLOAD_REQ_QUEUES |
  VfCap.OFFLOAD_CRC_DPDK_21_02 |
  VfCap.OFFLOAD_VLAN_V2 |
  VfCap.LARGE_NUM_QPAIRS;

const RING = 0x4_0000_0000n;
const N = 1024;

/** CONFIG_VSI_QUEUES of iavf_configure_queues (DPDK): mbuf-sized buffers, max_pkt_size 1518. */
function dpdkVsiQueues(): Uint8Array {
  const b = le().u16(VSI).u16(QUEUES).u32(0);
  for (let q = 0; q < QUEUES; q++) {
    b.u16(VSI)
      .u16(q)
      .u16(N)
      .u16(0)
      .u64(RING + BigInt(2 * q) * 0x10000n)
      .u64(0n);
    b.u16(VSI).u16(q).u32(N).u16(0).u16(0).u32(2048).u32(1518).u8(0).u8(0).u8(0).u8(0);
    b.u64(RING + BigInt(2 * q + 1) * 0x10000n)
      .u32(0)
      .u32(0);
  }
  return b.zeros(64).bytes();
}

const select = (rx: number, tx: number) => le().u16(VSI).u16(0).u32(rx).u32(tx).bytes();

it("replays DPDK: init, configure (VLAN strip off, RSS), start (queue by queue), stats, stop, close", async () => {
  const r = await replay({ order: "linux", atqLength: 32, arqLength: 32 });
  await r.adminq.setup();
  await r.expectReply(VirtchnlOp.VERSION, le().u32(1).u32(1).bytes(), le().u32(1).u32(1).bytes());
  await r.expectReply(VirtchnlOp.GET_VF_RESOURCES, le().u32(DPDK_CAPS).bytes(), vfResourcesReply(DPDK_CAPS));
  await r.expectEvent(linkEvent(false));
  // iavf_enable_irq0
  await r.bar.write(Reg.VFINT_ICR0_ENA1, Icr0.ADMINQ);
  await r.bar.write(Reg.VFINT_DYN_CTL01, 0x1b);

  // dev_configure: VLAN (not VLAN_V2) granted → stripping off; RSS_PF without ADV_RSS_PF → HENA caps, HENA, LUT.
  await r.expectReply(VirtchnlOp.DISABLE_VLAN_STRIPPING, new Uint8Array(0));
  await r.expectReply(VirtchnlOp.GET_RSS_HENA_CAPS, new Uint8Array(0), le().u64(DEFAULT_RSS_HENA).bytes());
  await r.expectReply(VirtchnlOp.SET_RSS_HENA, le().u64(0n).bytes());
  await r.expectReply(VirtchnlOp.CONFIG_RSS_LUT, le().u16(VSI).u16(64).zeros(64).u8(0).bytes());

  // dev_start
  await r.expectReply(VirtchnlOp.CONFIG_VSI_QUEUES, dpdkVsiQueues());
  // RX queues only, all on vector 1 (no RX interrupts): 14 + 12 bytes
  await r.expectReply(
    VirtchnlOp.CONFIG_IRQ_MAP,
    le().u16(1).u16(VSI).u16(1).u16(0xf).u16(0).u16(0).u16(0).zeros(12).bytes(),
  );
  await r.expectReply(VirtchnlOp.ADD_ETH_ADDR, le().u16(VSI).u16(1).mac(MAC).u8(0).u8(0).zeros(8).bytes());
  for (let q = 0; q < QUEUES; q++) {
    await r.bar.write(qtxTail(q), 0);
    await r.expectReply(VirtchnlOp.ENABLE_QUEUES, select(0, 1 << q));
    await r.expectEvent(linkEvent(false));
  }
  for (let q = 0; q < QUEUES; q++) {
    await r.bar.write(qrxTail(q), N - 1);
    expect(await r.reg(qrxTail(q))).toBe(N - 1); // tails read back
    await r.expectReply(VirtchnlOp.ENABLE_QUEUES, select(1 << q, 0));
    await r.expectEvent(linkEvent(false));
  }
  await r.expectReply(VirtchnlOp.GET_STATS, select(0, 0), new Uint8Array(96));

  // dev_stop: queue by queue, then the MAC
  for (let q = 0; q < QUEUES; q++) await r.expectReply(VirtchnlOp.DISABLE_QUEUES, select(1 << q, 0));
  for (let q = 0; q < QUEUES; q++) await r.expectReply(VirtchnlOp.DISABLE_QUEUES, select(0, 1 << q));
  await r.expectReply(VirtchnlOp.DEL_ETH_ADDR, le().u16(VSI).u16(1).mac(MAC).u8(0).u8(0).zeros(8).bytes());
  // dev_close: promiscuous off, RESET_VF (DPDK main), queue shutdown, registers zeroed
  await r.expectReply(VirtchnlOp.CONFIG_PROMISCUOUS_MODE, le().u16(VSI).u16(0).bytes());
  await r.mailbox.send(VirtchnlOp.RESET_VF);
  const alive = ((await r.reg(Reg.VF_ATQLEN1)) & AqLen.ENABLE) !== 0;
  expect(alive).toBe(false); // the reset cleared the queues: no queue-shutdown command is owed
  await r.adminq.shutdown(true);
  for (const reg of [Reg.VF_ATQBAL1, Reg.VF_ATQBAH1, Reg.VF_ARQBAL1, Reg.VF_ARQBAH1, Reg.VF_ATQLEN1]) {
    expect(await r.reg(reg)).toBe(0);
  }
});
