// Backpressure in the Endpoint: a peer that never reads what we send cannot grow us without bound (the same for a
// server and a client), and replies to our own commands are read whatever waits.
import { UnixSocket } from "@emu/sys";
import { until } from "@emu/test-kit";
import { encodeMessage, FrameParser, HeaderFlags } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import {
  ARENA_COPY_MAX,
  ARENA_FLUSH_AT,
  Endpoint,
  type EndpointHandlers,
  MAX_WAITING_BYTES_REPLY_DUE,
  SEND_QUEUE_HIGH,
} from "../src/index.js";
import { readRequest } from "./helpers.js";

const DATA = 4096;
/** A REGION_READ reply of 4 KiB. */
const REPLY = 16 + 16 + DATA;

function reply(msgId: number): Uint8Array {
  return encodeMessage(
    { kind: "RegionReadReply", offset: 0n, region: 0, data: new Uint8Array(DATA).fill(msgId & 0xff) },
    { msgId },
  );
}

/** Waits until `value()` stays the same for `quietMs`; returns it (nothing more happens; not a speed assertion). */
async function settled(value: () => number, quietMs = 200): Promise<number> {
  let last = value();
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 10));
    const v = value();
    if (v !== last) {
      last = v;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return v;
  }
}

/** An endpoint answering every command with a 4 KiB reply, and a peer socket that collects msg_ids when reading. */
function answering(extra: Partial<EndpointHandlers> = {}) {
  const [a, b] = UnixSocket.pair();
  const ep = new Endpoint(a);
  const seen = { commands: 0, replies: [] as number[] };
  ep.start(
    {
      onFrame: (f) => {
        if ((f.header.flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_REPLY) {
          seen.replies.push(f.header.msgId);
          return;
        }
        seen.commands++;
        ep.outbox.send(reply(f.header.msgId));
      },
      onFramingError: () => undefined,
      onClose: () => undefined,
      ...extra,
    },
    0,
  );
  const parser = new FrameParser();
  const got: number[] = [];
  b.start({
    onData: (chunk) => {
      parser.push(chunk);
      parser.drain((f) => got.push(f.header.msgId));
    },
    onClose: () => undefined,
  });
  b.pause(); // the peer never reads (until the test says so)
  return { ep, peer: b, seen, got };
}

describe("Endpoint backpressure", () => {
  it("a peer that never reads: the endpoint stops reading, keeps < 1 MiB + 1 MiB + 16 KiB + a frame queued, then answers all in order", async () => {
    const { ep, peer, seen, got } = answering();
    const N = 30_000; // 120 MiB of replies, 960 KB of requests: more than the kernel buffers between the sockets
    const burst: Uint8Array[] = [];
    for (let i = 1; i <= N; i++) {
      burst.push(readRequest(i, DATA));
      if (burst.length === 500) peer.send(burst.splice(0));
    }
    const handled = await settled(() => seen.commands);
    expect(handled).toBeLessThan(N);
    expect(ep.socket.bufferedAmount).toBeLessThan(SEND_QUEUE_HIGH + ARENA_FLUSH_AT + ARENA_COPY_MAX + REPLY);
    expect(ep.outbox.blocked).toBe(true);
    expect(peer.bufferedAmount).toBeGreaterThan(0); // our requests are stuck: the endpoint stopped reading
    peer.resume();
    await until(() => got.length === N, 20_000);
    expect(got).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    ep.close();
    peer.close();
  }, 30_000);

  it("blocked, with a reply of ours due: commands wait, the reply behind them is read; reading again answers them in order", async () => {
    let due = true;
    const { ep, peer, seen, got } = answering({ awaitingReplies: () => due });
    const N = 2000;
    const burst: Uint8Array[] = [];
    for (let i = 1; i <= N; i++) burst.push(readRequest(i, DATA));
    const ours = readRequest(0x7777);
    ours[8] = HeaderFlags.TYPE_REPLY; // the peer's reply to a command of ours, behind all its commands
    burst.push(ours);
    for (let i = 0; i < burst.length; i += 500) peer.send(burst.slice(i, i + 500));
    await until(() => seen.replies.length === 1, 10_000);
    expect(seen.replies).toEqual([0x7777]);
    expect(ep.outbox.blocked).toBe(true);
    expect(ep.waitingCommands).toBeGreaterThan(0);
    expect(seen.commands).toBeLessThan(N);
    due = false;
    peer.resume();
    await until(() => got.length === N, 20_000);
    expect(got).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    ep.close();
    peer.close();
  }, 30_000);

  // Found hardening the server (its flood test in vfio-user-server/test/hostile-client.test.ts): while a DMA reply was
  // due, a client flooding commands instead of answering made the server read and keep them all (420 MiB in 4 s,
  // bounded only by the DMA reply timeout). A client whose server floods DMA commands had the same exposure.
  it("with a reply due, a flood of commands stops the reading past MAX_WAITING_BYTES_REPLY_DUE", async () => {
    const { ep, peer, seen } = answering({ hold: () => true, awaitingReplies: () => true });
    const big = encodeMessage(
      { kind: "RegionWriteRequest", region: 0, offset: 0n, data: new Uint8Array(1 << 20) },
      { msgId: 1 },
    );
    let sent = 0;
    const total = 3 * MAX_WAITING_BYTES_REPLY_DUE;
    while (sent < total) {
      if (peer.bufferedAmount < 4 << 20) {
        peer.send(big);
        sent += big.length;
      } else await new Promise((r) => setTimeout(r, 5));
      if (peer.bufferedAmount >= 4 << 20 && ep.waitingCommands * big.length >= MAX_WAITING_BYTES_REPLY_DUE) break;
    }
    const waiting = await settled(() => ep.waitingCommands);
    expect(seen.commands).toBe(0); // held
    expect(waiting * big.length).toBeGreaterThanOrEqual(MAX_WAITING_BYTES_REPLY_DUE);
    expect(waiting * big.length).toBeLessThan(MAX_WAITING_BYTES_REPLY_DUE + 2 * big.length);
    expect(peer.bufferedAmount).toBeGreaterThan(0); // the rest stays with the peer: we stopped reading
    ep.close();
    peer.close();
  }, 30_000);
});
