// What a client that does not read, or does not answer, can do to the server: nothing that grows without bound or
// stalls for ever. 5a: a raw peer (a socket of @emu/sys in this process) pipelines 4 KiB REGION_READs and never reads
// its replies. 5b: our DMA_READ/DMA_WRITE that the client never answers.
import { readFileSync } from "node:fs";
import { UnixSocket } from "@emu/sys";
import { until } from "@emu/test-kit";
import { encodeMessage, FrameParser, HeaderFlags } from "@emu/vfio-user-proto";
import { createServer, type DeviceContext, isDmaError } from "@emu/vfio-user-server";
import { ARENA_COPY_MAX, ARENA_FLUSH_AT, SEND_QUEUE_HIGH } from "@emu/vfio-user-transport";
import { describe, expect, it } from "vitest";
import { Client, socketPath, track } from "./fixtures/harness.js";

const READ = 4096;
/** Header + access head + data: one REGION_READ reply. */
const REPLY = 16 + 16 + READ;
/** What the server may keep queued on its own (see SEND_QUEUE_HIGH): the mark, one arena flush, one frame. */
const SERVER_QUEUE_BOUND = SEND_QUEUE_HIGH + ARENA_FLUSH_AT + ARENA_COPY_MAX + REPLY;
/** What the kernel buffers between the two sockets (the sender's SO_SNDBUF, counted with overheads): generous. */
const KERNEL_SLACK = 4 * Number(readFileSync("/proc/sys/net/core/wmem_default", "utf8").trim());

/** Polls until `value()` stops changing for `quietMs` (nothing more happens), returns it. Not a speed assertion. */
async function settled(value: () => number, quietMs = 300): Promise<number> {
  let last = value();
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    const v = value();
    if (v !== last) {
      last = v;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return v;
  }
}

describe("a client that never reads its replies (5a)", () => {
  it("the server stops reading: what it queued stays bounded, and once the client reads every request is answered in order", async () => {
    const path = socketPath();
    let reads = 0;
    track(
      await createServer({
        socketPath: path,
        device: {
          pci: { vendorId: 1, deviceId: 2, classCode: 0, bars: [{ index: 0, kind: "memory32", size: 0x10000 }] },
          regions: {
            0: {
              read: (offset, length) => {
                reads++;
                return new Uint8Array(length).fill(offset >> 12);
              },
            },
          },
        },
      }),
    );
    // The raw peer: VERSION, then it stops reading and pipelines N reads.
    const peer = await UnixSocket.connect(path);
    const parser = new FrameParser({ maxMessageSize: 1 << 21 });
    const replies: { msgId: number; size: number; fill: number; error: boolean }[] = [];
    peer.start({
      onData: (chunk) => {
        parser.push(chunk);
        parser.drain((f) =>
          replies.push({
            msgId: f.header.msgId,
            size: f.header.msgSize,
            fill: f.bytes[f.bytes.length - 1] ?? -1,
            error: (f.header.flags & HeaderFlags.ERROR) !== 0,
          }),
        );
      },
      onClose: () => undefined,
    });
    peer.send(
      encodeMessage(
        { kind: "VersionRequest", major: 0, minor: 2, capabilities: { maxMsgFds: 1, maxDataXferSize: 1 << 20 } },
        { msgId: 0 },
      ),
    );
    await until(() => replies.length === 1);
    peer.pause();
    const N = 20_000; // 80 MiB of replies if the server answered them all
    const batch: Uint8Array[] = [];
    for (let i = 1; i <= N; i++) {
      batch.push(
        encodeMessage(
          { kind: "RegionReadRequest", offset: BigInt((i % 16) << 12), region: 0, count: READ },
          { msgId: i & 0xffff },
        ),
      );
      if (batch.length === 1000) peer.send(batch.splice(0));
    }
    const produced = await settled(() => reads);
    // The server stopped reading: our requests pile up in our own send queue, its replies stay bounded.
    expect(peer.bufferedAmount).toBeGreaterThan(0);
    expect(produced).toBeLessThan(N);
    expect(produced * REPLY).toBeLessThan(SERVER_QUEUE_BOUND + KERNEL_SLACK);
    // Reading again: everything is answered, in order, with the right data.
    peer.resume();
    await until(() => replies.length === N + 1, 30_000);
    expect(reads).toBe(N);
    for (let i = 1; i <= N; i++) {
      const r = replies[i]!;
      if (r.msgId !== (i & 0xffff) || r.size !== REPLY || r.error || r.fill !== i % 16)
        throw new Error(`reply ${i}: ${JSON.stringify(r)}`);
    }
    peer.close();
  }, 60_000);
});

describe("a client that never answers our DMA_READ/DMA_WRITE (5b)", () => {
  for (const twin of [false, true])
    it(`the access fails with DmaError Timeout after dmaReplyTimeoutMs and the connection is closed (${twin ? "twin socket" : "main socket"})`, async () => {
      const path = socketPath();
      const errors: unknown[] = [];
      let ctx: DeviceContext | undefined;
      let access: Promise<unknown> | undefined;
      const server = track(
        await createServer({
          socketPath: path,
          dmaReplyTimeoutMs: 200,
          onError: (e) => errors.push(e),
          device: {
            pci: { vendorId: 1, deviceId: 2, classCode: 0, bars: [{ index: 0, kind: "memory32", size: 0x1000 }] },
            regions: {
              0: {
                write: () => {
                  // A doorbell: the device fetches a descriptor, the command waits for it.
                  access = (ctx as DeviceContext).dma.read(0x100000n, 4);
                  return access.then(() => undefined);
                },
              },
            },
          },
        }),
      );
      ctx = server.context;
      const client = await Client.spawn();
      await client.connect(path, {
        maxMsgFds: 16,
        maxDataXferSize: 4096,
        ...(twin ? { twinSocket: { supported: true } } : {}),
      });
      await client.op("dmaMem", { iova: 0x100000, size: 0x1000 });
      await client.ok(
        { kind: "DmaMapRequest", argsz: 32, flags: 3, offset: 0n, address: 0x100000n, size: 0x1000n },
        "DmaMapReply",
      );
      await client.op("dmaHold");
      const doorbell = client.call({ kind: "RegionWriteRequest", offset: 0n, region: 0, data: new Uint8Array(4) });
      const [held] = await client.op<{ command: number; channel: string }[]>("dmaHeld", { count: 1 });
      expect(held).toMatchObject({ command: 11, channel: twin ? "twin" : "main" });
      const failure = await (access as Promise<unknown>).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isDmaError(failure) && failure.reason).toBe("Timeout");
      expect((failure as Error).message).toMatch(/did not answer DMA_READ within 200 ms/);
      // The connection is judged: closed, the doorbell never answered; the timeout reported.
      expect(await doorbell).toMatchObject({ closed: true });
      await server.disconnected();
      expect(server.connected).toBe(false);
      expect(errors.some((e) => isDmaError(e) && e.reason === "Timeout")).toBe(true);
      // The next client is served.
      const next = await Client.spawn();
      expect((await next.connect(path)).message).toMatchObject({ kind: "VersionReply" });
    });

  it("refuses a timeout that is not a positive number of ms", async () => {
    for (const bad of [0, -1, Number.NaN, 2 ** 31])
      await expect(
        createServer({
          socketPath: socketPath(),
          dmaReplyTimeoutMs: bad,
          device: { pci: { vendorId: 1, deviceId: 2, classCode: 0 } },
        }),
      ).rejects.toThrow(/dmaReplyTimeoutMs/);
  });
});
