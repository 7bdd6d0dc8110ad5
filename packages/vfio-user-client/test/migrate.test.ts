// migrateDevice between two server processes (test/fixtures/device-server.ts, whose state is BAR0's first page):
// pre-copy and stop-and-copy move the state, the PCI command register and MSI-X table follow (written while the
// destination still resumes, where the caller assigns its eventfds), the source is stopped and the destination runs;
// a vector pending at the source (masked, raised) is pending at the destination and fires there when unmasked; a
// destination that refuses the stream leaves the source running. After a migration the source's connection closes
// keeping the DMA memory the destination shares: the source's server sees its client go.

import { decodeConfigSpace } from "@emu/pci-config";
import { until } from "@emu/test-kit";
import { enableMsix } from "@emu/vfio-device";
import { migrateDevice, VfioUserClient } from "@emu/vfio-user-client";
import { MigrationState, PciIrq } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { connect, startDevice } from "./helpers.js";

const MSIX_TABLE = 0x800n; // BAR2, TESTDEV.msixTable
const MSIX_PBA = 0xc00n; // BAR2, TESTDEV.msixPba (4 vectors: one QWORD)
const state = Uint8Array.from({ length: 0x1000 }, (_, i) => (i * 7 + 3) & 0xff);

async function twoDevices(
  destinationOptions: Record<string, unknown> = {},
  sourceOptions: Record<string, unknown> = {},
) {
  const [a, b] = await Promise.all([startDevice(sourceOptions), startDevice(destinationOptions)]);
  const [src, dst] = await Promise.all([connect(a.socketPath), connect(b.socketPath)]);
  await src.regionWrite(0, 0n, state);
  await src.regionWrite(7, 4n, Uint8Array.of(0x06, 0x00)); // memory space + bus master
  const entry = Uint8Array.of(0x00, 0x10, 0xe0, 0xfe, 0, 0, 0, 0, 0x31, 0x40, 0, 0, 0, 0, 0, 0);
  await src.regionWrite(2, MSIX_TABLE + 16n, entry); // vector 1: address and data, unmasked
  return { a, b, src, dst, entry };
}

describe("migrateDevice", () => {
  it("moves the device state with pre-copy and stop-and-copy; the source stops, the destination runs", async () => {
    const { b, src, dst, entry } = await twoDevices();
    const calls: string[] = [];
    let ranUntil = 0;
    const r = await migrateDevice(src, dst, {
      whileRunning: async () => {
        calls.push(`running ${await src.getMigrationState()}`);
        ranUntil = performance.now();
      },
      whileResuming: async () => {
        const table = await dst.regionRead(2, MSIX_TABLE + 16n, 16);
        calls.push(`resuming ${await dst.getMigrationState()}, MSI-X table ${table.every((b, i) => b === entry[i])}`);
      },
      whileStopped: async () => {
        calls.push(`stopped ${await dst.getMigrationState()}`);
      },
    });
    expect(r.usedPreCopy).toBe(true);
    expect(r.preCopyBytes).toBe(0x800);
    expect(r.deviceStateBytes).toBe(0x800);
    expect(r.downtimeMs).toBeGreaterThan(0);
    expect(r.stoppedAt).toBeGreaterThanOrEqual(ranUntil); // the stop comes after the caller's copy while running
    expect(r.stoppedAt + r.downtimeMs).toBeLessThanOrEqual(performance.now());
    expect(calls).toEqual([
      `running ${MigrationState.PRE_COPY}`,
      `resuming ${MigrationState.RESUMING}, MSI-X table true`,
      `stopped ${MigrationState.STOP}`,
    ]);
    expect(await src.getMigrationState()).toBe(MigrationState.STOP);
    expect(await dst.getMigrationState()).toBe(MigrationState.RUNNING);
    expect(await dst.regionRead(0, 0n, 0x1000)).toEqual(state);
    expect((await dst.regionRead(7, 4n, 2))[0]! & 0x06).toBe(0x06);
    expect(await dst.regionRead(2, MSIX_TABLE + 16n, 16)).toEqual(entry);
    expect((await b.call<{ migrationIn: number }>("log")).migrationIn).toBe(0x1000);
  });

  it("a vector pending at the source is pending at the destination, and fires there when the guest unmasks it", async () => {
    const { a, src, dst } = await twoDevices();
    // The guest enables MSI-X with vector 2 left masked; the device raises it: a bit in the source's PBA.
    await enableMsix(src, [0, 1, 3]);
    await src.enableIrqs(PciIrq.MSIX, 0, 4, () => undefined);
    expect(await a.call("trigger", { vector: 2, index: PciIrq.MSIX })).toBe("pending");
    expect(Array.from(await src.regionRead(2, MSIX_PBA, 8))).toEqual([4, 0, 0, 0, 0, 0, 0, 0]);
    const fired: number[] = [];
    await migrateDevice(src, dst, {
      whileResuming: async () => {
        await dst.enableIrqs(PciIrq.MSIX, 0, 4, (v) => fired.push(v));
      },
    });
    expect(Array.from(await dst.regionRead(2, MSIX_PBA, 8))).toEqual([4, 0, 0, 0, 0, 0, 0, 0]);
    await new Promise((r) => setTimeout(r, 50));
    expect(fired).toEqual([]); // still masked: held
    await dst.regionWrite(2, MSIX_TABLE + 2n * 16n + 12n, new Uint8Array(4)); // the guest unmasks vector 2
    await until(() => fired.length > 0, 5000, "vector 2 on the destination's eventfd");
    expect(fired).toEqual([2]);
    expect(Array.from(await dst.regionRead(2, MSIX_PBA, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("a client that never wrote the MSI-X table (as QEMU) still gets its interrupts at the destination", async () => {
    const [a, b] = await Promise.all([startDevice(), startDevice()]);
    const [src, dst] = await Promise.all([connect(a.socketPath), connect(b.socketPath)]);
    // MSI-X enabled in config space and eventfds assigned, the table never written (the VMM emulates it).
    const config = await src.regionRead(7, 0n, 256);
    const msix = decodeConfigSpace(config);
    if (!msix.ok) throw msix.error;
    const cap = msix.value.capabilities.find((c) => c.kind === "msix")!;
    await src.regionWrite(7, BigInt(cap.offset + 2), Uint8Array.of(0x00, 0x80)); // MSI-X Enable
    const before: number[] = [];
    await src.enableIrqs(PciIrq.MSIX, 0, 4, (v) => before.push(v));
    expect(await a.call("trigger", { vector: 1, index: PciIrq.MSIX })).toBe("delivered");
    const fired: number[] = [];
    await migrateDevice(src, dst, {
      whileResuming: async () => {
        await dst.enableIrqs(PciIrq.MSIX, 0, 4, (v) => fired.push(v));
      },
    });
    // Had the source's untouched table (every vector masked) been written there, the destination would hold it.
    expect(await b.call("trigger", { vector: 1, index: PciIrq.MSIX })).toBe("delivered");
    await until(() => fired.length > 0, 5000, "vector 1 on the destination's eventfd");
    expect(fired).toEqual([1]);
  });

  it("without pre-copy: all of the state in STOP_COPY", async () => {
    const { src, dst } = await twoDevices();
    const r = await migrateDevice(src, dst, { preCopy: false });
    expect(r).toMatchObject({ usedPreCopy: false, preCopyBytes: 0, deviceStateBytes: 0x1000 });
    expect(await dst.regionRead(0, 0n, 0x1000)).toEqual(state);
  });

  it("pre-copy when both ends offer it: a destination without PRE_COPY gets all of the state in STOP_COPY", async () => {
    const { a, src, dst } = await twoDevices({ preCopy: false });
    const r = await migrateDevice(src, dst);
    expect(r).toMatchObject({ usedPreCopy: false, preCopyBytes: 0, deviceStateBytes: 0x1000 });
    const { transitions } = await a.call<{ transitions: [number, number][] }>("log");
    expect(transitions.some(([, to]) => to === MigrationState.PRE_COPY)).toBe(false); // the source never pre-copied
    expect(await dst.regionRead(0, 0n, 0x1000)).toEqual(state);
  });

  it("pre-copy reads until the source has nothing left: short reads do not end it, an empty one does", async () => {
    const { src, dst } = await twoDevices({}, { preCopyPiece: 0x100 }); // 0x800 bytes of pre-copy in 8 short reads
    const r = await migrateDevice(src, dst);
    expect(r).toMatchObject({ usedPreCopy: true, preCopyBytes: 0x800, deviceStateBytes: 0x800 });
    expect(await dst.regionRead(0, 0n, 0x1000)).toEqual(state);
  });

  it("a source whose transfer size is below 64 KiB: its full reads are not taken for the end", async () => {
    const { a, src: first, dst } = await twoDevices();
    await first.close();
    const src = await connect(a.socketPath, { maxDataXferSize: 0x300 }); // reads of 0x300 bytes at most
    const r = await migrateDevice(src, dst);
    expect(r).toMatchObject({ usedPreCopy: true, preCopyBytes: 0x800, deviceStateBytes: 0x800 });
    expect(await dst.regionRead(0, 0n, 0x1000)).toEqual(state);
  });

  it("pre-copy is bounded (1024 reads): a source that keeps handing data out finishes in STOP_COPY", async () => {
    const { src, dst } = await twoDevices({}, { preCopyPiece: 1 }); // 2048 reads of pre-copy data on offer
    const r = await migrateDevice(src, dst);
    expect(r).toMatchObject({ usedPreCopy: true, preCopyBytes: 1024, deviceStateBytes: 0x1000 - 1024 });
    expect(await dst.regionRead(0, 0n, 0x1000)).toEqual(state);
  });

  it("a destination that refuses the stream: rejected naming the step, the source runs again", async () => {
    const { src, dst } = await twoDevices({ refuseResume: true });
    await expect(migrateDevice(src, dst)).rejects.toThrow(
      "migration failed at restoring the device state at the destination",
    );
    expect(await src.getMigrationState()).toBe(MigrationState.RUNNING);
    expect(await src.regionRead(0, 0n, 0x1000)).toEqual(state);
  });

  it("the source closes keeping its DMA memory: still mapped here, its server free for a new client", async () => {
    const { a, src, dst } = await twoDevices();
    const mem = await src.dmaMap(0x10000n, 0x4000n);
    mem.bytes.fill(0x5a);
    const file = mem.file as { fd: number; offset: bigint };
    await dst.dmaMap(0x10000n, 0x4000n, { file });
    await migrateDevice(src, dst);
    const kept = await src.closeKeepingMemory();
    expect(src.connected).toBe(false);
    expect(mem.bytes.length).toBe(0x4000); // the memory outlives the connection
    expect(mem.bytes.every((b) => b === 0x5a)).toBe(true);
    const back = await VfioUserClient.connect(a.socketPath); // one client at a time: the old one is gone
    await back.close();
    expect((await a.call<{ disconnects: number }>("log")).disconnects).toBeGreaterThanOrEqual(1);
    kept.release();
    kept.release(); // once
    expect(mem.bytes.length).toBe(0);
    expect(await dst.getMigrationState()).toBe(MigrationState.RUNNING);
  });
});
