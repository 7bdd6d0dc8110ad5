// Hostile admin-queue input: what a broken or malicious guest driver can post. Each case gets an error status (in the
// virtchnl reply, or in the ATQ/ARQ descriptor when the message cannot be reached) or is ignored and counted — and
// the device keeps working: every test ends with a well-formed request answered.
import {
  AQ_HEAD_TAIL_MASK,
  AqFlag,
  AqLen,
  AqReturnCode,
  encodeVirtchnl,
  Reg,
  VfCap,
  VirtchnlOp,
  VirtchnlStatus,
  writeAqDescriptor,
} from "@emu/iavf-common";
import { describe, expect, it } from "vitest";
import { linuxIrqMap, negotiate, queuePair, VSI, vsiQueues } from "./fixtures/bring-up.js";
import { type DeviceProcess, openDriver, serveIavf } from "./fixtures/harness.js";
import { GUEST, GUEST_SIZE, MEM, type RawDriver } from "./fixtures/raw-driver.js";

type Counters = Record<string, number>;

async function setup(extra = ",queues=4,mac=02:00:00:00:00:01") {
  const dev = await serveIavf(extra);
  const drv = await openDriver(dev.sock);
  return { dev, drv };
}

async function counters(dev: DeviceProcess): Promise<Counters> {
  return (await dev.ask<{ counters: Counters }>("nic")).counters;
}

/** The device still answers. */
async function stillWorks(drv: RawDriver): Promise<void> {
  expect(await drv.call({ kind: "VersionRequest", major: 1, minor: 1 })).toEqual({
    kind: "VersionReply",
    major: 1,
    minor: 1,
  });
}

async function status(drv: RawDriver, opcode: number, payload: Uint8Array): Promise<number> {
  return (await drv.request(opcode, payload)).status;
}

/** A small deterministic PRNG (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

describe("hostile admin-queue input", () => {
  it("bad lengths and counts get ERR_OPCODE_MISMATCH, a VF-sent EVENT or opcode 0 ERR_PARAM", async () => {
    const { drv } = await setup();
    await negotiate(drv);
    const MISMATCH = VirtchnlStatus.ERR_OPCODE_MISMATCH;
    const q = encodeVirtchnl(vsiQueues(2)).payload;
    expect(await status(drv, VirtchnlOp.VERSION, new Uint8Array(7))).toBe(MISMATCH);
    expect(await status(drv, VirtchnlOp.GET_VF_RESOURCES, new Uint8Array(3))).toBe(MISMATCH);
    expect(await status(drv, VirtchnlOp.CONFIG_VSI_QUEUES, q.subarray(0, 100))).toBe(MISMATCH);
    expect(await status(drv, VirtchnlOp.CONFIG_VSI_QUEUES, new Uint8Array(4))).toBe(MISMATCH);
    const zeroCount = Uint8Array.of(VSI, 0, 0, 0, 0, 0, 0, 0);
    expect(await status(drv, VirtchnlOp.CONFIG_VSI_QUEUES, zeroCount)).toBe(MISMATCH);
    expect(await status(drv, VirtchnlOp.ENABLE_QUEUES, new Uint8Array(13))).toBe(MISMATCH);
    expect(await status(drv, VirtchnlOp.CONFIG_RSS_KEY, Uint8Array.of(VSI, 0, 52, 0, 1, 2))).toBe(MISMATCH);
    expect(await status(drv, VirtchnlOp.EVENT, new Uint8Array(16))).toBe(VirtchnlStatus.ERR_PARAM);
    expect(await status(drv, VirtchnlOp.UNKNOWN, new Uint8Array(0))).toBe(VirtchnlStatus.ERR_PARAM);
    await stillWorks(drv);
  });

  it("well-formed requests with bad values get ERR_PARAM and change nothing", async () => {
    const { dev, drv } = await setup();
    await drv.initAdminQueues();
    const PARAM = VirtchnlStatus.ERR_PARAM;
    const send = (m: Parameters<typeof encodeVirtchnl>[0]) => {
      const e = encodeVirtchnl(m);
      return status(drv, e.opcode, e.payload);
    };
    expect(await send(vsiQueues(1))).toBe(PARAM); // before GET_VF_RESOURCES
    await drv.call({ kind: "GetVfResourcesRequest", capabilities: VfCap.OFFLOAD_L2 | VfCap.OFFLOAD_RSS_PF });
    const bad = [
      { ...vsiQueues(1), vsiId: 7 },
      vsiQueues(5), // the VF has 4
      { kind: "ConfigVsiQueues" as const, vsiId: VSI, queuePairs: [queuePair(0, 33)] },
      { kind: "ConfigVsiQueues" as const, vsiId: VSI, queuePairs: [queuePair(4)] },
      {
        kind: "ConfigVsiQueues" as const,
        vsiId: VSI,
        queuePairs: [queuePair(0, 512, { rx: { databufferSize: 100 } })],
      },
      { kind: "ConfigVsiQueues" as const, vsiId: VSI, queuePairs: [queuePair(0, 512, { rx: { maxPktSize: 20000 } })] },
      { kind: "ConfigVsiQueues" as const, vsiId: VSI, queuePairs: [queuePair(0, 512, { tx: { dmaRingAddr: 0n } })] },
      { kind: "ConfigVsiQueues" as const, vsiId: VSI, queuePairs: [queuePair(0, 512, { tx: { headwbEnabled: 1 } })] },
      { ...linuxIrqMap(1), vectors: [{ ...linuxIrqMap(1).vectors[0]!, vectorId: 17 }] },
      { ...linuxIrqMap(1), vectors: [{ ...linuxIrqMap(1).vectors[0]!, rxqMap: 0x10 }] },
      { kind: "EnableQueues" as const, vsiId: VSI, rxQueues: 1, txQueues: 0 }, // not configured
      { kind: "EnableQueues" as const, vsiId: VSI, rxQueues: 0x100, txQueues: 0 },
      { kind: "AddEthAddr" as const, vsiId: VSI, addresses: [{ mac: "00:00:00:00:00:00", type: 0 }] },
      { kind: "AddEthAddr" as const, vsiId: VSI, addresses: [{ mac: "ff:ff:ff:ff:ff:ff", type: 0 }] },
      { kind: "ConfigPromiscuousMode" as const, vsiId: VSI, flags: 0x4 },
      { kind: "ConfigRssKey" as const, vsiId: VSI, bytes: new Uint8Array(40) },
      { kind: "ConfigRssLut" as const, vsiId: VSI, bytes: new Uint8Array(64).fill(4) },
      { kind: "GetStatsRequest" as const, vsiId: 2, rxQueues: 0, txQueues: 0 },
    ];
    for (const m of bad) expect([m.kind, await send(m)]).toEqual([m.kind, PARAM]);
    // VLAN filters were not granted: not supported.
    expect(await send({ kind: "AddVlan", vsiId: VSI, vlanIds: [5] })).toBe(VirtchnlStatus.ERR_NOT_SUPPORTED);
    // 64 MAC filters at most (the default MAC counts).
    const macs = Array.from({ length: 64 }, (_, i) => ({
      mac: `02:00:00:00:01:${i.toString(16).padStart(2, "0")}`,
      type: 2,
    }));
    expect(await send({ kind: "AddEthAddr", vsiId: VSI, addresses: macs })).toBe(PARAM);
    expect(await send({ kind: "AddEthAddr", vsiId: VSI, addresses: macs.slice(0, 63) })).toBe(0);
    const nic = await dev.ask<{ filters: { macs: unknown[] }; rxQueues: unknown[] }>("nic");
    expect(nic.filters.macs).toHaveLength(64);
    expect(nic.rxQueues).toEqual([undefined, undefined, undefined, undefined]);
    expect((await counters(dev)).virtchnlErrors).toBe(bad.length + 3);
    await stillWorks(drv);
  });

  it("a buffer outside the DMA table, or longer than 4096 bytes, fails its ATQ descriptor (EFAULT, E2BIG)", async () => {
    const { dev, drv } = await setup();
    await drv.initAdminQueues();
    const v = encodeVirtchnl({ kind: "VersionRequest", major: 1, minor: 1 });
    const outside = await drv.send(v.opcode, v.payload, { addr: 0x1000n });
    expect([outside.flags & 0xf, outside.retval]).toEqual([AqFlag.DD | AqFlag.CMP | AqFlag.ERR, AqReturnCode.EFAULT]);
    const across = await drv.send(v.opcode, v.payload, { addr: GUEST + BigInt(GUEST_SIZE - 4) });
    expect(across.retval).toBe(AqReturnCode.EFAULT);
    const huge = await drv.send(v.opcode, v.payload, { datalen: 8192 });
    expect([huge.flags & 0xf, huge.retval]).toEqual([AqFlag.DD | AqFlag.CMP | AqFlag.ERR, AqReturnCode.E2BIG]);
    expect(await drv.receive()).toBeUndefined(); // no virtchnl reply for a message that never arrived
    expect((await counters(dev)).badBuffer).toBe(3);
    await stillWorks(drv);
  });

  it("a ring base that changes under the device: the device follows it, and a base outside the table is flagged, not fatal", async () => {
    const { dev, drv } = await setup();
    await drv.initAdminQueues();
    await stillWorks(drv);
    // Move the ATQ to another page; head (1) is kept, so the next descriptor is slot 1 of the new ring.
    const moved = MEM.ATQ + 0x1000;
    await drv.w32(Reg.VF_ATQBAL1, Number((GUEST + BigInt(moved)) & 0xffff_ffffn));
    drv.atqAt = moved;
    const v = encodeVirtchnl({ kind: "VersionRequest", major: 1, minor: 1 });
    await drv.send(v.opcode, v.payload);
    expect(drv.desc(moved, 1).flags & AqFlag.DD).toBe(AqFlag.DD);
    expect(await drv.r32(Reg.VF_ATQH1)).toBe(2);
    expect((await drv.next()).desc.cookieHigh).toBe(VirtchnlOp.VERSION);
    // A base outside the DMA table: nothing is served, ATQLEN.CRIT is raised, ATQH stays.
    await drv.w32(Reg.VF_ATQBAH1, 0x7);
    await drv.send(v.opcode, v.payload);
    expect(await drv.r32(Reg.VF_ATQH1)).toBe(2);
    expect((await drv.r32(Reg.VF_ATQLEN1)) & AqLen.CRIT).toBe(AqLen.CRIT);
    expect((await counters(dev)).ringFaults).toBe(1);
    // The driver repairs the base and clears the error: the waiting descriptor is served.
    await drv.w32(Reg.VF_ATQBAH1, Number(GUEST >> 32n));
    await drv.w32(Reg.VF_ATQBAL1, Number((GUEST + BigInt(moved)) & 0xffff_ffffn));
    await drv.w32(Reg.VF_ATQLEN1, 32 | AqLen.ENABLE);
    await drv.w32(Reg.VF_ATQT1, drv.ntu);
    expect(await drv.r32(Reg.VF_ATQH1)).toBe(3);
    await drv.next();
    await stillWorks(drv);
  });

  it("a ring length that lies, tails and heads beyond it: flagged (VFE/CRIT), counted, ignored", async () => {
    const { dev, drv } = await setup();
    await drv.initAdminQueues();
    // ATQT beyond ATQLEN: ignored, VFE set.
    await drv.w32(Reg.VF_ATQT1, 40);
    expect((await drv.r32(Reg.VF_ATQLEN1)) & AqLen.VFE).toBe(AqLen.VFE);
    expect(await drv.r32(Reg.VF_ATQH1)).toBe(0);
    await drv.w32(Reg.VF_ATQT1, 0);
    // LEN says 1023 descriptors, at a base 2 descriptors before the end of guest memory: slot 2 is outside.
    const base = GUEST + BigInt(GUEST_SIZE - 64);
    await drv.w32(Reg.VF_ATQLEN1, 1023 | AqLen.ENABLE);
    await drv.w32(Reg.VF_ATQBAL1, Number(base & 0xffff_ffffn));
    await drv.w32(Reg.VF_ATQH1, 2);
    await drv.w32(Reg.VF_ATQT1, 3);
    expect((await drv.r32(Reg.VF_ATQLEN1)) & AqLen.CRIT).toBe(AqLen.CRIT);
    expect(await drv.r32(Reg.VF_ATQH1)).toBe(2);
    const c = await counters(dev);
    expect([c.badTail, c.ringFaults]).toEqual([1, 1]);
    // ARQ head beyond its length: the reply is dropped and counted, not written anywhere.
    await drv.initAdminQueues();
    await drv.w32(Reg.VF_ARQH1, 1000 & AQ_HEAD_TAIL_MASK);
    const v = encodeVirtchnl({ kind: "VersionRequest", major: 1, minor: 1 });
    await drv.send(v.opcode, v.payload);
    expect((await counters(dev)).arqDropped).toBe(1);
    await drv.initAdminQueues();
    await stillWorks(drv);
  });

  it("ARQ buffers too small or outside the table get ERR in the ARQ descriptor; a full ARQ holds replies until slots return", async () => {
    const { dev, drv } = await setup();
    await drv.initAdminQueues("linux", 32, 4);
    const v = encodeVirtchnl({ kind: "VersionRequest", major: 1, minor: 1 });
    // Slot 0: a 4-byte buffer for an 8-byte reply.
    writeAqDescriptor(drv.view, MEM.ARQ, { ...drv.desc(MEM.ARQ, 0), datalen: 4 });
    // Slot 1: a buffer outside guest memory.
    writeAqDescriptor(drv.view, MEM.ARQ + 32, { ...drv.desc(MEM.ARQ, 1), addrHigh: 0x9, addrLow: 0 });
    await drv.send(v.opcode, v.payload);
    await drv.send(v.opcode, v.payload);
    const small = await drv.next();
    expect([small.desc.flags & 0xf, small.desc.retval, small.desc.datalen]).toEqual([
      AqFlag.DD | AqFlag.CMP | AqFlag.ERR,
      AqReturnCode.E2BIG,
      8,
    ]);
    const outside = await drv.next();
    expect([outside.desc.flags & AqFlag.ERR, outside.desc.retval]).toEqual([AqFlag.ERR, AqReturnCode.EFAULT]);
    expect((await counters(dev)).arqBadBuffer).toBe(2);
    // A 4-entry ARQ holds 3 messages; the 4th to 6th wait in the device until the driver returns slots.
    for (let i = 0; i < 6; i++) await drv.send(v.opcode, v.payload);
    expect(await drv.r32(Reg.VF_ARQH1)).toBe((2 + 3) % 4);
    let got = 0;
    while (got < 6) {
      await drv.next();
      got++;
    }
    expect(await drv.receive()).toBeUndefined();
    expect((await counters(dev)).arqDropped).toBe(0);
    await stillWorks(drv);
  });

  it("replies held for a full ARQ are dropped when the driver programs its ARQ again, not handed to the new ring", async () => {
    // Found by the fuzzer (fuzz/, seed 1, session 376): a driver re-initialising its admin queues got the replies
    // held for its old ARQ first, and would have taken them for answers to its new requests.
    for (const order of ["linux", "vpp"] as const) {
      const { dev, drv } = await setup();
      await drv.initAdminQueues("linux", 32, 2);
      const stats = encodeVirtchnl({ kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 });
      // A 2-entry ARQ holds 1 message: the other two replies wait in the device.
      for (let i = 0; i < 3; i++) await drv.send(stats.opcode, stats.payload);
      expect((await counters(dev)).arqDropped).toBe(0);
      await drv.initAdminQueues(order);
      expect((await counters(dev)).arqDropped).toBe(2);
      await stillWorks(drv);
      expect(await drv.receive()).toBeUndefined();
    }
  });

  it("an unreadable ARQ ring drops the reply (CRIT), and the device keeps working once the ring is repaired", async () => {
    const { dev, drv } = await setup();
    await drv.initAdminQueues();
    await drv.w32(Reg.VF_ARQBAH1, 0x3);
    const v = encodeVirtchnl({ kind: "VersionRequest", major: 1, minor: 1 });
    const done = await drv.send(v.opcode, v.payload);
    expect(done.flags & AqFlag.DD).toBe(AqFlag.DD); // the request itself was served
    expect((await drv.r32(Reg.VF_ARQLEN1)) & AqLen.CRIT).toBe(AqLen.CRIT);
    expect((await counters(dev)).arqDropped).toBe(1);
    await drv.initAdminQueues();
    await stillWorks(drv);
  });

  it("hundreds of random descriptors and payloads never stop the device", async () => {
    const { dev, drv } = await setup();
    await negotiate(drv, 0xffff_ffff);
    const random = rng(0x1ee7);
    const int = (n: number) => Math.floor(random() * n);
    const opcodes = [...Object.values(VirtchnlOp), 0x801, 0xffff];
    for (let i = 0; i < 300; i++) {
      const opcode = opcodes[int(opcodes.length)] as number;
      if (opcode === VirtchnlOp.RESET_VF) continue;
      const payload = Uint8Array.from({ length: int(3) === 0 ? int(300) : int(24) }, () => int(256));
      if (payload.length >= 2 && int(2) === 0) payload[0] = VSI;
      const addr = int(8) === 0 ? BigInt(int(2 ** 31)) * 4096n : undefined;
      const flags = int(6) === 0 ? int(0x10000) : undefined;
      const aqOpcode = int(10) === 0 ? int(0x10000) : undefined;
      const d = await drv.send(opcode, payload, {
        ...(addr === undefined ? {} : { addr }),
        ...(flags === undefined ? {} : { flags }),
        ...(aqOpcode === undefined ? {} : { aqOpcode }),
      });
      expect(d.flags & (AqFlag.DD | AqFlag.CMP)).toBe(AqFlag.DD | AqFlag.CMP);
      while (await drv.receive()) {}
    }
    expect(await dev.ask<string[]>("errors")).toEqual([]);
    await stillWorks(drv);
    expect(await dev.ask("connected")).toBe(true);
  });

  it("random register writes anywhere in BAR0 never stop the device; a reset brings it back", async () => {
    const { dev, drv } = await setup();
    await negotiate(drv);
    const random = rng(42);
    for (let i = 0; i < 400; i++) {
      const off = Math.floor(random() * 0x4000) * 4;
      await drv.w32(off, Math.floor(random() * 0x1_0000_0000));
    }
    await drv.client.reset(); // DEVICE_RESET
    await drv.untilRstat();
    expect(await dev.ask<string[]>("errors")).toEqual([]);
    await negotiate(drv);
    await stillWorks(drv);
  });
});
