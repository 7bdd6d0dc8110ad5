// txonly's generator with --txonly-multi-flow, burst by burst: every packet is its flow's frame (setFlow applied to
// the template) in full, also past the head a flow keeps, in buffers that held other bytes before.
import type { PortData } from "@emu/port/data";
import { MBUF_LEN, MBUF_META_WORDS, MBUF_OFF, MbufPool } from "@emu/port/data";
import { CopyBatch } from "@emu/sys";
import { afterThisTest } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { ENGINES, STREAM_DROPPED, STREAM_SLOTS, STREAM_TX, type StreamRun } from "../src/fwd/modes.js";
import { FlowFrames, setFlow, udpTemplate } from "../src/fwd/packets.js";

const dst = Uint8Array.of(2, 0, 0, 0, 0, 2);
const src = Uint8Array.of(2, 0, 0, 0, 0, 1);

/**
 * A stream sending `length`-byte frames over `flows` flows into a port that keeps a copy of each frame it takes (up to
 * `take` a burst).
 */
function stream(length: number, flows: number, take = Number.POSITIVE_INFINITY) {
  const pool = MbufPool.create("generate-test", { count: 256 });
  afterThisTest(() => pool.close());
  pool.bytes.fill(0xa5); // what earlier packets left in the buffers
  const sent: Uint8Array[] = [];
  const tx = {
    txBurst(_queue: number, bufs: Uint32Array, burst: number) {
      const n = Math.min(burst, take);
      for (let i = 0; i < n; i++) {
        const b = bufs[i]!;
        const at = b * pool.bufSize + pool.meta[b * MBUF_META_WORDS + MBUF_OFF]!;
        sent.push(pool.bytes.slice(at, at + pool.meta[b * MBUF_META_WORDS + MBUF_LEN]!));
      }
      pool.free(bufs, n);
      return n; // the caller frees the rest
    },
  } as unknown as PortData;
  const template = udpTemplate(length, dst, src);
  const run: StreamRun = {
    rx: tx,
    rxQueue: 0,
    tx,
    txQueue: 0,
    pool,
    bufs: new Uint32Array(32),
    burst: 32,
    stats: new Float64Array(STREAM_SLOTS),
    slot: 0,
    txMac: src,
    peerMac: dst,
    template,
    copies: new CopyBatch(),
    sources: new FlowFrames(template, flows, "source"),
    destinations: undefined,
    nextFlow: 0,
  };
  return { run, sent, template };
}

describe("txonly --txonly-multi-flow", () => {
  for (const length of [64, 200])
    it(`sends each flow's whole ${length}-byte frame, flow after flow across bursts`, () => {
      const flows = 20; // not a multiple of the burst: the flow carries over from burst to burst
      const { run, sent, template } = stream(length, flows);
      for (let b = 0; b < 3; b++) expect(ENGINES.txonly(run)).toBe(32);
      expect(run.stats[STREAM_TX]).toBe(96);
      expect(sent).toHaveLength(96);
      sent.forEach((frame, i) => {
        const want = template.slice();
        setFlow(want, 0, i % flows, "source");
        expect(Array.from(frame)).toEqual(Array.from(want));
      });
      expect(run.nextFlow).toBe(96 % flows);
    });

  it("sends the flows of packets the queue did not take in the next burst, as DPDK's txonly rewinds its counter", () => {
    const flows = 50;
    const { run, sent, template } = stream(64, flows, 20); // the queue takes 20 of each 32
    for (let b = 0; b < 4; b++) expect(ENGINES.txonly(run)).toBe(32);
    expect(run.stats[STREAM_TX]).toBe(80);
    expect(run.stats[STREAM_DROPPED]).toBe(48);
    expect(sent).toHaveLength(80);
    sent.forEach((frame, i) => {
      const want = template.slice();
      setFlow(want, 0, i % flows, "source"); // no flow skipped: 0..49, 0..29
      expect(Array.from(frame)).toEqual(Array.from(want));
    });
    expect(run.nextFlow).toBe(80 % flows);
    run.pool.flush();
    expect(run.pool.available()).toBe(256); // every buffer back: the sent ones by the port, the rest by the stream
  });
});
