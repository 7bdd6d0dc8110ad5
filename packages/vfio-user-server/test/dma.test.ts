import {
  DeviceFeature,
  DeviceFeatureFlags,
  deviceFeatureFlags,
  encodeMessage,
  isPageDirty,
  type VersionCapabilities,
} from "@emu/vfio-user-proto";
import { createServer, type DeviceContext, isDmaError, isDmaMapError } from "@emu/vfio-user-server";
import { describe, expect, it } from "vitest";
import { newLog, nic } from "./fixtures/devices.js";
import { Client, socketPath, track, u32 } from "./fixtures/harness.js";

async function setup(caps: VersionCapabilities = { maxMsgFds: 16, maxDataXferSize: 1024 }, twin = false) {
  const path = socketPath();
  const log = newLog();
  const holder: { ctx?: DeviceContext } = {};
  // Refusals are asserted through the replies here; their onError report has a test of its own (below).
  track(await createServer({ socketPath: path, device: nic(log, holder), onError: () => undefined }));
  const client = await Client.spawn();
  const r = await client.connect(path, twin ? { ...caps, twinSocket: { supported: true } } : caps);
  return { client, log, ctx: holder.ctx!, reply: r };
}

const R = 1;
const W = 2;

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

async function dmaError(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (isDmaError(e)) return e.reason;
    throw e;
  }
  throw new Error("no DmaError");
}

describe("fd-backed DMA", () => {
  it("maps the client's memfd: device writes are seen by the client and the other way round", async () => {
    const { client, ctx, log } = await setup();
    await client.op("memfd", { name: "guest", size: 0x10000 });
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x10000n, size: 0x10000n },
      "DmaMapReply",
      { fds: ["guest"] },
    );
    expect(log.dmaMaps).toEqual([0x10000n]);
    expect(ctx.dma.regions()).toEqual([
      { iova: 0x10000n, size: 0x10000n, readable: true, writable: true, direct: true },
    ]);

    const data = pattern(3000, 1);
    await ctx.dma.write(0x10100n, data);
    expect(await client.op("memRead", { name: "guest", offset: 0x100, length: 3000 })).toEqual(data);

    await client.op("memWrite", { name: "guest", offset: 0x8000, data: pattern(64, 9) });
    expect(await ctx.dma.read(0x18000, 64)).toEqual(pattern(64, 9));

    const view = ctx.dma.map(0x1f000n, 16);
    view.bytes.set([1, 2, 3, 4]);
    view.release();
    expect(await client.op("memRead", { name: "guest", offset: 0xf000, length: 4 })).toEqual(
      new Uint8Array([1, 2, 3, 4]),
    );

    // No message went to the client for any of this.
    expect(await client.op("dmaStats")).toEqual({ reads: [], writes: [] });
  });

  it("refuses what is outside the table, message-backed views, permission and span errors", async () => {
    const { client, ctx } = await setup();
    await client.op("memfd", { name: "a", size: 0x2000 });
    await client.op("memfd", { name: "b", size: 0x1000 });
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x0n, size: 0x2000n },
      "DmaMapReply",
      {
        fds: ["a"],
      },
    );
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R, offset: 0n, address: 0x2000n, size: 0x1000n },
      "DmaMapReply",
      {
        fds: ["b"],
      },
    );
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x100000n, size: 0x1000n },
      "DmaMapReply",
    );
    expect(await dmaError(ctx.dma.read(0x5000n, 4))).toBe("NotMapped");
    expect(await dmaError(ctx.dma.read(0x2ffen, 4))).toBe("NotMapped"); // runs off the end of the table
    expect(await dmaError(() => ctx.dma.map(0x100000n, 16))).toBe("NotDirect");
    expect(await dmaError(() => ctx.dma.map(0x1ff0n, 32))).toBe("Spans");
    expect(await dmaError(ctx.dma.write(0x2000n, new Uint8Array(4)))).toBe("Permission");
    expect(await dmaError(() => ctx.dma.map(0x2000n, 4, "rw"))).toBe("Permission");
    // Reads spanning two adjacent fd-backed mappings work.
    expect((await ctx.dma.read(0x1ffen, 4)).length).toBe(4);
  });

  it("DMA_MAP errors: overlap is EEXIST, misaligned and too-short fds are EINVAL; UNMAP must match (ENOENT)", async () => {
    const { client, log } = await setup();
    await client.op("memfd", { name: "g", size: 0x4000 });
    const map = (address: bigint, size: bigint, fds?: string[], offset = 0n) =>
      client.errno({ kind: "DmaMapRequest", argsz: 32, flags: R | W, offset, address, size }, fds ? { fds } : {});
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x10000n, size: 0x4000n },
      "DmaMapReply",
      {
        fds: ["g"],
      },
    );
    expect(await map(0x11000n, 0x1000n, ["g"], 0x1000n)).toBe(17);
    expect(await map(0x10000n, 0x4000n, ["g"])).toBe(17); // an identical map is still "over an existing region"
    expect(await map(0x20001n, 0x1000n)).toBe(22);
    expect(await map(0x30000n, 0x8000n, ["g"])).toBe(22); // beyond the end of the memfd
    expect(await map(0x30000n, 0n)).toBe(22);
    expect(
      await client.errno({ kind: "DmaMapRequest", argsz: 32, flags: 0, offset: 0n, address: 0x40000n, size: 0x1000n }),
    ).toBe(22);
    expect(await client.errno({ kind: "DmaUnmapRequest", argsz: 24, flags: 0, address: 0x10000n, size: 0x1000n })).toBe(
      2,
    );
    const u = await client.ok(
      { kind: "DmaUnmapRequest", argsz: 24, flags: 0, address: 0x10000n, size: 0x4000n },
      "DmaUnmapReply",
    );
    expect(u).toMatchObject({ argsz: 24, flags: 0, address: 0x10000n, size: 0x4000n });
    expect(log.dmaUnmaps).toEqual([0x10000n]);
  });

  it("a refused DMA_MAP is reported through onError with its range and errno (clients only log the reply)", async () => {
    const path = socketPath();
    const errors: unknown[] = [];
    track(await createServer({ socketPath: path, device: nic(newLog()), onError: (e) => errors.push(e) }));
    const client = await Client.spawn();
    await client.connect(path);
    await client.op("memfd", { name: "g", size: 0x2000 });
    const map = { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n } as const;
    await client.ok({ ...map, address: 0x10000n, size: 0x2000n }, "DmaMapReply", { fds: ["g"] });
    expect(errors).toEqual([]);
    expect(await client.errno({ ...map, address: 0x11000n, size: 0x1000n })).toBe(17);
    expect(await client.errno({ ...map, address: 0x40800n, size: 0x1000n }, { fds: ["g"] })).toBe(22);
    await client.op("eventfd", { name: "e1" });
    expect(await client.errno({ ...map, address: 0x50000n, size: 0x1000n }, { fds: ["g", "e1"] })).toBe(22);
    expect(errors.map((e) => isDmaMapError(e) && [e.iova, e.size, e.errno, e.withFd])).toEqual([
      [0x11000n, 0x1000n, 17, false],
      [0x40800n, 0x1000n, 22, true],
      [0x50000n, 0x1000n, 22, true],
    ]);
    expect((errors[0] as Error).message).toMatch(/DMA_MAP 0x11000\+0x1000 refused \(errno 17\)/);
  });

  it("honours the client's max_dma_maps: one mapping more is ENOSPC until one is unmapped", async () => {
    const { client, ctx, reply } = await setup({ maxMsgFds: 16, maxDataXferSize: 1024, maxDmaMaps: 2 });
    expect(reply.message).toMatchObject({ kind: "VersionReply", capabilities: { maxDmaMaps: 2 } });
    const map = (a: bigint) =>
      ({ kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: a, size: 0x1000n }) as const;
    await client.ok(map(0x1000n), "DmaMapReply");
    await client.ok(map(0x3000n), "DmaMapReply");
    expect(await client.errno(map(0x5000n))).toBe(28); // ENOSPC
    expect(ctx.dma.regions()).toHaveLength(2);
    await client.ok({ kind: "DmaUnmapRequest", argsz: 24, flags: 0, address: 0x1000n, size: 0x1000n }, "DmaUnmapReply");
    await client.ok(map(0x5000n), "DmaMapReply");
    expect(ctx.dma.regions().map((r) => r.iova)).toEqual([0x3000n, 0x5000n]);
  });

  it("bounds a mapping at 8 TiB as libvfio-user does (ENOSPC): a no-fd map of 2^62 bytes is refused", async () => {
    const path = socketPath();
    const errors: unknown[] = [];
    track(await createServer({ socketPath: path, device: nic(newLog()), onError: (e) => errors.push(e) }));
    const client = await Client.spawn();
    await client.connect(path);
    const map = (address: bigint, size: bigint) =>
      ({ kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address, size }) as const;
    expect(await client.errno(map(0n, 1n << 62n))).toBe(28); // ENOSPC
    expect(await client.errno(map(1n << 50n, (8n << 40n) + 0x1000n))).toBe(28);
    expect(errors.map((e) => isDmaMapError(e) && [e.iova, e.size, e.errno, e.withFd])).toEqual([
      [0n, 1n << 62n, 28, false],
      [1n << 50n, (8n << 40n) + 0x1000n, 28, false],
    ]);
    await client.ok(map(1n << 50n, 8n << 40n), "DmaMapReply"); // exactly 8 TiB is accepted
  });

  it("UNMAP with the ALL flag drops every mapping", async () => {
    const { client, ctx } = await setup();
    for (const a of [0x1000n, 0x3000n]) {
      await client.ok(
        { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: a, size: 0x1000n },
        "DmaMapReply",
      );
    }
    await client.ok({ kind: "DmaUnmapRequest", argsz: 24, flags: 2, address: 0n, size: 0n }, "DmaUnmapReply");
    expect(ctx.dma.regions()).toEqual([]);
    // Migration v1's GET_DIRTY_BITMAP is gone from the spec: refused (DMA logging replaces it).
    const v1 = { kind: "DmaUnmapRequest", argsz: 40, flags: 1, address: 0n, size: 0n } as const;
    expect(await client.errno({ ...v1, bitmap: { pgsize: 4096n, size: 8n } })).toBe(95);
  });
});

describe("message-based DMA", () => {
  it("serves a mapping without fd with DMA_READ/DMA_WRITE, split to the client's max_data_xfer_size", async () => {
    const { client, ctx } = await setup({ maxMsgFds: 16, maxDataXferSize: 1024 });
    await client.op("dmaMem", { iova: 0x100000, size: 0x4000 });
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x100000n, size: 0x4000n },
      "DmaMapReply",
    );
    expect(ctx.dma.regions()[0]?.direct).toBe(false);
    const data = pattern(3000, 3);
    await ctx.dma.write(0x100010n, data);
    expect(await client.op("dmaMemRead", { iova: 0x100010, length: 3000 })).toEqual(data);
    await client.op("dmaMemWrite", { iova: 0x102000, data: pattern(2100, 5) });
    expect(await ctx.dma.read(0x102000n, 2100)).toEqual(pattern(2100, 5));
    const stats = await client.op<{
      reads: { count: number; channel: string }[];
      writes: { count: number; channel: string }[];
    }>("dmaStats");
    expect(stats.writes.map((w) => w.count)).toEqual([1024, 1024, 952]);
    expect(stats.reads.map((r) => r.count)).toEqual([1024, 1024, 52]);
    expect(new Set([...stats.reads, ...stats.writes].map((x) => x.channel))).toEqual(new Set(["main"]));
  });

  it('{ via: "message" } reaches fd-backed memory with DMA_READ/DMA_WRITE too, as libvfio-user\'s vfu_sgl_read/write', async () => {
    const { client, ctx } = await setup({ maxMsgFds: 16, maxDataXferSize: 1024 });
    await client.op("memfd", { name: "guest", size: 0x4000 });
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x10000n, size: 0x4000n },
      "DmaMapReply",
      { fds: ["guest"] },
    );
    expect(ctx.dma.regions()[0]?.direct).toBe(true);
    // The harness answers DMA messages from a buffer of its own at the same iova: which bytes come back shows the path.
    await client.op("dmaMem", { iova: 0x10000, size: 0x4000 });
    await client.op("dmaMemWrite", { iova: 0x10000, data: pattern(0x4000, 2) });
    await client.op("memWrite", { name: "guest", offset: 0, data: pattern(0x4000, 8) });

    expect(await ctx.dma.read(0x10100n, 64)).toEqual(pattern(0x4000, 8).subarray(0x100, 0x140)); // direct
    expect(await ctx.dma.read(0x10100n, 64, { via: "auto" })).toEqual(pattern(0x4000, 8).subarray(0x100, 0x140));
    expect(await client.op("dmaStats")).toEqual({ reads: [], writes: [] });

    expect(await ctx.dma.read(0x10100n, 64, { via: "message" })).toEqual(pattern(0x4000, 2).subarray(0x100, 0x140));
    expect(await ctx.dma.read(0x10000n, 3000, { via: "message" })).toEqual(pattern(0x4000, 2).subarray(0, 3000));
    await ctx.dma.write(0x12000n, pattern(1500, 4), { via: "message" });
    expect(await client.op("dmaMemRead", { iova: 0x12000, length: 1500 })).toEqual(pattern(1500, 4));
    expect(await client.op("memRead", { name: "guest", offset: 0x2000, length: 4 })).toEqual(
      pattern(0x4000, 8).subarray(0x2000, 0x2004),
    ); // the direct mapping was not touched
    const stats = await client.op<{ reads: { address: bigint; count: number }[]; writes: { count: number }[] }>(
      "dmaStats",
    );
    expect(stats.reads.map((r) => [r.address, r.count])).toEqual([
      [0x10100n, 64],
      [0x10000n, 1024],
      [0x10400n, 1024],
      [0x10800n, 952],
    ]);
    expect(stats.writes.map((w) => w.count)).toEqual([1024, 476]);
    // The table and the mapping's permissions are checked first, as for a direct access.
    expect(await dmaError(ctx.dma.read(0x20000n, 4, { via: "message" }))).toBe("NotMapped");
    await client.op("memfd", { name: "rom", size: 0x1000 });
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R, offset: 0n, address: 0x30000n, size: 0x1000n },
      "DmaMapReply",
      { fds: ["rom"] },
    );
    expect(await dmaError(ctx.dma.write(0x30000n, Uint8Array.of(1), { via: "message" }))).toBe("Permission");
    expect((await client.op<{ writes: unknown[] }>("dmaStats")).writes).toHaveLength(2);
    await expect(ctx.dma.read(0x10000n, 4, { via: "direct" as "message" })).rejects.toThrow(TypeError);
  });

  it("many single-message reads and writes in flight at once; a refusal by the client rejects with its errno", async () => {
    const { client, ctx } = await setup({ maxMsgFds: 16, maxDataXferSize: 4096 });
    // The client backs only the first 0x2000 bytes of the mapping: it refuses the rest with EFAULT.
    await client.op("dmaMem", { iova: 0x300000, size: 0x2000 });
    await client.op("dmaMemWrite", { iova: 0x300000, data: pattern(0x1000, 7) });
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x300000n, size: 0x3000n },
      "DmaMapReply",
    );
    const reads = Array.from({ length: 64 }, (_, i) => ctx.dma.read(0x300000n + BigInt(64 * i), 64));
    const writes = Array.from({ length: 64 }, (_, i) => ctx.dma.write(0x301000 + 64 * i, pattern(64, i)));
    const got = await Promise.all(reads);
    await Promise.all(writes);
    const all = pattern(0x1000, 7);
    for (let i = 0; i < 64; i++) {
      expect(got[i]).toEqual(all.subarray(64 * i, 64 * i + 64));
      // A buffer of its own, as with fd-backed memory: not a view that keeps a whole received chunk alive.
      expect(got[i]!.buffer.byteLength).toBe(64);
    }
    const back = await client.op<Uint8Array>("dmaMemRead", { iova: 0x301000, length: 0x1000 });
    for (let i = 0; i < 64; i++) expect(back.subarray(64 * i, 64 * i + 64)).toEqual(pattern(64, i));
    let refused: unknown;
    await ctx.dma.read(0x302000n, 16).catch((e: unknown) => {
      refused = e;
    });
    expect(isDmaError(refused) && [refused.reason, refused.errno]).toEqual(["ClientError", 14]);
    expect(await dmaError(ctx.dma.write(0x302ff0n, pattern(16, 1)))).toBe("ClientError");
    const stats = await client.op<{ reads: unknown[]; writes: unknown[] }>("dmaStats");
    expect([stats.reads.length, stats.writes.length]).toEqual([65, 65]);
  });

  it("uses the twin socket for DMA_READ/DMA_WRITE when negotiated", async () => {
    const { client, ctx, reply } = await setup({ maxMsgFds: 16, maxDataXferSize: 4096 }, true);
    expect(reply.message).toMatchObject({ capabilities: { twinSocket: { supported: true, fdIndex: 0 } } });
    expect(await client.op("hasTwin")).toBe(true);
    await client.op("dmaMem", { iova: 0x200000, size: 0x3000 });
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x200000n, size: 0x3000n },
      "DmaMapReply",
    );
    await ctx.dma.write(0x200000n, pattern(0x3000, 11));
    expect(await ctx.dma.read(0x200000n, 0x3000)).toEqual(pattern(0x3000, 11));
    const stats = await client.op<{ reads: { channel: string }[]; writes: { channel: string }[] }>("dmaStats");
    expect(stats.writes).toHaveLength(3);
    expect(new Set([...stats.reads, ...stats.writes].map((x) => x.channel))).toEqual(new Set(["twin"]));
  });

  it("with the twin socket, a reply on the main socket does not answer a command sent on the twin socket", async () => {
    const { client, ctx } = await setup({ maxMsgFds: 16, maxDataXferSize: 4096 }, true);
    await client.op("dmaMem", { iova: 0x200000, size: 0x1000 });
    await client.op("dmaMemWrite", { iova: 0x200000, data: Uint8Array.of(1, 2, 3, 4) });
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x200000n, size: 0x1000n },
      "DmaMapReply",
    );
    await client.op("dmaHold");
    const read = ctx.dma.read(0x200000n, 4);
    const [held] = await client.op<{ msgId: number; command: number; channel: string }[]>("dmaHeld", { count: 1 });
    expect(held).toMatchObject({ command: 11, channel: "twin" });
    // The same msg_id and command, on the wrong socket: not the reply.
    const forged = encodeMessage(
      { kind: "DmaReadReply", address: 0x200000n, data: Uint8Array.of(9, 9, 9, 9) },
      { msgId: held!.msgId },
    );
    await client.op("raw", { bytes: forged });
    await new Promise((r) => setTimeout(r, 50));
    await client.op("dmaRelease");
    expect(await read).toEqual(Uint8Array.of(1, 2, 3, 4));
  });

  it("a device callback may wait for message DMA while later commands queue behind it", async () => {
    const path = socketPath();
    let ctx!: DeviceContext;
    track(
      await createServer({
        socketPath: path,
        device: (c) => {
          ctx = c;
          let last = 0;
          return {
            pci: { vendorId: 1, deviceId: 2, classCode: 0, bars: [{ index: 0, kind: "memory32", size: 4096 }] },
            regions: {
              0: {
                // A doorbell: fetch a descriptor from guest memory, latch its first word.
                write: async (_off, data) => {
                  const desc = await ctx.dma.read(BigInt(u32(data)), 4);
                  last = u32(desc);
                },
                read: () => {
                  const b = new Uint8Array(4);
                  new DataView(b.buffer).setUint32(0, last, true);
                  return b;
                },
              },
            },
          };
        },
      }),
    );
    const client = await Client.spawn();
    await client.connect(path);
    await client.op("dmaMem", { iova: 0x1000, size: 0x1000 });
    await client.op("dmaMemWrite", { iova: 0x1010, data: new Uint8Array([0x78, 0x56, 0x34, 0x12]) });
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R, offset: 0n, address: 0x1000n, size: 0x1000n },
      "DmaMapReply",
    );
    const replies = await client.op<{ message: { kind: string; data?: Uint8Array } }[]>("batch", {
      calls: [
        { message: { kind: "RegionWriteRequest", offset: 0n, region: 0, data: new Uint8Array([0x10, 0x10, 0, 0]) } },
        { message: { kind: "RegionReadRequest", offset: 0n, region: 0, count: 4 } },
      ],
    });
    expect(replies[0]?.message.kind).toBe("RegionWriteReply");
    expect(u32(replies[1]!.message.data!)).toBe(0x12345678);
  });
});

describe("DMA dirty-page logging", () => {
  const feature = (f: number, op: number) => deviceFeatureFlags(f, op);

  it("logs pages the device wrote through mapped memory, not message-based writes, and clears on report", async () => {
    const { client, ctx } = await setup();
    await client.op("memfd", { name: "g", size: 0x4000 });
    await client.op("dmaMem", { iova: 0x100000, size: 0x2000 });
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x10000n, size: 0x4000n },
      "DmaMapReply",
      {
        fds: ["g"],
      },
    );
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x100000n, size: 0x2000n },
      "DmaMapReply",
    );
    const report = async (iova: bigint, length: bigint) => {
      const r = await client.ok(
        {
          kind: "DeviceFeatureRequest",
          argsz: 8 + 24 + 8,
          flags: feature(DeviceFeature.DMA_LOGGING_REPORT, DeviceFeatureFlags.GET),
          data: { type: "DmaLoggingReport", iova, length, pageSize: 0x1000n },
        },
        "DeviceFeatureReply",
      );
      expect(r.argsz).toBe(40);
      return (r.data as { bitmap: Uint8Array }).bitmap;
    };
    expect(
      await client.errno({
        kind: "DeviceFeatureRequest",
        argsz: 40,
        flags: feature(DeviceFeature.DMA_LOGGING_REPORT, DeviceFeatureFlags.GET),
        data: { type: "DmaLoggingReport", iova: 0x10000n, length: 0x4000n, pageSize: 0x1000n },
      }),
    ).toBe(22);
    const start = await client.ok(
      {
        kind: "DeviceFeatureRequest",
        argsz: 24,
        flags: feature(DeviceFeature.DMA_LOGGING_START, DeviceFeatureFlags.SET),
        data: { type: "DmaLogging", pageSize: 0x1000n, ranges: [] },
      },
      "DeviceFeatureReply",
    );
    expect(start.data).toEqual({ type: "DmaLogging", pageSize: 0x1000n, ranges: [] });
    expect(
      await client.errno({
        kind: "DeviceFeatureRequest",
        argsz: 24,
        flags: feature(DeviceFeature.DMA_LOGGING_START, DeviceFeatureFlags.SET),
        data: { type: "DmaLogging", pageSize: 0x1000n, ranges: [] },
      }),
    ).toBe(16);
    await ctx.dma.write(0x11ffen, new Uint8Array(4)); // pages 1 and 2
    await ctx.dma.write(0x100000n, new Uint8Array(16)); // message-based: the client's own write
    const bm = await report(0x10000n, 0x4000n);
    expect([0, 1, 2, 3].map((p) => isPageDirty(bm, p))).toEqual([false, true, true, false]);
    expect([...(await report(0x10000n, 0x4000n))]).toEqual(new Array(8).fill(0));
    expect([...(await report(0x100000n, 0x2000n))]).toEqual(new Array(8).fill(0));
    await client.ok(
      {
        kind: "DeviceFeatureRequest",
        argsz: 24,
        flags: feature(DeviceFeature.DMA_LOGGING_STOP, DeviceFeatureFlags.SET),
        data: { type: "DmaLogging", pageSize: 0x1000n, ranges: [] },
      },
      "DeviceFeatureReply",
    );
  });
});
