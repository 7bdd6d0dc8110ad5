import { UnixSocket } from "@emu/sys";
import { bytesOf, collect, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { ARENA_COPY_MAX, ARENA_FLUSH_AT, createStats, Outbox } from "../src/index.js";
import { closeFd, memfd, readRequest } from "./helpers.js";

function outboxPair(later?: "tick" | "microtask") {
  const [a, b] = UnixSocket.pair();
  a.start({ onData() {}, onClose() {} });
  const stats = createStats();
  const out = new Outbox(a, { stats, ...(later === undefined ? {} : { later }) });
  return { a, b, out, stats, got: collect(b) };
}

describe("Outbox", () => {
  it("sends at once outside a batch, at the batch's end inside one (one sendmsg)", async () => {
    const { a, b, out, stats, got } = outboxPair();
    out.send(readRequest(1));
    expect(stats).toMatchObject({ messagesSent: 1, sendCalls: 1 });
    const outer = out.openBatch();
    expect(outer).toBe(false);
    for (let i = 2; i <= 10; i++) out.send(readRequest(i));
    expect(stats.sendCalls).toBe(1);
    out.closeBatch(outer);
    expect(stats).toMatchObject({ messagesSent: 10, sendCalls: 2 });
    await until(() => bytesOf(got).length === 320);
    a.close();
    b.close();
  });

  it("nested batches: only the outermost sends", () => {
    const { a, b, out, stats } = outboxPair();
    const outer = out.openBatch();
    out.send(readRequest(1));
    const inner = out.openBatch();
    expect(inner).toBe(true);
    out.send(readRequest(2));
    out.closeBatch(inner);
    expect(stats.sendCalls).toBe(0);
    out.closeBatch(outer);
    expect(stats.sendCalls).toBe(1);
    a.close();
    b.close();
  });

  it.each(["tick", "microtask"] as const)(
    "queue outside a batch leaves at the end of the %s, together",
    async (later) => {
      const { a, b, out, stats, got } = outboxPair(later);
      out.queue(readRequest(1));
      out.queue(readRequest(2));
      expect(stats.sendCalls).toBe(0);
      await new Promise((r) => setImmediate(r));
      expect(stats).toMatchObject({ messagesSent: 2, sendCalls: 1 });
      await until(() => bytesOf(got).length === 64);
      a.close();
      b.close();
    },
  );

  it("a big message flushes what is queued, then leaves alone; parts are gathered", async () => {
    const { a, b, out, stats, got } = outboxPair();
    const outer = out.openBatch();
    out.send(readRequest(1));
    const big = new Uint8Array(ARENA_COPY_MAX + 1).fill(7);
    out.send([big.subarray(0, 100), big.subarray(100)]);
    expect(stats).toMatchObject({ messagesSent: 2, sendCalls: 2 });
    out.closeBatch(outer);
    expect(stats.sendCalls).toBe(2);
    await until(() => bytesOf(got).length === 32 + big.length);
    expect(bytesOf(got).subarray(0, 32)).toEqual(Buffer.from(readRequest(1)));
    expect(bytesOf(got).subarray(32)).toEqual(Buffer.from(big));
    a.close();
    b.close();
  });

  it("a message with fds leaves alone, its fds with its first byte", async () => {
    const { a, b, out, got } = outboxPair();
    const outer = out.openBatch();
    out.send(readRequest(1));
    const fd = memfd();
    out.send(readRequest(2), [fd]);
    closeFd(fd);
    out.closeBatch(outer);
    await until(() => bytesOf(got).length === 64);
    // The fds arrived with the chunk that holds the second message (its last byte).
    const i = got.fds.findIndex((f) => f.length > 0);
    expect(i).toBeGreaterThanOrEqual(0);
    const before = got.chunks.slice(0, i + 1).reduce((n, c) => n + c.length, 0);
    expect(before).toBeGreaterThan(32);
    for (const f of got.fds) for (const x of f) closeFd(x);
    a.close();
    b.close();
  });

  it("flushes at 1 MiB inside a batch; appended frames count with sent()", () => {
    const { a, b, out, stats } = outboxPair();
    const outer = out.openBatch();
    const frame = new Uint8Array(ARENA_COPY_MAX);
    const n = ARENA_FLUSH_AT / ARENA_COPY_MAX;
    for (let i = 0; i < n; i++) out.send(frame);
    expect(stats.sendCalls).toBe(1);
    expect(out.arena.length).toBe(0);
    out.arena.append(readRequest(1));
    out.sent();
    expect(stats.messagesSent).toBe(n + 1);
    out.discard();
    out.closeBatch(outer);
    expect(stats.sendCalls).toBe(1);
    a.close();
    b.close();
  });
});
