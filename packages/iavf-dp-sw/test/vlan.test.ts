// VLAN offloads of the VF with VIRTCHNL_VF_OFFLOAD_VLAN, as the Linux iavf driver and DPDK's iavf use them: the
// device inserts the 802.1Q tag a TX data descriptor asks for (CMD.IL2TAG1, TCI in L2TAG1; the packet's first DATA
// descriptor counts, context descriptors before it are skipped), and with ENABLE_VLAN_STRIPPING takes a received
// frame's outer 802.1Q tag out and reports its TCI in the last write-back (L2TAG1, status L2TAG1P). A tag that would
// make a frame longer than a pool buffer drops the frame (counted); a VF reset puts stripping back to emu_iavf's
// default, off. (A real PF differs: ice turns stripping on at GET_VF_RESOURCES for a VF that negotiated the VLAN
// capability, i40e's VF VSI strips by default. Linux sends ENABLE_VLAN_STRIPPING and DPDK one of the two at start
// anyway, so only a guest that sends neither, like @emu/iavf-client, sees the difference.)
import { AqFlag, RssPctype, RxStatus, TxCmd, VfrState, VirtchnlOp } from "@emu/iavf-common";
import { afterThisTest, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { linuxIrqMap, negotiate } from "../../iavf-emu/test/fixtures/bring-up.js";
import { type Flow, frameOf, MS_KEY, payload } from "./fixtures/frames.js";
import {
  type BackendProcess,
  bringUp,
  GUEST,
  GuestQueues,
  openGuest,
  queuePair,
  RawDriver,
  type Received,
  RING,
  rxRing,
  serveBackend,
  txRing,
  VSI,
} from "./fixtures/harness.js";

const udp: Flow = { src: "198.18.0.1", dst: "198.18.0.2", sport: 1000, dport: 2000, proto: "udp" };
const udp6: Flow = { src: "2001:db8::1", dst: "2001:db8::2", sport: 3000, dport: 4000, proto: "udp" };
type Counters = Record<string, number>;
/** PCP 5, VID 10. */
const TCI = (5 << 13) | 10;

/** `f` with a 4-byte tag (TPID, TCI) after the MAC addresses. */
function tagged(f: Uint8Array, tci: number, tpid = 0x8100): Uint8Array {
  const t = new Uint8Array(f.length + 4);
  t.set(f.subarray(0, 12));
  t.set([tpid >> 8, tpid & 0xff, tci >> 8, tci & 0xff], 12);
  t.set(f.subarray(12), 16);
  return t;
}

const bytes = (a: readonly { bytes: Uint8Array }[]) => a.map((r) => Array.from(r.bytes));

/**
 * One packet over several DATA descriptors cut at `cuts` (byte offsets), after a context descriptor when `context`;
 * only the first DATA descriptor carries IL2TAG1 and the TCI. Returns the last descriptor's index.
 */
/** A frame over several descriptors, its tag in the first one's L2TAG1, after a NOP context descriptor if asked. */
function transmitPieces(queues: GuestQueues, frame: Uint8Array, cuts: number[], tci: number, context: boolean) {
  const nop = (v: DataView, at: number) => {
    v.setBigUint64(at, 0n, true);
    v.setUint32(at + 8, 0x1, true); // DTYPE 1, no command: a NOP context descriptor
    v.setUint32(at + 12, 0, true);
  };
  const piece = (k: number) => (k === 0 ? { cmd: TxCmd.IL2TAG1, tag: tci } : { cmd: 0 });
  return queues.transmitPieces(0, frame, cuts, piece, context ? nop : undefined);
}

async function receiveAll(queues: GuestQueues, n: number, q = 0): Promise<Received[]> {
  const got: Received[] = [];
  await until(() => {
    got.push(...queues.receive(q));
    return got.length >= n;
  });
  return got;
}

/** Sends `frames` to the guest and returns what it received (those the filters pass). */
async function deliver(be: BackendProcess, queues: GuestQueues, frames: Uint8Array[], n = frames.length) {
  expect(await be.ask("tx", 0, frames)).toBe(frames.length);
  return receiveAll(queues, n);
}

describe("VLAN tag insertion (guest TX)", () => {
  it("inserts an 802.1Q tag with the descriptor's TCI after the MAC addresses, byte-exact, over any fragmentation", async () => {
    const be = await serveBackend(1);
    const { queues } = await openGuest(be.sock, 1);
    await until(() => be.ask<boolean>("ready"));
    const plain = frameOf(udp, payload(40, 1));
    const four = frameOf(udp, payload(40, 2));
    const six = frameOf(udp6, payload(100, 3));
    await queues.transmit(0, [plain, four, six], { tag: (i) => [undefined, TCI, 0xffff][i] });
    expect(bytes(await be.ask<{ bytes: Uint8Array }[]>("rx", 3))).toEqual(
      bytes([{ bytes: plain }, { bytes: tagged(four, TCI) }, { bytes: tagged(six, 0xffff) }]),
    );

    // Fragments cut before, at and after the tag's place (12), one of them behind a context descriptor.
    const cases: [number[], boolean][] = [
      [[6, 10], true],
      [[12], false],
      [[14, 30], false],
      [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], true],
    ];
    const sent: Uint8Array[] = [];
    for (const [k, [cuts, context]] of cases.entries()) {
      const f = frameOf(udp, payload(60, 10 + k));
      const last = await transmitPieces(queues, f, cuts, 100 + k, context);
      sent.push(tagged(f, 100 + k));
      const got = await be.ask<{ bytes: Uint8Array }[]>("rx", 1);
      expect(bytes(got), `cuts ${cuts}`).toEqual(bytes([{ bytes: sent[k]! }]));
      await until(() => queues.txDone(0, last));
    }
    const c = await be.ask<Counters>("counters");
    expect(c.txErrors).toBe(0);
    expect(c.txBytes).toBe(plain.length + four.length + 4 + six.length + 4 + sent.reduce((n, f) => n + f.length, 0));
  });

  it("drops (and completes, and counts) a packet the tag would make longer than a pool buffer; the exact fit passes", async () => {
    const be = await serveBackend(1);
    const { queues } = await openGuest(be.sock, 1);
    await until(() => be.ask<boolean>("ready"));
    // The device process's pool has 2048-byte data rooms: 2044 + 4 fits exactly, 2045 + 4 does not.
    const fits = frameOf(udp, payload(2044 - 42, 1));
    const over = frameOf(udp, payload(2045 - 42, 2));
    const after = frameOf(udp, payload(30, 3));
    const before = await be.ask<Counters>("counters");
    const used = await queues.transmit(0, [fits, over, after], { tag: (i) => (i === 2 ? undefined : TCI) });
    const got = await be.ask<{ bytes: Uint8Array }[]>("rx", 2);
    expect(bytes(got)).toEqual(bytes([{ bytes: tagged(fits, TCI) }, { bytes: after }]));
    await until(() => used.every((i) => queues.txDone(0, i)));
    const c = await be.ask<Counters>("counters");
    expect(c.oversize! - before.oversize!).toBe(1);
    expect(c.txErrors! - before.txErrors!).toBe(1);
    expect((await be.ask<Counters>("portStats")).ierrors).toBe(1);
    // Without the tag the same 2045 bytes fit.
    await queues.transmit(0, [over]);
    expect(bytes(await be.ask<{ bytes: Uint8Array }[]>("rx", 1))).toEqual(bytes([{ bytes: over }]));
  });
});

describe("VLAN stripping (guest RX)", () => {
  it("off: tags stay; on: the outer 802.1Q tag is taken out and its TCI reported with L2TAG1P; filters and RSS see the tag", async () => {
    const be = await serveBackend(1);
    const hena = (1n << BigInt(RssPctype.NONF_IPV4_UDP)) | (1n << BigInt(RssPctype.NONF_IPV6_UDP));
    const { drv, queues } = await openGuest(be.sock, 1, { key: MS_KEY, lut: new Uint8Array(64), hena });
    await until(() => be.ask<boolean>("ready"));
    await queues.post(0, 60);
    const f = (i: number, flow = udp) => frameOf(flow, payload(50, i));

    const [plain, off] = await deliver(be, queues, [f(1), tagged(f(2), TCI)]);
    expect(Array.from(off!.bytes)).toEqual(Array.from(tagged(f(2), TCI)));
    expect(off!.status & RxStatus.L2TAG1P).toBe(0);
    expect(off!.l2tag1).toBe(0);

    await drv.call({ kind: "EnableVlanStripping" });
    const got = await deliver(be, queues, [
      tagged(f(3), TCI),
      f(4),
      tagged(f(5, udp6), 0x0001),
      tagged(f(6), TCI, 0x88a8),
    ]);
    expect(bytes(got)).toEqual(
      bytes([{ bytes: f(3) }, { bytes: f(4) }, { bytes: f(5, udp6) }, { bytes: tagged(f(6), TCI, 0x88a8) }]),
    );
    expect(got.map((r) => (r.status & RxStatus.L2TAG1P) !== 0)).toEqual([true, false, true, false]);
    expect(got.map((r) => r.l2tag1)).toEqual([TCI, 0, 1, 0]);
    // Classified and hashed as the frame came (through its tag): the same ptype and hash as the untagged frame.
    expect(got[0]!.ptype).toBe(plain!.ptype);
    expect(got[0]!.hash).toBe(plain!.hash);
    expect(got[0]!.hash).not.toBe(0);
    expect((got[0]!.status >>> RxStatus.FLTSTAT_SHIFT) & 3).toBe(RxStatus.FLTSTAT_RSS_HASH);

    // The VLAN filter judges the tag the device strips: VLAN 10 added, a frame of VLAN 20 is filtered.
    await drv.call({ kind: "AddVlan", vsiId: VSI, vlanIds: [10] });
    const filtered = (await be.ask<Counters>("counters")).filtered!;
    const [ten] = await deliver(be, queues, [tagged(f(7), (3 << 13) | 20), tagged(f(8), TCI)], 1);
    expect(Array.from(ten!.bytes)).toEqual(Array.from(f(8)));
    expect(ten!.l2tag1).toBe(TCI);
    expect((await be.ask<Counters>("counters")).filtered! - filtered).toBe(1);

    await drv.call({ kind: "DisableVlanStripping" });
    const [again] = await deliver(be, queues, [tagged(f(9), TCI)]);
    expect(Array.from(again!.bytes)).toEqual(Array.from(tagged(f(9), TCI)));
    expect(again!.status & RxStatus.L2TAG1P).toBe(0);
    const c = await be.ask<Counters>("counters");
    expect(c.rxDiscards).toBe(0);
    expect(await be.ask("errors")).toEqual([]);
  });

  it("a stripped frame chained over two buffers: the tag out of the first, L2TAG1 on the last descriptor", async () => {
    const be = await serveBackend(1);
    const drv = await RawDriver.open(be.sock);
    afterThisTest(() => drv.close());
    await negotiate(drv);
    await drv.call(linuxIrqMap(1));
    await drv.call({ kind: "AddEthAddr", vsiId: VSI, addresses: [{ mac: "02:00:00:00:00:01", type: 1 }] });
    const pair = queuePair(0, RING, { rx: { databufferSize: 1024 } });
    await drv.call({ kind: "ConfigVsiQueues", vsiId: VSI, queuePairs: [pair] });
    await drv.call({ kind: "EnableQueues", vsiId: VSI, rxQueues: 1, txQueues: 1 });
    await drv.call({ kind: "EnableVlanStripping" });
    const queues = new GuestQueues(drv, 1);
    await until(() => be.ask<boolean>("ready"));
    await queues.post(0, 8);
    const big = frameOf(udp, payload(1500 - 42, 7));
    const [r] = await deliver(be, queues, [tagged(big, TCI)]);
    expect(r!.descriptors).toBe(2);
    expect(Array.from(r!.bytes)).toEqual(Array.from(big));
    expect(r!.status & RxStatus.L2TAG1P).toBe(RxStatus.L2TAG1P);
    expect(r!.l2tag1).toBe(TCI);
    expect((await be.ask<Counters>("counters")).rxBytes).toBe(big.length);
  });

  it("RESET_VF puts stripping back to emu_iavf's default (off) with the other filters", async () => {
    const be = await serveBackend(1);
    const drv = await RawDriver.open(be.sock);
    afterThisTest(() => drv.close());
    let queues = await bringUp(drv, 1);
    await drv.call({ kind: "EnableVlanStripping" });
    await until(() => be.ask<boolean>("ready"));
    await queues.post(0, 8);
    const f = (i: number) => frameOf(udp, payload(50, i));
    const [stripped] = await deliver(be, queues, [tagged(f(1), TCI)]);
    expect(Array.from(stripped!.bytes)).toEqual(Array.from(f(1)));

    await drv.send(VirtchnlOp.RESET_VF, new Uint8Array(0), { flags: AqFlag.SI });
    await drv.untilRstat(VfrState.VFACTIVE);
    const rxAt = Number(rxRing(0) - GUEST);
    const txAt = Number(txRing(0) - GUEST);
    drv.guest.bytes.fill(0, rxAt, rxAt + 32 * RING);
    drv.guest.bytes.fill(0, txAt, txAt + 16 * RING);
    queues = await bringUp(drv, 1);
    await until(() => be.ask<boolean>("ready"));
    await queues.post(0, 8);
    const [kept] = await deliver(be, queues, [tagged(f(2), TCI)]);
    expect(Array.from(kept!.bytes)).toEqual(Array.from(tagged(f(2), TCI)));
    expect(kept!.status & RxStatus.L2TAG1P).toBe(0);
  });
});
