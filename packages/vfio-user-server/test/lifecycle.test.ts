import { existsSync } from "node:fs";
import { type DecodedMsix, decodeConfigSpace } from "@emu/pci-config";
import { UnixServer } from "@emu/sys";
import { IrqSetFlags, PciIrq } from "@emu/vfio-user-proto";
import { createServer, type DeviceContext } from "@emu/vfio-user-server";
import { describe, expect, it } from "vitest";
import { NIC_DOORBELL_PAGE, newLog, nic } from "./fixtures/devices.js";
import { Client, fdCount, le32, socketPath, track, u32 } from "./fixtures/harness.js";

const R = 1;
const W = 2;

describe("reconnection", () => {
  it("a killed client loses its DMA mappings and IRQ eventfds; the device state stays for the next client", async () => {
    const path = socketPath();
    const log = newLog();
    const holder: { ctx?: DeviceContext } = {};
    const server = track(await createServer({ socketPath: path, device: nic(log, holder) }));
    const ctx = holder.ctx!;

    const first = await Client.spawn();
    await first.connect(path);
    await first.op("memfd", { name: "g", size: 0x2000 });
    await first.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x1000n, size: 0x2000n },
      "DmaMapReply",
      {
        fds: ["g"],
      },
    );
    await first.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x100000n, size: 0x1000n },
      "DmaMapReply",
    );
    await first.op("eventfd", { name: "intx" });
    await first.ok(
      {
        kind: "DeviceSetIrqsRequest",
        argsz: 20,
        flags: IrqSetFlags.DATA_EVENTFD | IrqSetFlags.ACTION_TRIGGER,
        index: 0,
        start: 0,
        count: 1,
      },
      "DeviceSetIrqsReply",
      { fds: ["intx"] },
    );
    // Guest-visible state: config space, a trapped register, the shared doorbell page, MSI-X table and PBA.
    await first.ok(
      { kind: "RegionWriteRequest", offset: 0x10n, region: 7, data: le32(0xfe000000) },
      "RegionWriteReply",
    );
    await first.ok(
      { kind: "RegionWriteRequest", offset: 4n, region: 7, data: new Uint8Array([6, 0]) },
      "RegionWriteReply",
    );
    await first.ok({ kind: "RegionWriteRequest", offset: 0x100n, region: 0, data: le32(0xabcd) }, "RegionWriteReply");
    ctx.regionMemory(0)!.set(le32(0x77), NIC_DOORBELL_PAGE);
    const cfg = await first.ok({ kind: "RegionReadRequest", offset: 0n, region: 7, count: 256 }, "RegionReadReply");
    const d = decodeConfigSpace(cfg.data);
    const msix = (d.ok ? d.value.capabilities.find((c) => c.kind === "msix") : undefined) as DecodedMsix;
    await first.ok(
      { kind: "RegionWriteRequest", offset: BigInt(msix.offset + 3), region: 7, data: new Uint8Array([0x80]) },
      "RegionWriteReply",
    );
    // The guest programs vector 3's table entry, masked: the table's masks now govern for this client.
    await first.ok(
      {
        kind: "RegionWriteRequest",
        offset: BigInt(msix.tableOffset + 3 * 16),
        region: msix.tableBar,
        data: new Uint8Array([0x00, 0x10, 0xe0, 0xfe, 0, 0, 0, 0, 0x43, 0, 0, 0, 1, 0, 0, 0]),
      },
      "RegionWriteReply",
    );
    expect(ctx.irq.trigger(3)).toBe("pending"); // masked vector: PBA bit
    expect(ctx.dma.regions()).toHaveLength(2);

    await first.kill();
    await server.disconnected();
    expect(ctx.dma.regions()).toEqual([]);
    expect(log.dmaUnmaps.sort((a, b) => Number(a - b))).toEqual([0x1000n, 0x100000n]);
    expect(log.disconnects).toBe(1);
    expect(ctx.irq.trigger(0, PciIrq.INTX)).toBe("dropped"); // its eventfd is gone
    expect(ctx.connected).toBe(false);

    const second = await Client.spawn();
    await second.connect(path);
    const read32 = async (region: number, offset: number) =>
      u32(
        (await second.ok({ kind: "RegionReadRequest", offset: BigInt(offset), region, count: 4 }, "RegionReadReply"))
          .data,
      );
    expect(await read32(7, 0x10)).toBe(0xfe000000);
    expect((await read32(7, 4)) & 0xffff).toBe(6);
    expect(await read32(0, 0x100)).toBe(0xabcd);
    expect(await read32(0, NIC_DOORBELL_PAGE)).toBe(0x77);
    expect((await read32(msix.pbaBar, msix.pbaOffset)) & 0xff).toBe(0b1000);
    expect(await read32(msix.tableBar, msix.tableOffset + 3 * 16 + 8)).toBe(0x43); // the table entry stays too
    expect(log.resets).toEqual([]); // unlike libvfio-user, no reset on reconnect
    expect(log.connects).toBe(2);
  });

  it("file descriptors return to their start after 100 connect/map/close cycles", async () => {
    const path = socketPath();
    const server = track(await createServer({ socketPath: path, device: nic(newLog()) }));
    const client = await Client.spawn();
    const before = fdCount();
    const clientBefore = await client.op<number>("fdCount");
    for (let i = 0; i < 100; i++) {
      const twin = i % 2 === 0;
      await client.connect(path, {
        maxMsgFds: 16,
        maxDataXferSize: 65536,
        ...(twin ? { twinSocket: { supported: true } } : {}),
      });
      await client.op("memfd", { name: "g", size: 0x4000 });
      await client.ok(
        { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x10000n, size: 0x4000n },
        "DmaMapReply",
        {
          fds: ["g"],
        },
      );
      for (let v = 0; v < 4; v++) await client.op("eventfd", { name: `v${v}` });
      await client.ok(
        {
          kind: "DeviceSetIrqsRequest",
          argsz: 20,
          flags: IrqSetFlags.DATA_EVENTFD | IrqSetFlags.ACTION_TRIGGER,
          index: PciIrq.MSIX,
          start: 0,
          count: 4,
        },
        "DeviceSetIrqsReply",
        { fds: ["v0", "v1", "v2", "v3"] },
      );
      const info = await client.ok(
        { kind: "DeviceGetRegionInfoRequest", argsz: 128, index: 0 },
        "DeviceGetRegionInfoReply",
      );
      expect(info.fdNames).toHaveLength(1);
      const io = await client.ok(
        { kind: "DeviceGetRegionIoFdsRequest", argsz: 1024, index: 0 },
        "DeviceGetRegionIoFdsReply",
      );
      expect(io.fdNames).toHaveLength(1);
      if (i % 3 === 0) {
        await client.ok(
          { kind: "DmaUnmapRequest", argsz: 24, flags: 0, address: 0x10000n, size: 0x4000n },
          "DmaUnmapReply",
        );
      }
      await client.op("disconnect");
      await client.op("closeAll");
      await server.disconnected();
    }
    expect(fdCount()).toBe(before);
    expect(await client.op("fdCount")).toBe(clientBefore); // and the harness did not leak either
  });
});

describe("socket path and shutdown", () => {
  it("replaces a stale socket file, refuses a live one, and close() unlinks the socket", async () => {
    const path = socketPath();
    const stale = UnixServer.listen(path, () => {});
    stale.close({ unlink: false });
    expect(existsSync(path)).toBe(true);
    const server = await createServer({ socketPath: path, device: nic(newLog()) });
    await expect(createServer({ socketPath: path, device: nic(newLog()) })).rejects.toMatchObject({
      reason: "SocketPath",
      cause: { code: "EADDRINUSE" },
    });
    const client = await Client.spawn();
    await client.connect(path);
    await server.close();
    expect(existsSync(path)).toBe(false);
    expect(await client.op("waitClosed", {})).toBe(true);
    await server.close(); // idempotent
  });

  it("refuses device descriptions it cannot serve with a tagged error", async () => {
    const path = socketPath();
    const base = { vendorId: 1, deviceId: 2, classCode: 0 };
    const bad = [
      { pci: { ...base, bars: [{ index: 0, kind: "memory32" as const, size: 3000 }] } },
      { pci: base, regions: { 0: {} } }, // BAR0 not in the PCI description
      { pci: base, regions: { 7: {} } }, // config space is the server's
      { pci: base, regions: { 9: { size: 4096 } } }, // device-specific without a type
      {
        pci: { ...base, bars: [{ index: 0, kind: "memory32" as const, size: 0x2000 }] },
        regions: { 0: { memory: true, mmap: [{ offset: 100, size: 4096 }] } }, // unaligned area
      },
      {
        pci: {
          ...base,
          bars: [{ index: 0, kind: "memory32" as const, size: 0x2000 }],
          capabilities: [
            { kind: "msix" as const, tableSize: 2, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x1000 },
          ],
        },
        regions: { 0: { memory: true } }, // the MSI-X table would be mmappable
      },
    ];
    for (const device of bad) {
      await expect(createServer({ socketPath: path, device })).rejects.toMatchObject({
        _tag: "VfioUserServerError",
        reason: "InvalidDevice",
      });
    }
    expect(existsSync(path)).toBe(false);
  });

  it("refuses descriptions QEMU or cloud-hypervisor would trip over", async () => {
    const path = socketPath();
    const base = { vendorId: 1, deviceId: 2, classCode: 0 };
    const refused = async (options: Omit<Parameters<typeof createServer>[0], "socketPath">, why: RegExp) =>
      expect(createServer({ socketPath: path, ...options })).rejects.toMatchObject({
        _tag: "VfioUserServerError",
        reason: "InvalidDevice",
        message: expect.stringMatching(why),
      });
    // QEMU sets up INTx for a device with an interrupt pin and fails to realize it when that fails.
    await refused(
      { device: { pci: { ...base, interruptPin: 1 }, irqs: { intx: 0 } } },
      /interruptPin 1 but irqs.intx is 0/,
    );
    await refused({ device: { pci: base, irqs: { intx: 1 } } }, /no interruptPin/);
    // cloud-hypervisor reads 0x100 of every PCIe device.
    await refused(
      { device: { pci: { ...base, capabilities: [{ kind: "pcie" }], configSpaceSize: 256 } } },
      /PCI Express capability needs 4096-byte config space/,
    );
    // QEMU reads the expansion ROM with one REGION_READ.
    await refused(
      { maxDataXferSize: 4096, device: { pci: { ...base, rom: { size: 8192 } } } },
      /expansion ROM \(8192 bytes\) is larger than maxDataXferSize \(4096\)/,
    );
    await refused({ dmaMessageLayout: "libvfio" as "spec", device: { pci: base } }, /dmaMessageLayout/);
    await refused({ migDataReadReply: "short" as "exact", device: { pci: base } }, /migDataReadReply/);
    expect(existsSync(path)).toBe(false);
    // The consistent variants are served.
    const ok = track(
      await createServer({
        socketPath: path,
        maxDataXferSize: 4096,
        device: { pci: { ...base, interruptPin: 2, rom: { size: 4096 }, capabilities: [{ kind: "pcie" }] } },
      }),
    );
    const client = await Client.spawn();
    await client.connect(path);
    const rom = await client.ok({ kind: "RegionReadRequest", offset: 0n, region: 6, count: 4096 }, "RegionReadReply");
    expect(rom.data.length).toBe(4096);
    expect(
      (await client.ok({ kind: "DeviceGetIrqInfoRequest", argsz: 16, index: 0 }, "DeviceGetIrqInfoReply")).count,
    ).toBe(1);
    await ok.close();
  });
});
