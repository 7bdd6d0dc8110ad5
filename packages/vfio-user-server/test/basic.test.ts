import { statSync } from "node:fs";
import { decodeConfigSpace } from "@emu/pci-config";
import { until } from "@emu/test-kit";
import {
  DeviceFlags,
  encodeMessage,
  IrqInfoFlags,
  PciIrq,
  RegionInfoFlags,
  type SparseMmapCapability,
  type VersionReply,
} from "@emu/vfio-user-proto";
import { createServer } from "@emu/vfio-user-server";
import { describe, expect, it } from "vitest";
import { NIC_BAR0, NIC_DOORBELL_PAGE, newLog, nic } from "./fixtures/devices.js";
import { Client, le32, socketPath, track, u32 } from "./fixtures/harness.js";

async function setup() {
  const path = socketPath();
  const log = newLog();
  const holder: { ctx?: import("@emu/vfio-user-server").DeviceContext } = {};
  const server = track(await createServer({ socketPath: path, device: nic(log, holder) }));
  const client = await Client.spawn();
  return { path, log, server, client, ctx: () => holder.ctx! };
}

describe("VERSION", () => {
  it("answers major 0 with the lower minor and our capabilities; the socket file is 0600", async () => {
    const { path, client } = await setup();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const r = await client.connect(path, { maxMsgFds: 8, maxDataXferSize: 4096 }, { minor: 0 });
    expect(r.message).toMatchObject({
      kind: "VersionReply",
      major: 0,
      minor: 0,
      capabilities: { maxMsgFds: 16, maxDataXferSize: 1048576 },
    });
    // Only what the client proposed beyond the two limits.
    const caps = (r.message as unknown as { capabilities: Record<string, unknown> }).capabilities;
    expect(caps.twinSocket).toBeUndefined();
    expect(caps.writeMultiple).toBeUndefined();
    expect(r.fdNames).toEqual([]);
  });

  it("answers QEMU's proposal within the bounds QEMU's client checks, in a reply no larger than its request", async () => {
    // QEMU 10.1 (hw/vfio-user/proxy.c): version 0.0 and this capability set; it rejects max_msg_fds > 16,
    // max_data_xfer_size > 64 MiB, max_dma_maps > 65535, pgsizes below 4 KiB, and reads the reply into a buffer the
    // size of its own request.
    const { path, client } = await setup();
    const jsonText =
      '{"capabilities":{"max_msg_fds":16,"max_data_xfer_size":1048576,"pgsizes":4096,"max_dma_maps":65535,' +
      '"migration":{"pgsize":4096,"max_bitmap_size":268435456},"write_multiple":true}}';
    const r = await client.connect(path, {}, { minor: 0, jsonText });
    const m = r.message as unknown as VersionReply;
    expect(m).toMatchObject({ kind: "VersionReply", major: 0, minor: 0 });
    const c = m.capabilities;
    expect(c.maxMsgFds).toBeGreaterThanOrEqual(1);
    expect(c.maxMsgFds).toBeLessThanOrEqual(16);
    expect(c.maxDataXferSize).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(c.maxDmaMaps).toBeLessThanOrEqual(65535);
    expect(c.pgsizes! & 0xfff).toBe(0);
    expect(c.pgsizes! & 0x1000).toBe(0x1000);
    const request = 16 + 4 + new TextEncoder().encode(jsonText).length + 1; // + the NUL
    expect(encodeMessage(m, { msgId: 1 }).length).toBeLessThanOrEqual(request);
  });

  it("caps the minor at 2 and answers the optional capabilities the client proposed", async () => {
    const { path, client } = await setup();
    const r = await client.connect(
      path,
      { maxMsgFds: 4, maxDataXferSize: 65536, maxDmaMaps: 10, pgsizes: 0x1000 | 0x2000, writeMultiple: true },
      { minor: 7 },
    );
    expect(r.message).toMatchObject({
      kind: "VersionReply",
      minor: 2,
      capabilities: { maxDmaMaps: 10, pgsizes: 0x1000, writeMultiple: true },
    });
  });

  it("rejects a second VERSION", async () => {
    const { path, client } = await setup();
    await client.connect(path);
    expect(await client.errno({ kind: "VersionRequest", major: 0, minor: 2, capabilities: {} })).toBe(22);
  });

  it("closes the connection for an unsupported major", async () => {
    const { path, client } = await setup();
    const r = await client.connect(path, {}, { major: 1 });
    expect(r.message).toMatchObject({ kind: "ErrorReply", errno: 95 });
    expect(await client.op("waitClosed", {})).toBe(true);
  });
});

describe("device info, regions, IRQ info", () => {
  it("DEVICE_GET_INFO: PCI, resettable, 9 regions, 5 IRQ types", async () => {
    const { path, client } = await setup();
    await client.connect(path);
    const info = await client.ok({ kind: "DeviceGetInfoRequest", argsz: 16 }, "DeviceGetInfoReply");
    expect(info).toMatchObject({ argsz: 16, flags: DeviceFlags.RESET | DeviceFlags.PCI, numRegions: 9, numIrqs: 5 });
  });

  it("GET_REGION_INFO: BAR0 with a sparse mmap area and its fd after an argsz retry", async () => {
    const { path, client, ctx } = await setup();
    await client.connect(path);
    const short = await client.ok(
      { kind: "DeviceGetRegionInfoRequest", argsz: 32, index: 0 },
      "DeviceGetRegionInfoReply",
    );
    expect(short.argsz).toBe(32 + 32);
    expect(short.flags & RegionInfoFlags.CAPS).toBe(0);
    expect(short.capabilities).toEqual([]);
    expect(short.fdNames).toEqual([]);
    const full = await client.ok(
      { kind: "DeviceGetRegionInfoRequest", argsz: short.argsz, index: 0 },
      "DeviceGetRegionInfoReply",
    );
    expect(full.flags).toBe(RegionInfoFlags.READ | RegionInfoFlags.WRITE | RegionInfoFlags.MMAP | RegionInfoFlags.CAPS);
    expect(full.size).toBe(BigInt(NIC_BAR0));
    expect(full.capabilities).toEqual([
      expect.objectContaining({ kind: "SparseMmap", areas: [{ offset: BigInt(NIC_DOORBELL_PAGE), size: 0x1000n }] }),
    ]);
    expect(full.fdNames).toHaveLength(1);
    // The client maps the area and writes a doorbell: the device sees it without any message.
    const area = (full.capabilities[0] as SparseMmapCapability).areas[0]!;
    await client.op("mapFd", { name: full.fdNames[0], as: "bar0", offset: Number(area.offset), size: 0x1000 });
    await client.op("memWrite", { name: "bar0", offset: 0x10, data: le32(0xcafe) });
    const mem = ctx().regionMemory(0)!;
    await until(() => u32(mem, NIC_DOORBELL_PAGE + 0x10) === 0xcafe);
    // And the other way: the device's memory is what the client maps.
    mem.set(le32(0x1234), NIC_DOORBELL_PAGE + 0x20);
    expect(u32(await client.op<Uint8Array>("memRead", { name: "bar0", offset: 0x20, length: 4 }))).toBe(0x1234);
    // REGION_READ of the mmapped area serves the same memory.
    const rr = await client.ok(
      { kind: "RegionReadRequest", offset: BigInt(NIC_DOORBELL_PAGE + 0x10), region: 0, count: 4 },
      "RegionReadReply",
    );
    expect(u32(rr.data)).toBe(0xcafe);
  });

  it("GET_REGION_INFO: config space, unused BARs, a 9th region that does not exist", async () => {
    const { path, client } = await setup();
    await client.connect(path);
    const cfg = await client.ok(
      { kind: "DeviceGetRegionInfoRequest", argsz: 32, index: 7 },
      "DeviceGetRegionInfoReply",
    );
    expect(cfg).toMatchObject({ flags: RegionInfoFlags.READ | RegionInfoFlags.WRITE, size: 4096n, argsz: 32 });
    const bar1 = await client.ok(
      { kind: "DeviceGetRegionInfoRequest", argsz: 32, index: 1 },
      "DeviceGetRegionInfoReply",
    );
    expect(bar1).toMatchObject({ flags: 0, size: 0n });
    const bar2 = await client.ok(
      { kind: "DeviceGetRegionInfoRequest", argsz: 32, index: 2 },
      "DeviceGetRegionInfoReply",
    );
    expect(bar2).toMatchObject({ flags: RegionInfoFlags.READ | RegionInfoFlags.WRITE, size: 0x1000n });
    expect(await client.errno({ kind: "DeviceGetRegionInfoRequest", argsz: 32, index: 9 })).toBe(22);
  });

  it("GET_IRQ_INFO: counts from the PCI description", async () => {
    const { path, client } = await setup();
    await client.connect(path);
    const counts: number[] = [];
    const flags: number[] = [];
    for (let index = 0; index < 5; index++) {
      const r = await client.ok({ kind: "DeviceGetIrqInfoRequest", argsz: 16, index }, "DeviceGetIrqInfoReply");
      counts.push(r.count);
      flags.push(r.flags);
    }
    expect(counts).toEqual([1, 4, 4, 1, 1]);
    expect(flags[PciIrq.INTX]).toBe(IrqInfoFlags.EVENTFD | IrqInfoFlags.MASKABLE | IrqInfoFlags.AUTOMASKED);
    expect(flags[PciIrq.ERR]).toBe(IrqInfoFlags.EVENTFD);
    expect(await client.errno({ kind: "DeviceGetIrqInfoRequest", argsz: 16, index: 5 })).toBe(22);
  });
});

describe("region access", () => {
  it("trapped REGION_WRITE/READ reach the device callbacks; NO_REPLY writes are applied in order", async () => {
    const { path, client, log } = await setup();
    await client.connect(path);
    const w = await client.ok(
      { kind: "RegionWriteRequest", offset: 0x100n, region: 0, data: le32(0xdeadbeef) },
      "RegionWriteReply",
    );
    expect(w).toMatchObject({ offset: 0x100n, region: 0, count: 4 });
    expect(log.writes).toEqual([{ offset: 0x100, data: [0xef, 0xbe, 0xad, 0xde] }]);
    await client.call({ kind: "RegionWriteRequest", offset: 0x104n, region: 0, data: le32(7) }, { flags: 0x10 });
    const r = await client.ok({ kind: "RegionReadRequest", offset: 0x100n, region: 0, count: 8 }, "RegionReadReply");
    expect([...r.data]).toEqual([0xef, 0xbe, 0xad, 0xde, 7, 0, 0, 0]);
  });

  it("an access straddling an mmap-area boundary is split: the area's bytes reach the shared memory", async () => {
    const { path, client, log, ctx } = await setup();
    await client.connect(path);
    const data = Uint8Array.from({ length: 0x20 }, (_, i) => i + 1);
    await client.ok(
      { kind: "RegionWriteRequest", offset: BigInt(NIC_DOORBELL_PAGE - 0x10), region: 0, data },
      "RegionWriteReply",
    );
    expect(log.writes).toEqual([{ offset: NIC_DOORBELL_PAGE - 0x10, data: [...data.subarray(0, 16)] }]);
    expect([
      ...ctx()
        .regionMemory(0)!
        .subarray(NIC_DOORBELL_PAGE, NIC_DOORBELL_PAGE + 4),
    ]).toEqual([17, 18, 19, 20]);
    const r = await client.ok(
      { kind: "RegionReadRequest", offset: BigInt(NIC_DOORBELL_PAGE - 0x10), region: 0, count: 0x20 },
      "RegionReadReply",
    );
    expect(r.data).toEqual(data);
  });

  it("pipelined accesses are answered in order", async () => {
    const { path, client } = await setup();
    await client.connect(path);
    const calls = [];
    for (let i = 0; i < 64; i++) {
      calls.push({ message: { kind: "RegionWriteRequest", offset: BigInt(0x200 + 4 * i), region: 0, data: le32(i) } });
      calls.push({ message: { kind: "RegionReadRequest", offset: BigInt(0x200 + 4 * i), region: 0, count: 4 } });
    }
    const replies = await client.op<{ message: { kind: string; data?: Uint8Array } }[]>("batch", { calls });
    for (let i = 0; i < 64; i++) expect(u32(replies[2 * i + 1]!.message.data!)).toBe(i);
  });

  it("pipelined replies leave together, and a reply with an fd still gets exactly its own fd", async () => {
    const { path, client } = await setup();
    await client.connect(path);
    const info = { kind: "DeviceGetRegionInfoRequest", argsz: 128, index: 0 };
    const read = { kind: "RegionReadRequest", offset: 0n, region: 7, count: 4 };
    const calls = [info, read, read, info, read, info, info, read].map((message) => ({ message }));
    const replies = await client.op<{ message: { kind: string }; fdNames: string[] }[]>("batch", { calls });
    expect(replies.map((r) => [r.message.kind, r.fdNames.length])).toEqual([
      ["DeviceGetRegionInfoReply", 1],
      ["RegionReadReply", 0],
      ["RegionReadReply", 0],
      ["DeviceGetRegionInfoReply", 1],
      ["RegionReadReply", 0],
      ["DeviceGetRegionInfoReply", 1],
      ["DeviceGetRegionInfoReply", 1],
      ["RegionReadReply", 0],
    ]);
  });

  it("a count-0 read answers the access head with no data", async () => {
    const { path, client } = await setup();
    await client.connect(path);
    const r = await client.call({ kind: "RegionReadRequest", offset: 0n, region: 0, count: 0 });
    expect(r.size).toBe(32);
    expect(r.message).toMatchObject({ kind: "RegionReadReply", region: 0, data: new Uint8Array(0) });
  });
});

describe("config space", () => {
  it("reads the built config space and sizes BARs as hardware does", async () => {
    const { path, client, ctx } = await setup();
    await client.connect(path);
    const cfg = await client.ok({ kind: "RegionReadRequest", offset: 0n, region: 7, count: 256 }, "RegionReadReply");
    const d = decodeConfigSpace(cfg.data);
    expect(d.ok && d.value.vendorId).toBe(0x8086);
    expect(d.ok && d.value.capabilities.map((c) => c.kind)).toEqual(["pm", "msi", "msix", "pcie"]);

    const write32 = (offset: number, v: number) =>
      client.ok({ kind: "RegionWriteRequest", offset: BigInt(offset), region: 7, data: le32(v) }, "RegionWriteReply");
    const read32 = async (offset: number) =>
      u32(
        (await client.ok({ kind: "RegionReadRequest", offset: BigInt(offset), region: 7, count: 4 }, "RegionReadReply"))
          .data,
      );
    await write32(0x10, 0xffffffff);
    expect(await read32(0x10)).toBe(0xffff0000); // BAR0: 64 KiB, memory32
    await write32(0x18, 0xffffffff);
    await write32(0x1c, 0xffffffff);
    expect(await read32(0x18)).toBe(0xfffff00c); // BAR2: 4 KiB, 64-bit prefetchable
    expect(await read32(0x1c)).toBe(0xffffffff);
    await write32(0x14, 0xffffffff);
    expect(await read32(0x14)).toBe(0); // BAR1 unimplemented
    await write32(0x10, 0xfe000000);
    expect(ctx().config.barAddress(0)).toBe(0xfe000000n);
    // Read-only identity: the write is accepted (as on hardware) and ignored.
    await write32(0x00, 0x11223344);
    expect(await read32(0x00)).toBe(0x18898086);
    // COMMAND
    await client.ok(
      { kind: "RegionWriteRequest", offset: 4n, region: 7, data: new Uint8Array([6, 0]) },
      "RegionWriteReply",
    );
    expect(ctx().config.busMaster).toBe(true);
  });

  it("a PCIe FLR written to DEVCTL resets the device", async () => {
    const { path, client, log } = await setup();
    await client.connect(path);
    const cfg = await client.ok({ kind: "RegionReadRequest", offset: 0n, region: 7, count: 256 }, "RegionReadReply");
    const d = decodeConfigSpace(cfg.data);
    const exp = d.ok ? d.value.capabilities.find((c) => c.kind === "pcie") : undefined;
    expect(exp).toBeDefined();
    await client.ok(
      { kind: "RegionWriteRequest", offset: BigInt(exp!.offset + 8), region: 7, data: new Uint8Array([0, 0x80]) },
      "RegionWriteReply",
    );
    expect(log.resets).toEqual(["flr"]);
  });
});

describe("DEVICE_RESET", () => {
  it("calls the device's reset and restores config space", async () => {
    const { path, client, log, ctx } = await setup();
    await client.connect(path);
    await client.ok(
      { kind: "RegionWriteRequest", offset: 4n, region: 7, data: new Uint8Array([6, 0]) },
      "RegionWriteReply",
    );
    expect(ctx().config.command).toBe(6);
    await client.ok({ kind: "DeviceResetRequest" }, "DeviceResetReply");
    expect(log.resets).toEqual(["client"]);
    expect(ctx().config.command).toBe(0);
  });
});
