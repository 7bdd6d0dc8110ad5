// Clients that attack the server's resources rather than its parser (the fuzzer, fuzz/, covers the parser): each
// test is a reproducer of something found while hardening the server.
import { readdirSync, readFileSync } from "node:fs";
import { closeFd, closeFds, ftruncate, memfdCreate, UnixSocket } from "@emu/sys";
import { until } from "@emu/test-kit";
import {
  DeviceFeature,
  DeviceFeatureFlags,
  decodeMessage,
  deviceFeatureFlags,
  encodeMessage,
  FrameParser,
  type Header,
  type Message,
} from "@emu/vfio-user-proto";
import { createServer, isDmaError, isDmaMapError } from "@emu/vfio-user-server";
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

/** A raw client: sends frames (with fds), collects reply headers in order. */
async function rawClient(path: string): Promise<{ call(m: Message, fds?: number[]): Promise<Header>; close(): void }> {
  const s = await UnixSocket.connect(path);
  const parser = new FrameParser();
  const waiting: ((h: Header) => void)[] = [];
  s.start({
    onData: (chunk, fds) => {
      closeFds(fds);
      parser.push(chunk);
      parser.drain((f) => waiting.shift()?.(f.header));
    },
    onClose: () => undefined,
  });
  let id = 0;
  const call = (m: Message, fds?: number[]) =>
    new Promise<Header>((resolve) => {
      waiting.push(resolve);
      s.send(encodeMessage(m, { msgId: ++id & 0xffff }), fds);
    });
  await call({ kind: "VersionRequest", major: 0, minor: 2, capabilities: { maxMsgFds: 1, maxDmaMaps: 65535 } });
  return { call, close: () => s.close() };
}

const map = (address: bigint, size: bigint): Message => ({
  kind: "DmaMapRequest",
  argsz: 32,
  flags: 3,
  offset: 0n,
  address,
  size,
});
const ENOSPC = 28;

// 65 000 fd-backed DMA_MAPs of 4 KiB (all accepted: max_dma_maps is 65535) took the server to vm.max_map_count
// mappings, and V8 died of "out of memory" (SIGABRT) at its next allocation.
it("fd-backed DMA_MAPs past half of vm.max_map_count are refused with ENOSPC, and the server lives", async () => {
  const budget = Math.floor(Number(readFileSync("/proc/sys/vm/max_map_count", "utf8")) / 2);
  const path = socketPath();
  const refused: unknown[] = [];
  track(
    await createServer({
      socketPath: path,
      onError: (e) => refused.push(e),
      device: { pci: { vendorId: 1, deviceId: 2, classCode: 0 } },
    }),
  );
  const c = await rawClient(path);
  const fd = memfdCreate("guest", 4096);
  try {
    const pending: Promise<Header>[] = [];
    for (let i = 0; i < budget; i++) {
      pending.push(c.call(map(BigInt(i) * 0x2000n, 0x1000n), [fd]));

      if (pending.length === 256) expect((await Promise.all(pending.splice(0))).every((h) => h.error === 0)).toBe(true);
    }
    expect((await Promise.all(pending)).every((h) => h.error === 0)).toBe(true);
    const over = await c.call(map(BigInt(budget) * 0x2000n, 0x1000n), [fd]);
    expect(over.error).toBe(ENOSPC);
    expect(refused.filter(isDmaMapError).map((e) => e.errno)).toEqual([ENOSPC]);
    // Without an fd nothing is mapped: still accepted (up to max_dma_maps).
    expect((await c.call(map(BigInt(budget + 1) * 0x2000n, 0x1000n))).error).toBe(0);
    expect((await c.call({ kind: "RegionReadRequest", region: 7, offset: 0n, count: 4 })).error).toBe(0);
  } finally {
    closeFd(fd);
    c.close();
  }
}, 120_000);

// With the data path's threads mapping guest memory themselves, the server keeps the fd behind each fd-backed mapping:
// kept once per mapping, 32 765 DMA_MAPs of one memfd ran the server out of fds (RLIMIT_NOFILE 20000 here) and it
// could no longer receive. One fd is kept per distinct file, and distinct files are bounded.
it("the server keeps one fd per distinct file behind the DMA table, at most 1024 files, and closes them with the mappings", async () => {
  const path = socketPath();
  const refused: unknown[] = [];
  track(
    await createServer({
      socketPath: path,
      onError: (e) => refused.push(e),
      device: { pci: { vendorId: 1, deviceId: 2, classCode: 0 } },
    }),
  );
  const fdCount = () => readdirSync("/proc/self/fd").length;
  const c = await rawClient(path);
  await c.call({ kind: "RegionReadRequest", region: 7, offset: 0n, count: 4 });
  const base = fdCount();
  const files: number[] = [];
  try {
    const shared = memfdCreate("guest", 4096);
    files.push(shared);
    for (let i = 0; i < 64; i++) expect((await c.call(map(BigInt(i) * 0x2000n, 0x1000n), [shared])).error).toBe(0);
    // our memfd, and the server's one fd for it (each DMA_MAP's received fd closed or kept as that one)
    expect(fdCount()).toBe(base + 2);
    for (let i = 1; i < 1024; i++) {
      const fd = memfdCreate(`guest-${i}`, 4096);
      files.push(fd);
      expect((await c.call(map(0x100000n + BigInt(i) * 0x2000n, 0x1000n), [fd])).error).toBe(0);
    }
    const extra = memfdCreate("one-too-many", 4096);
    files.push(extra);
    expect((await c.call(map(0x10000000n, 0x1000n), [extra])).error).toBe(ENOSPC);
    expect(refused.filter(isDmaMapError).map((e) => e.errno)).toEqual([ENOSPC]);
    expect(fdCount()).toBe(base + files.length + 1024);
    // Mappings of a file already kept still go in.
    expect((await c.call(map(0x20000000n, 0x1000n), [files[5] as number])).error).toBe(0);
    expect(fdCount()).toBe(base + files.length + 1024);
    // UNMAP_ALL: every kept fd closed.
    const all = await c.call({ kind: "DmaUnmapRequest", argsz: 24, flags: 2, address: 0n, size: 0n });
    expect(all.error).toBe(0);
    expect(fdCount()).toBe(base + files.length);
  } finally {
    closeFds(files);
    c.close();
  }
}, 120_000);

it("fd-backed DMA_MAPs of more than maxMappedGuestMemory (default 4 TiB) at once are refused with ENOSPC", async () => {
  const path = socketPath();
  track(
    await createServer({
      maxMappedGuestMemory: 64n << 30n,
      socketPath: path,
      onError: () => undefined,
      device: { pci: { vendorId: 1, deviceId: 2, classCode: 0 } },
    }),
  );
  const c = await rawClient(path);
  const G32 = 32n << 30n;
  const fd = memfdCreate("sparse", G32); // sparse: costs the client nothing
  try {
    expect((await c.call(map(0n, G32), [fd])).error).toBe(0);
    expect((await c.call(map(G32, G32), [fd])).error).toBe(0);
    expect((await c.call(map(2n * G32, 0x1000n), [fd])).error).toBe(ENOSPC);
    expect((await c.call(map(2n * G32, 0x1000n))).error).toBe(0); // without an fd: nothing mapped, accepted
    expect((await c.call({ kind: "DmaUnmapRequest", argsz: 24, flags: 0, address: 0n, size: G32 })).error).toBe(0);
    expect((await c.call(map(3n * G32, 0x1000n), [fd])).error).toBe(0);
  } finally {
    closeFd(fd);
    c.close();
  }
}, 60_000);

// DMA_LOGGING_START took any power of two as its page size: at page_size 1 the device's every written byte became a
// tracked page (a Set entry, and a loop turn per byte), so a guest driving the device's writes grew the server without
// bound. Below the DMA page size the server tracks at the DMA page size, and says so in its echo.
it("DMA logging at a page size below the DMA page size tracks at the DMA page size", async () => {
  const path = socketPath();
  track(await createServer({ socketPath: path, device: { pci: { vendorId: 1, deviceId: 2, classCode: 0 } } }));
  const s = await UnixSocket.connect(path);
  const parser = new FrameParser();
  const replies: Message[] = [];
  s.start({
    onData: (chunk) => {
      parser.push(chunk);
      parser.drain((f) => {
        const d = decodeMessage(f);
        if (d.ok) replies.push(d.value.message);
      });
    },
    onClose: () => undefined,
  });
  s.send(encodeMessage({ kind: "VersionRequest", major: 0, minor: 2, capabilities: { maxMsgFds: 1 } }, { msgId: 1 }));
  s.send(
    encodeMessage(
      {
        kind: "DeviceFeatureRequest",
        argsz: 64,
        flags: deviceFeatureFlags(DeviceFeature.DMA_LOGGING_START, DeviceFeatureFlags.SET),
        data: { type: "DmaLogging", pageSize: 1n, ranges: [{ iova: 0n, length: 0x100000n }] },
      },
      { msgId: 2 },
    ),
  );
  await until(() => replies.length === 2);
  expect(replies[1]).toMatchObject({ kind: "DeviceFeatureReply", data: { type: "DmaLogging", pageSize: 4096n } });
  s.close();
});

// The region memfd a client gets with GET_REGION_INFO could be shrunk by it under the server's own mapping: the
// server's next access to that region memory was a SIGBUS (the server process died). It is size-sealed now.
it("a client cannot shrink the region memory the server shares with it", async () => {
  const path = socketPath();
  track(
    await createServer({
      socketPath: path,
      device: {
        pci: { vendorId: 1, deviceId: 2, classCode: 0, bars: [{ index: 0, kind: "memory32", size: 4096 }] },
        regions: { 0: { memory: true } },
      },
    }),
  );
  const s = await UnixSocket.connect(path);
  const parser = new FrameParser();
  const frames: { error: number; fds: readonly number[] }[] = [];
  s.start({
    onData: (chunk, fds) => {
      parser.push(chunk, fds);
      parser.drain((f) => frames.push({ error: f.header.error, fds: f.fds }));
    },
    onClose: () => undefined,
  });
  s.send(encodeMessage({ kind: "VersionRequest", major: 0, minor: 2, capabilities: { maxMsgFds: 4 } }, { msgId: 1 }));
  s.send(encodeMessage({ kind: "DeviceGetRegionInfoRequest", argsz: 256, index: 0 }, { msgId: 2 }));
  await until(() => frames.length === 2);
  const fd = frames[1]?.fds[0] as number;
  try {
    expect(() => ftruncate(fd, 0)).toThrow(expect.objectContaining({ code: "EPERM" }));
    s.send(encodeMessage({ kind: "RegionReadRequest", region: 0, offset: 0n, count: 4 }, { msgId: 3 }));
    await until(() => frames.length === 3);
    expect(frames[2]?.error).toBe(0);
  } finally {
    closeFd(fd);
    s.close();
  }
});
