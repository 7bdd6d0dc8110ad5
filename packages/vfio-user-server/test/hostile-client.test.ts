// Clients that attack the server's resources rather than its parser (the fuzzer, fuzz/, covers the parser): each
// test is a reproducer of something found while hardening the server.
import { UnixSocket } from "@emu/sys";
import { encodeMessage } from "@emu/vfio-user-proto";
import { createServer, isDmaError } from "@emu/vfio-user-server";
import { expect, it } from "vitest";
import { socketPath, track } from "./fixtures/harness.js";

// While a device callback awaited a DMA_READ reply, the server read everything the client sent without limit (the
// main socket is read on to find that reply): a client flooding 1 MiB writes instead of answering grew the server by
// 420 MiB in 4 s, bounded only by the reply timeout.
it("a client that floods commands instead of answering a DMA_READ keeps the server's memory bounded, then is closed", async () => {
  const path = socketPath();
  const errors: unknown[] = [];
  track(
    await createServer({
      socketPath: path,
      dmaReplyTimeoutMs: 4000,
      onError: (e) => errors.push(e),
      device: (ctx) => ({
        pci: { vendorId: 1, deviceId: 2, classCode: 0, bars: [{ index: 0, kind: "memory32", size: 4096 }] },
        regions: {
          0: {
            write: async () => {
              await ctx.dma.read(0x1000n, 16);
            },
          },
        },
      }),
    }),
  );
  const s = await UnixSocket.connect(path);
  let closed = false;
  s.start({ onData: () => undefined, onClose: () => (closed = true) });
  s.send(encodeMessage({ kind: "VersionRequest", major: 0, minor: 2, capabilities: { maxMsgFds: 1 } }, { msgId: 1 }));
  s.send(
    encodeMessage(
      { kind: "DmaMapRequest", argsz: 32, flags: 3, offset: 0n, address: 0x1000n, size: 0x1000n },
      { msgId: 2 },
    ),
  );
  // The device now awaits a DMA_READ reply that never comes.
  s.send(encodeMessage({ kind: "RegionWriteRequest", region: 0, offset: 0n, data: new Uint8Array(4) }, { msgId: 3 }));
  const flood = encodeMessage(
    { kind: "RegionWriteRequest", region: 0, offset: 0n, data: new Uint8Array(1 << 20) },
    { msgId: 4 },
  );
  const before = process.memoryUsage().arrayBuffers;
  let peak = 0;
  let sent = 0;
  let stuck = 0;
  while (!closed) {
    if (s.bufferedAmount < 4 << 20) {
      s.send(flood);
      sent += flood.length;
    } else stuck++;
    await new Promise((r) => setImmediate(r));
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
  }
  expect(sent).toBeGreaterThan(32 << 20); // more than the server keeps ...
  expect(stuck).toBeGreaterThan(0); // ... so the rest stayed with the client: the server stopped reading
  // The server keeps at most 32 MiB of commands waiting (plus a frame in its parser and received chunks not yet
  // collected); unbounded, 4 s of this flood reached 400 MiB.
  expect(peak).toBeLessThan(120 << 20);
  expect(errors.some((e) => isDmaError(e) && e.reason === "Timeout")).toBe(true);
}, 30_000);
