// The vfio-user bus source: the sockets an application names, listed and opened without the bus knowing the client.
import type { BusSource } from "@emu/vfio-device";
import { VfioUserBusSource, type VfioUserClientError } from "@emu/vfio-user-client";
import { PciRegion } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { startDevice } from "./helpers.js";

describe("VfioUserBusSource", () => {
  it("scans the sockets it was given, skips the dead ones, opens devices as VfioDevice", async () => {
    const a = await startDevice();
    const b = await startDevice();
    const errors: [string, VfioUserClientError][] = [];
    const source: BusSource = new VfioUserBusSource({
      sockets: [a.socketPath, "/nonexistent/dead.sock", b.socketPath],
      connect: { connectTimeoutMs: 100 },
      onScanError: (path, err) => errors.push([path, err]),
    });
    expect(source.name).toBe("vfio-user");
    const found = await source.scan();
    expect(found).toEqual(
      [a, b].map((d) => ({
        address: { kind: "vfio-user", socketPath: d.socketPath },
        source: "vfio-user",
        vendorId: 0x1234,
        deviceId: 0x11ed,
        classCode: 0x088000,
        revision: 2,
        subsystemVendorId: 0x1234,
        subsystemDeviceId: 0x0001,
        description: "System peripheral",
      })),
    );
    expect(errors.map(([p, e]) => [p, e.reason, e.code])).toEqual([
      ["/nonexistent/dead.sock", "Disconnected", "ENOENT"],
    ]);
    // Scanning left no client connected: the device accepts a new one at once.
    expect(source.handles({ kind: "vfio-user", socketPath: a.socketPath })).toBe(true);
    expect(source.handles({ kind: "vfio-user", socketPath: "/elsewhere.sock" })).toBe(false);
    expect(source.handles({ kind: "mdev", uuid: "c0ffee00-1234-5678-9abc-def012345678" })).toBe(false);
    const dev = await source.open({ kind: "vfio-user", socketPath: a.socketPath });
    try {
      expect([...(await dev.regionRead(PciRegion.CONFIG, 0n, 4))]).toEqual([0x34, 0x12, 0xed, 0x11]);
    } finally {
      await dev.close();
    }
    await expect(source.open({ kind: "vfio-user", socketPath: "/elsewhere.sock" })).rejects.toMatchObject({
      reason: "InvalidArgument",
    });
  });

  it("openAny opens vfio-user addresses it was not given", async () => {
    const a = await startDevice();
    const source = new VfioUserBusSource({ sockets: [], openAny: true });
    expect(await source.scan()).toEqual([]);
    const dev = await source.open({ kind: "vfio-user", socketPath: a.socketPath });
    expect((await dev.getInfo()).pci).toBe(true);
    await dev.close();
  });
});
