// The Linux iavf driver's bring-up and reset (iavf-device.md §4.8), message by message through the raw mailbox, each
// reply checked byte for byte against the struct layouts.
import { LINUX_REQUESTED_CAPS } from "@emu/iavf-client";
import { AqFlag, AqLen, DynCtl, Icr0, Reg, VfrState, VirtchnlOp } from "@emu/iavf-common";
import { until } from "@emu/test-kit";
import { expect, it } from "vitest";
import { le } from "./fixtures/raw.js";
import { linkEvent, MAC, QUEUES, replay, rstat, VSI, vfResourcesReply } from "./fixtures/replay.js";

const TX_RING = 0x2_0000_0000n;
const RX_RING = 0x3_0000_0000n;

/** CONFIG_IRQ_MAP as iavf_map_queues: one vector per queue (both maps, ITR 0/1), then vector 0; 14 + 12·n bytes. */
function linuxIrqMap(): Uint8Array {
  const b = le().u16(QUEUES + 1);
  for (let q = 0; q < QUEUES; q++)
    b.u16(VSI)
      .u16(q + 1)
      .u16(1 << q)
      .u16(1 << q)
      .u16(0)
      .u16(1);
  return b.u16(VSI).u16(0).u16(0).u16(0).u16(0).u16(0).zeros(12).bytes();
}

/** CONFIG_VSI_QUEUES as iavf_configure_queues: 72 + 64·n bytes. */
function linuxVsiQueues(): Uint8Array {
  const b = le().u16(VSI).u16(QUEUES).u32(0);
  for (let q = 0; q < QUEUES; q++) {
    b.u16(VSI)
      .u16(q)
      .u16(512)
      .u16(0)
      .u64(TX_RING + BigInt(q) * 0x10000n)
      .u64(0n); // txq_info
    b.u16(VSI).u16(q).u32(512).u16(0).u16(0).u32(2048).u32(1534).u8(0).u8(0).u8(0).u8(0); // rxq_info …
    b.u64(RX_RING + BigInt(q) * 0x10000n)
      .u32(0)
      .u32(0);
  }
  return b.zeros(64).bytes();
}

it("replays Linux: RSTAT, AQ (LEN before BAL/BAH), VERSION, GET_VF_RESOURCES, IRQ map, MAC, queues, enable, RSS, stats, reset", async () => {
  const r = await replay({ order: "linux", atqLength: 32, arqLength: 32 });
  expect([VfrState.COMPLETED, VfrState.VFACTIVE]).toContain(await rstat(r));
  await r.adminq.setup();
  expect(await r.reg(Reg.VF_ATQLEN1)).toBe((32 | AqLen.ENABLE) >>> 0);
  expect(await r.reg(Reg.VF_ARQT1)).toBe(31);

  await r.expectReply(VirtchnlOp.VERSION, le().u32(1).u32(1).bytes(), le().u32(1).u32(1).bytes());
  const caps = le().u32(LINUX_REQUESTED_CAPS).bytes();
  await r.expectReply(VirtchnlOp.GET_VF_RESOURCES, caps, vfResourcesReply(LINUX_REQUESTED_CAPS));
  await r.expectEvent(linkEvent(false)); // i40e sends the link right after GET_VF_RESOURCES

  // iavf_misc_irq_enable
  await r.bar.write(Reg.VFINT_DYN_CTL01, DynCtl.INTENA | DynCtl.ITR_INDX_MASK);
  await r.bar.write(Reg.VFINT_ICR0_ENA1, Icr0.ADMINQ);
  expect(await r.reg(Reg.VFINT_ICR0_ENA1)).toBe(Icr0.ADMINQ);

  await r.expectReply(VirtchnlOp.CONFIG_IRQ_MAP, linuxIrqMap());
  await r.expectReply(VirtchnlOp.ADD_ETH_ADDR, le().u16(VSI).u16(1).mac(MAC).u8(1).u8(0).zeros(8).bytes());
  await r.expectReply(VirtchnlOp.CONFIG_VSI_QUEUES, linuxVsiQueues());
  const all = (1 << QUEUES) - 1;
  await r.expectReply(VirtchnlOp.ENABLE_QUEUES, le().u16(VSI).u16(0).u32(all).u32(all).bytes());
  await r.expectEvent(linkEvent(false)); // and again after ENABLE_QUEUES (the device's link is still down)
  const key = Uint8Array.from({ length: 52 }, (_, i) => (i * 7 + 3) & 0xff);
  await r.expectReply(VirtchnlOp.CONFIG_RSS_KEY, le().u16(VSI).u16(52).raw(key).u8(0).bytes());
  const lut = Uint8Array.from({ length: 64 }, (_, i) => i % QUEUES);
  await r.expectReply(VirtchnlOp.CONFIG_RSS_LUT, le().u16(VSI).u16(64).raw(lut).u8(0).bytes());
  await r.expectReply(VirtchnlOp.GET_STATS, le().u16(VSI).u16(0).u32(0).u32(0).bytes(), new Uint8Array(96));

  await r.served.setLink(true);
  await r.expectEvent(linkEvent(true));

  // Reset (iavf_reset_task): RESET_VF has no reply; ARQLEN.ENABLE drops, RSTAT goes to VFACTIVE.
  const slot = await r.mailbox.send(VirtchnlOp.RESET_VF);
  expect(r.adminq.atqDescriptor(slot).flags & AqFlag.DD).toBe(AqFlag.DD);
  await until(async () => ((await r.reg(Reg.VF_ARQLEN1)) & AqLen.ENABLE) === 0, 2500, "ARQLEN.ENABLE cleared");
  await until(async () => (await rstat(r)) === VfrState.VFACTIVE, 5000, "VFACTIVE");
  r.adminq.forget();
  await r.adminq.setup();
  // No VERSION: the PF kept the negotiated 1.1, so the capability word is still expected.
  await r.expectReply(VirtchnlOp.GET_VF_RESOURCES, caps, vfResourcesReply(LINUX_REQUESTED_CAPS));
  await r.expectEvent(linkEvent(true));
  await r.expectReply(VirtchnlOp.CONFIG_IRQ_MAP, linuxIrqMap());
  await r.expectReply(VirtchnlOp.ADD_ETH_ADDR, le().u16(VSI).u16(1).mac(MAC).u8(1).u8(0).zeros(8).bytes());
  await r.expectReply(VirtchnlOp.CONFIG_VSI_QUEUES, linuxVsiQueues());
  await r.expectReply(VirtchnlOp.ENABLE_QUEUES, le().u16(VSI).u16(0).u32(all).u32(all).bytes());
  await r.expectEvent(linkEvent(true));

  // iavf_shutdown_adminq: queue shutdown (driver unloading), then the registers zeroed.
  const done = await r.adminq.queueShutdown(true);
  expect(done.flags & (AqFlag.DD | AqFlag.CMP)).toBe(AqFlag.DD | AqFlag.CMP);
  expect(done.retval).toBe(0);
  await r.adminq.shutdown(false);
  expect(await r.reg(Reg.VF_ATQLEN1)).toBe(0);
  expect(await r.reg(Reg.VF_ARQLEN1)).toBe(0);
});
