// The ring code alone, against descriptors written here as a device would (the accessors of @emu/iavf-common).

import { Worker } from "node:worker_threads";
import { RingState, RxQueue, TxQueue } from "@emu/iavf-client";
import {
  RX_DESCRIPTOR_SIZE,
  RxError,
  RxStatus,
  rxPacketAddr,
  TX_DESCRIPTOR_SIZE,
  TxCmd,
  TxCtxCmd,
  TxDtype,
  txBufferAddr,
  txBufSize,
  txCmd,
  txCtxCmd,
  txCtxMss,
  txCtxTsoLen,
  txDtype,
  txOffset,
  writeRxWriteback,
  writeTxDescriptorDone,
} from "@emu/iavf-common";
import { afterThisTest } from "@emu/test-kit";
import { describe, expect, it } from "vitest";

const SIZE = 8;

function rx() {
  const view = new DataView(new ArrayBuffer(SIZE * RX_DESCRIPTOR_SIZE));
  const tails: number[] = [];
  const q = new RxQueue(view, RingState.create(SIZE), (v) => tails.push(v));
  for (let id = 0; id < SIZE - 1; id++) q.post(id, 0x1000 * (id + 1));
  q.kick();
  const out = {
    ids: new Uint32Array(8),
    lengths: new Uint32Array(8),
    hashes: new Uint32Array(8),
    ptypes: new Uint8Array(8),
  };
  const wb = (slot: number, status: number, errors = 0, hash = 0) =>
    writeRxWriteback(view, slot * RX_DESCRIPTOR_SIZE, status, errors, 26, 100 + slot, 0, hash);
  return { view, tails, q, out, wb };
}

describe("RxQueue", () => {
  it("posts buffers in the read format (header address 0, so DD reads 0) and writes the tail once", () => {
    const { view, tails, q } = rx();
    expect(tails).toEqual([SIZE - 1]); // one slot stays empty
    expect(rxPacketAddr(view, 3 * RX_DESCRIPTOR_SIZE)).toBe(0x4000);
    expect(view.getUint32(3 * RX_DESCRIPTOR_SIZE + 8, true)).toBe(0);
    expect(q.free).toBe(0);
  });

  it("takes frames up to the first descriptor without DD: length, ptype, the hash only when FLTSTAT says RSS", () => {
    const { q, out, wb } = rx();
    const rss = RxStatus.FLTSTAT_RSS_HASH << RxStatus.FLTSTAT_SHIFT;
    wb(0, RxStatus.DD | RxStatus.EOF | rss, 0, 0xabcd1234);
    wb(1, RxStatus.DD | RxStatus.EOF, 0, 0x5555); // a hash without FLTSTAT = 3 is not one
    wb(3, RxStatus.DD | RxStatus.EOF); // after a gap: not yet
    expect(q.receive(out, 8)).toBe(2);
    expect([...out.ids.subarray(0, 2)]).toEqual([0, 1]);
    expect([...out.lengths.subarray(0, 2)]).toEqual([100, 101]);
    expect([...out.hashes.subarray(0, 2)]).toEqual([0xabcd1234, 0]);
    expect([...out.ptypes.subarray(0, 2)]).toEqual([26, 26]);
    expect(q.free).toBe(2);
    expect(q.receive(out, 8)).toBe(0);
  });

  it("drops a frame marked RXE and one spread over buffers, and posts their buffers again at once", () => {
    const { view, tails, q, out, wb } = rx();
    wb(0, RxStatus.DD | RxStatus.EOF, RxError.RXE);
    wb(1, RxStatus.DD); // first fragment, no EOF
    wb(2, RxStatus.DD | RxStatus.EOF); // its last fragment
    wb(3, RxStatus.DD | RxStatus.EOF);
    expect(q.receive(out, 8)).toBe(1);
    expect(out.ids[0]).toBe(3);
    expect(q.takeErrors()).toBe(2);
    expect(q.takeErrors()).toBe(0);
    expect(q.free).toBe(1); // the three dropped buffers are on the ring again
    expect(tails.at(-1)).toBe((SIZE - 1 + 3) % SIZE);
    expect(rxPacketAddr(view, 7 * RX_DESCRIPTOR_SIZE)).toBe(0x1000); // buffer 0, where it was
  });
});

describe("TxQueue", () => {
  it("writes data descriptors with EOP | RS | ICRC and the length, reclaims by DESC_DONE in order", () => {
    const view = new DataView(new ArrayBuffer(SIZE * TX_DESCRIPTOR_SIZE));
    const tails: number[] = [];
    const q = new TxQueue(view, RingState.create(SIZE), (v) => tails.push(v));
    for (let id = 0; id < 7; id++) q.post(10 + id, 0x2000 + id * 0x800, 60 + id);
    expect(q.free).toBe(0);
    q.kick();
    expect(tails).toEqual([7]);
    expect(txDtype(view, 0)).toBe(0);
    expect(txCmd(view, 0)).toBe(TxCmd.EOP | TxCmd.RS | TxCmd.ICRC);
    expect(txBufSize(view, TX_DESCRIPTOR_SIZE)).toBe(61);
    expect(txBufferAddr(view, TX_DESCRIPTOR_SIZE)).toBe(0x2800);
    const out = new Uint32Array(8);
    expect(q.clean(out)).toBe(0);
    writeTxDescriptorDone(view, 0);
    writeTxDescriptorDone(view, 2 * TX_DESCRIPTOR_SIZE); // done out of order: waits for slot 1
    expect(q.clean(out)).toBe(1);
    expect(out[0]).toBe(10);
    writeTxDescriptorDone(view, TX_DESCRIPTOR_SIZE);
    expect(q.clean(out)).toBe(2);
    expect([...out.subarray(0, 2)]).toEqual([11, 12]);
    expect(q.free).toBe(3);
    q.post(20, 0x9000, 64); // wraps into slot 7, then 0
    q.post(21, 0xa000, 64);
    q.kick();
    expect(tails.at(-1)).toBe(1);
  });

  it("a TSO packet: a context descriptor, the buffer in 12 KiB chunks, handed back with its last descriptor", () => {
    const size = 16;
    const view = new DataView(new ArrayBuffer(size * TX_DESCRIPTOR_SIZE));
    const state = RingState.create(size);
    const q = new TxQueue(view, state, () => undefined);
    q.post(1, 0x1000, 60);
    const cmd = TxCmd.IIPT_IPV4_CSUM | TxCmd.L4T_TCP;
    q.postTso(2, 0x10_0000, 30_000, 66, 1448, cmd, 0x1234); // 1 context + 3 data descriptors (12288, 12288, 5424)
    q.post(3, 0x2000, 70);
    expect(q.free).toBe(size - 1 - 6);
    const at = (slot: number) => slot * TX_DESCRIPTOR_SIZE;
    expect(txDtype(view, at(1))).toBe(TxDtype.CONTEXT);
    expect([txCtxCmd(view, at(1)), txCtxTsoLen(view, at(1)), txCtxMss(view, at(1))]).toEqual([
      TxCtxCmd.TSO,
      30_000 - 66,
      1448,
    ]);
    expect([2, 3, 4].map((s) => [txBufferAddr(view, at(s)), txBufSize(view, at(s)), txCmd(view, at(s))])).toEqual([
      [0x10_0000, 12288, TxCmd.RS | TxCmd.ICRC | cmd],
      [0x10_0000 + 12288, 12288, TxCmd.RS | TxCmd.ICRC | cmd],
      [0x10_0000 + 24576, 5424, TxCmd.EOP | TxCmd.RS | TxCmd.ICRC | cmd],
    ]);
    expect([2, 3, 4].map((s) => txOffset(view, at(s)))).toEqual([0x1234, 0x1234, 0x1234]);
    // The device marks the data descriptors done (never the context one): the buffer comes back with the last.
    const out = new Uint32Array(8);
    for (const s of [0, 2, 3]) writeTxDescriptorDone(view, at(s));
    expect([...out.subarray(0, q.clean(out))]).toEqual([1]);
    writeTxDescriptorDone(view, at(4));
    writeTxDescriptorDone(view, at(5));
    expect([...out.subarray(0, q.clean(out))]).toEqual([2, 3]);
    expect(q.free).toBe(size - 1);
    // A reset with a TSO packet in flight hands back its one buffer, not the slots that hold none.
    q.postTso(4, 0x20_0000, 20_000, 66, 1448, cmd, 0);
    expect(state.restart()).toBe(1);
    expect(state.ids[0]).toBe(4);
  });

  it("restarting a ring that has wrapped hands back each buffer once (it packed them in place, over unread slots)", () => {
    const state = RingState.create(SIZE);
    state.ids.set([100, 101, 102, 103, 104, 105, 106, 107]);
    state.iovas.set([0, 1, 2, 3, 4, 5, 6, 7].map((i) => 0x1000 * i));
    state.ntc = 6;
    state.ntu = 3;
    expect(state.restart()).toBe(5);
    expect([...state.ids.subarray(0, 5)]).toEqual([106, 107, 100, 101, 102]);
    expect([...state.iovas.subarray(0, 5)]).toEqual([0x6000, 0x7000, 0, 0x1000, 0x2000]);
  });

  it("a ring state carries on in another thread's view, and restarts after a reset's generation bump", () => {
    const a = RingState.create(SIZE);
    a.ntu = 5;
    a.ntc = 2;
    a.ids.set([0, 0, 7, 8, 9]);
    a.save();
    const b = RingState.attach(a.buffer, SIZE);
    expect([b.ntu, b.ntc, b.inFlight]).toEqual([5, 2, 3]);
    expect(b.stale).toBe(false);
    a.bumpGeneration();
    expect(b.stale).toBe(true);
    expect(b.restart()).toBe(3);
    expect([...b.ids.subarray(0, 3)]).toEqual([7, 8, 9]);
    expect([b.ntu, b.ntc, b.stale]).toEqual([0, 0, false]);
    expect(() => RingState.attach(new SharedArrayBuffer(16), SIZE)).toThrow(RangeError);
  });
});

describe("RingState pause", () => {
  function server(holdMs: number) {
    const st = RingState.create(SIZE);
    const counter = new SharedArrayBuffer(12);
    const c = new Int32Array(counter);
    const w = new Worker(new URL("./fixtures/burst-worker.mjs", import.meta.url), {
      workerData: { buffer: st.buffer, size: SIZE, counter, holdMs },
    });
    afterThisTest(async () => {
      Atomics.store(c, 1, 1);
      st.paused = false;
      await w.terminate();
    });
    return { st, bursts: () => Atomics.load(c, 0), entered: () => Atomics.load(c, 2) };
  }

  it("quiesce resolves once the thread's burst under way is over; no burst runs while paused", async () => {
    const { st, bursts } = server(20);
    while (bursts() < 2) await new Promise((r) => setTimeout(r, 5));
    st.paused = true;
    expect(await st.quiesce(1000)).toBe(true);
    const at = bursts(); // the burst under way when the pause came has counted itself
    await new Promise((r) => setTimeout(r, 100));
    expect(bursts()).toBe(at);
    st.paused = false;
    while (bursts() === at) await new Promise((r) => setTimeout(r, 5));
  });

  it("a burst that outlasts the timeout: quiesce resolves false", async () => {
    const { st, bursts, entered } = server(600);
    while (entered() === 0) await new Promise((r) => setTimeout(r, 2));
    st.paused = true;
    expect(await st.quiesce(50)).toBe(false);
    expect(await st.quiesce(2000)).toBe(true);
    expect(bursts()).toBeGreaterThanOrEqual(1);
  });
});
