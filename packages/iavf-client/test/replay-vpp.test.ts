// VPP's iavf driver order (iavf-device.md §4.8): its own admin-queue programming (LEN|ENABLE last, 4 ATQ / 16 ARQ
// descriptors, completion by DD), RESET_VF first, then VERSION, resources and the port start; byte-for-byte replies.
import { AqFlag, Reg, VfCap, VfrState, VirtchnlOp } from "@emu/iavf-common";
import { until } from "@emu/test-kit";
import { expect, it } from "vitest";
import { le } from "./fixtures/raw.js";
import { linkEvent, MAC, QUEUES, replay, rstat, VSI, vfResourcesReply } from "./fixtures/replay.js";

const VPP_CAPS =
  VfCap.CAP_ADV_LINK_SPEED |
  VfCap.LARGE_NUM_QPAIRS |
  VfCap.OFFLOAD_ADV_RSS_PF |
  VfCap.OFFLOAD_FDIR_PF |
  VfCap.OFFLOAD_L2 |
  VfCap.OFFLOAD_REQ_QUEUES |
  VfCap.OFFLOAD_RSS_PF |
  VfCap.OFFLOAD_RX_POLLING |
  VfCap.OFFLOAD_VLAN |
  VfCap.OFFLOAD_VLAN_V2 |
  VfCap.OFFLOAD_WB_ON_ITR;

const RING = 0x5_0000_0000n;

function vppVsiQueues(): Uint8Array {
  const b = le().u16(VSI).u16(QUEUES).u32(0);
  for (let q = 0; q < QUEUES; q++) {
    b.u16(VSI)
      .u16(q)
      .u16(512)
      .u16(0)
      .u64(RING + BigInt(2 * q) * 0x8000n)
      .u64(0n);
    b.u16(VSI)
      .u16(q)
      .u32(512)
      .u16(0)
      .u16(0)
      .u32(2048)
      .u32(1518 + 8)
      .u8(0)
      .u8(0)
      .u8(0)
      .u8(0);
    b.u64(RING + BigInt(2 * q + 1) * 0x8000n)
      .u32(0)
      .u32(0);
  }
  return b.zeros(64).bytes();
}

it("replays VPP: AQ in VPP's order, RESET_VF, VERSION, resources, port start, completion by DD, shutdown", async () => {
  const r = await replay({ order: "vpp", atqLength: 4, arqLength: 16 });
  await r.adminq.setup();
  expect(await r.reg(Reg.VF_ARQT1)).toBe(15);
  const reset = await r.mailbox.send(VirtchnlOp.RESET_VF);
  await until(() => (r.adminq.atqDescriptor(reset).flags & AqFlag.DD) !== 0, 1000, "DD on RESET_VF");
  await until(async () => (await rstat(r)) === VfrState.VFACTIVE, 5000, "VFACTIVE");
  r.adminq.forget();
  await r.adminq.setup();
  await r.expectReply(VirtchnlOp.VERSION, le().u32(1).u32(1).bytes(), le().u32(1).u32(1).bytes());
  await r.expectReply(VirtchnlOp.GET_VF_RESOURCES, le().u32(VPP_CAPS).bytes(), vfResourcesReply(VPP_CAPS));
  await r.expectEvent(linkEvent(false));
  await r.expectReply(VirtchnlOp.DISABLE_VLAN_STRIPPING, new Uint8Array(0));
  await r.expectReply(VirtchnlOp.CONFIG_VSI_QUEUES, vppVsiQueues());
  const irqMap = le().u16(2).u16(VSI).u16(0).u16(0).u16(0).u16(0).u16(0);
  irqMap.u16(VSI).u16(1).u16(0xf).u16(0).u16(0).u16(0).zeros(12);
  await r.expectReply(VirtchnlOp.CONFIG_IRQ_MAP, irqMap.bytes());
  await r.expectReply(VirtchnlOp.ADD_ETH_ADDR, le().u16(VSI).u16(1).mac(MAC).u8(0).u8(0).zeros(8).bytes());
  const key = Uint8Array.from({ length: 52 }, (_, i) => i);
  await r.expectReply(VirtchnlOp.CONFIG_RSS_KEY, le().u16(VSI).u16(52).raw(key).u8(0).bytes());
  const lut = Uint8Array.from({ length: 64 }, (_, i) => i & 3);
  await r.expectReply(VirtchnlOp.CONFIG_RSS_LUT, le().u16(VSI).u16(64).raw(lut).u8(0).bytes());
  await r.expectReply(VirtchnlOp.CONFIG_PROMISCUOUS_MODE, le().u16(VSI).u16(3).bytes());
  await r.expectReply(VirtchnlOp.ENABLE_QUEUES, le().u16(VSI).u16(0).u32(0xf).u32(0xf).bytes());
  await r.expectEvent(linkEvent(false));
  // More requests than ATQ slots: the 4-entry ring wraps, slots reclaimed by DD.
  for (let i = 0; i < 6; i++) {
    await r.expectReply(VirtchnlOp.GET_STATS, le().u16(VSI).u16(0).u32(0).u32(0).bytes(), new Uint8Array(96));
  }
  const done = await r.adminq.queueShutdown(true);
  expect(done.flags & (AqFlag.DD | AqFlag.CMP)).toBe(AqFlag.DD | AqFlag.CMP);
});
