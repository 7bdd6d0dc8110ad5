import { until } from "@emu/test-kit";
import { IoeventfdFlags, IoFdType, RegionInfoFlags } from "@emu/vfio-user-proto";
import { createServer, type DeviceContext, Errno, isDmaMapError } from "@emu/vfio-user-server";
import { describe, expect, it } from "vitest";
import { NIC_IOEVENTFD, newLog, nic } from "./fixtures/devices.js";
import { Client, le32, type Reply, socketPath, track } from "./fixtures/harness.js";

describe("GET_REGION_IO_FDS", () => {
  it("hands out the doorbell's ioeventfd; a signal reaches the device without a message", async () => {
    const path = socketPath();
    const log = newLog();
    track(await createServer({ socketPath: path, device: nic(log) }));
    const client = await Client.spawn();
    await client.connect(path);
    const short = await client.ok(
      { kind: "DeviceGetRegionIoFdsRequest", argsz: 16, index: 0 },
      "DeviceGetRegionIoFdsReply",
    );
    expect(short).toMatchObject({ argsz: 56, count: 1, subRegions: [] });
    expect(short.fdNames).toEqual([]);
    const r = await client.ok(
      { kind: "DeviceGetRegionIoFdsRequest", argsz: 56, index: 0 },
      "DeviceGetRegionIoFdsReply",
    );
    expect(r).toMatchObject({
      argsz: 56,
      index: 0,
      count: 1,
      entrySize: 40,
      subRegions: [
        { offset: BigInt(NIC_IOEVENTFD), size: 4n, fdIndex: 0, type: IoFdType.IOEVENTFD, flags: 0, datamatch: 0n },
      ],
    });
    expect(r.fdNames).toHaveLength(1);
    await client.op("signalFd", { name: r.fdNames[0] });
    await until(() => log.doorbells.length === 1);
    expect(log.doorbells).toEqual([1n]);
    const none = await client.ok(
      { kind: "DeviceGetRegionIoFdsRequest", argsz: 1024, index: 2 },
      "DeviceGetRegionIoFdsReply",
    );
    expect(none).toMatchObject({ argsz: 16, count: 0 });
    expect(IoeventfdFlags.DATAMATCH).toBe(1);
  });

  it("refuses a request whose flags or count is not 0 (the spec requires 0) with EINVAL, as libvfio-user does", async () => {
    const path = socketPath();
    track(await createServer({ socketPath: path, device: nic(newLog()) }));
    const client = await Client.spawn();
    await client.connect(path);
    // argsz 1024, flags 1, index 0, count 0 / argsz 1024, flags 0, index 0, count 1: as a sloppy peer writes them.
    for (const body of ["00040000010000000000000000000000", "00040000000000000000000001000000"]) {
      const bytes = new Uint8Array(Buffer.from(`07000600200000000000000000000000${body}`, "hex"));
      const r = await client.op<Reply>("raw", { bytes, msgId: 7 });
      expect(r.message).toMatchObject({ kind: "ErrorReply", errno: Errno.EINVAL });
      expect(r.fdNames).toEqual([]);
    }
    const q = { kind: "DeviceGetRegionIoFdsRequest", argsz: 1024, index: 0 } as const;
    expect(await client.errno({ ...q, count: 1 })).toBe(Errno.EINVAL);
    expect((await client.ok(q, "DeviceGetRegionIoFdsReply")).count).toBe(1); // the same request with zeros is served
  });
});

describe("REGION_WRITE_MULTI", () => {
  it("applies the writes in order when negotiated and reports how many completed", async () => {
    const path = socketPath();
    const log = newLog();
    track(await createServer({ socketPath: path, device: nic(log) }));
    const client = await Client.spawn();
    const v = await client.connect(path, { maxMsgFds: 4, writeMultiple: true });
    expect(v.message).toMatchObject({ capabilities: { writeMultiple: true } });
    const all = await client.ok(
      {
        kind: "RegionWriteMultiRequest",
        writes: [
          { offset: 0x300n, region: 0, data: le32(1) },
          { offset: 0x304n, region: 0, data: new Uint8Array([2, 0]) },
          { offset: 0x308n, region: 0, data: new Uint8Array(8).fill(3) },
        ],
      },
      "RegionWriteMultiReply",
    );
    expect(all.wrCnt).toBe(3n);
    expect(log.writes.map((w) => [w.offset, w.data.length])).toEqual([
      [0x300, 4],
      [0x304, 2],
      [0x308, 8],
    ]);
    const partial = await client.ok(
      {
        kind: "RegionWriteMultiRequest",
        writes: [
          { offset: 0x310n, region: 0, data: le32(1) },
          { offset: 0n, region: 42, data: le32(1) },
          { offset: 0x314n, region: 0, data: le32(1) },
        ],
      },
      "RegionWriteMultiReply",
    );
    expect(partial.wrCnt).toBe(1n);
  });
});

describe("what the client can receive", () => {
  it("a client that accepts no fds gets regions without MMAP, no io fds and no twin socket", async () => {
    const path = socketPath();
    track(await createServer({ socketPath: path, device: nic(newLog()) }));
    const client = await Client.spawn();
    const v = await client.connect(path, { maxMsgFds: 0, twinSocket: { supported: true } });
    expect(v.fdNames).toEqual([]);
    expect((v.message as { capabilities: { twinSocket?: unknown } }).capabilities.twinSocket).toBeUndefined();
    const info = await client.ok(
      { kind: "DeviceGetRegionInfoRequest", argsz: 128, index: 0 },
      "DeviceGetRegionInfoReply",
    );
    expect(info.flags).toBe(RegionInfoFlags.READ | RegionInfoFlags.WRITE);
    expect(info.capabilities).toEqual([]);
    expect(info.fdNames).toEqual([]);
    const io = await client.ok(
      { kind: "DeviceGetRegionIoFdsRequest", argsz: 1024, index: 0 },
      "DeviceGetRegionIoFdsReply",
    );
    expect(io).toMatchObject({ count: 0 });
  });

  it("DMA_MAP follows the negotiated page size", async () => {
    const path = socketPath();
    const reported: unknown[] = [];
    track(await createServer({ socketPath: path, device: nic(newLog()), onError: (e) => reported.push(e) }));
    const client = await Client.spawn();
    const v = await client.connect(path, { maxMsgFds: 4, pgsizes: 0x200000 });
    expect(v.message).toMatchObject({ capabilities: { pgsizes: 0x200000 } });
    const map = (address: bigint, size: bigint) =>
      client.call({ kind: "DmaMapRequest", argsz: 32, flags: 3, offset: 0n, address, size });
    expect((await map(0x1000n, 0x1000n)).message).toMatchObject({ kind: "ErrorReply", errno: 22 });
    expect((await map(0x200000n, 0x200000n)).message?.kind).toBe("DmaMapReply");
    // The refusal is reported (here, not as a process warning), naming the page size that was negotiated.
    expect(reported).toHaveLength(1);
    expect(isDmaMapError(reported[0])).toBe(true);
    expect(reported[0]).toMatchObject({
      iova: 0x1000n,
      size: 0x1000n,
      errno: 22,
    });
    expect((reported[0] as Error).message).toContain(
      "DMA_MAP iova 0x1000 size 0x1000 not aligned to the negotiated DMA page size 0x200000",
    );
  });
});

describe("device-specific regions", () => {
  it("serve regions from index 9 with their TYPE capability", async () => {
    const path = socketPath();
    let ctx!: DeviceContext;
    track(
      await createServer({
        socketPath: path,
        device: (c) => {
          ctx = c;
          return {
            pci: { vendorId: 1, deviceId: 2, classCode: 0 },
            regions: { 9: { size: 8192, memory: true, mmap: [], type: { type: 0x80008086, subtype: 1 } } },
          };
        },
      }),
    );
    const client = await Client.spawn();
    await client.connect(path);
    const info = await client.ok({ kind: "DeviceGetInfoRequest", argsz: 16 }, "DeviceGetInfoReply");
    expect(info.numRegions).toBe(10);
    const r = await client.ok({ kind: "DeviceGetRegionInfoRequest", argsz: 128, index: 9 }, "DeviceGetRegionInfoReply");
    expect(r).toMatchObject({
      argsz: 48,
      flags: RegionInfoFlags.READ | RegionInfoFlags.WRITE | RegionInfoFlags.CAPS,
      size: 8192n,
    });
    expect(r.capabilities).toEqual([expect.objectContaining({ kind: "Type", type: 0x80008086, subtype: 1 })]);
    await client.ok({ kind: "RegionWriteRequest", offset: 100n, region: 9, data: le32(0x55) }, "RegionWriteReply");
    expect(ctx.regionMemory(9)![100]).toBe(0x55);
  });
});
