// What QEMU 10.2 really sends to a vfio-user device (shared/fixtures/qemu-frames.json), replayed against emu_iavf in
// another process — its order, its DMA_MAP bursts and DMA layout, the MSI-X SET_IRQS pattern, the device's own BAR
// pages mapped back, FLR as a config write — adapted to the NIC (see fixtures/qemu-replay.ts): every step succeeds,
// and at every driver bind the iavf mailbox works over that guest memory, interrupts included.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterThisTest } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { serveIavf } from "./fixtures/harness.js";
import { QemuLike } from "./fixtures/qemu-like.js";
import { type FixtureSession, QemuReplay } from "./fixtures/qemu-replay.js";

const FIXTURES = join(import.meta.dirname, "..", "..", "..", "..", "shared", "fixtures");
const sessions: FixtureSession[] = JSON.parse(readFileSync(join(FIXTURES, "qemu-frames.json"), "utf8")).sessions;
const RAM = 0x2000_0000; // the 512 MiB the capture's guest had

const VERSION_1_1 = "0100000001000000";

describe.each([
  ["qemu-vs-emu-fd-ram", true],
  ["qemu-vs-emu-fdless-ram", false],
])("QEMU's requests (%s)", (name, withFd) => {
  it("every step succeeds; each driver bind brings the mailbox up with its interrupt", async () => {
    const session = sessions.find((s) => s.name === name);
    if (session === undefined) throw new Error(`no session ${name}`);
    const dev = await serveIavf(",queues=4,mac=02:00:00:00:00:01,link=up");
    const qemu = await QemuLike.connect(dev.sock, { size: RAM, withFd });
    afterThisTest(() => qemu.close());
    const report = await new QemuReplay(qemu, session).run();
    expect(report.failed).toEqual([]);
    expect(Object.keys(report.sent).sort()).toEqual([
      "DeviceGetInfoRequest",
      "DeviceGetIrqInfoRequest",
      "DeviceGetRegionInfoRequest",
      "DeviceResetRequest",
      "DeviceSetIrqsRequest",
      "DmaMapRequest",
      "DmaUnmapRequest",
      "RegionReadRequest",
      "RegionWriteRequest",
      "VersionRequest",
    ]);
    expect(report.flrs).toBe(2); // before each of the two restores of PCIe state the capture shows
    expect(Object.keys(report.skipped)).toEqual([
      "INTx SET_IRQS (no interrupt pin)",
      "config access to capability 0x1 (not ours)", // the DMA engine's power management capability
    ]);
    expect(report.bringUps).toHaveLength(4); // one per MSI-X enable with an eventfd
    for (const b of report.bringUps) {
      expect(b.version).toBe(VERSION_1_1);
      expect(b.resources).toBe(52);
      expect(b.interrupts).toBeGreaterThan(0n);
    }
    // Guest RAM without an fd is reached only by DMA_READ/DMA_WRITE, in QEMU's layout (served by QemuLike).
    if (withFd) expect(qemu.dma.reads + qemu.dma.writes).toBe(0);
    else expect(Math.min(qemu.dma.reads, qemu.dma.writes)).toBeGreaterThan(0);
    expect(await dev.ask<string[]>("errors")).toEqual([]);
  });
});
