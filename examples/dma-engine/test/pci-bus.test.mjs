// The engine found on emu's PCI bus through the vfio-user client's bus source, selected with DPDK-style arguments
// and taken by a driver registered by ID, exactly as the guest-side drivers of later issues will find their devices.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PciBus, parseSelectionArgs } from "@emu/mdev-pci";
import { VfioUserBusSource } from "@emu/vfio-user-client";
import { afterEach, describe, expect, it } from "vitest";
import { DESC } from "../device.mjs";
import { openEngine } from "../driver.mjs";
import { spawnEngine } from "./engine-process.mjs";

/** @type {(() => Promise<void>)[]} */
const cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startEngine(dir, name) {
  const socketPath = join(dir, name);
  await spawnEngine(socketPath, cleanups);
  return socketPath;
}

describe("the DMA engine on the PCI bus", () => {
  it("is listed by the vfio-user bus source, selected with -a, and probed by a driver matched by ID", async () => {
    const dir = mkdtempSync(join(tmpdir(), "emu-dma-bus-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const a = await startEngine(dir, "a.sock");
    const b = await startEngine(dir, "b.sock");
    const dead = join(dir, "nobody.sock");
    const bus = new PciBus([new VfioUserBusSource({ sockets: [a, b, dead] })]);
    cleanups.push(() => bus.close());

    const scan = await bus.scan();
    expect(scan.devices.map((d) => d.descriptor.address)).toEqual([
      { kind: "vfio-user", socketPath: a },
      { kind: "vfio-user", socketPath: b },
    ]);
    expect(scan.devices[0].descriptor).toMatchObject({ source: "vfio-user", vendorId: 0x1234, deviceId: 0x11ec });

    /** @type {string[]} */
    const probed = [];
    bus.registerDriver({
      name: "dma-engine",
      idTable: [{ vendorId: 0x1234, deviceId: 0x11ec }],
      async probe(device, { args }) {
        probed.push(`${device.address.socketPath} ring=${args.get("ring") ?? "-"}`);
        return openEngine(device, { ringIova: BigInt(args.get("ring") ?? "0x10000000") });
      },
      async remove(engine) {
        await engine.close();
      },
    });
    // Like dpdk-testpmd -a <dev>,ring=… --no-pci: only `a` is taken, with its driver argument; --no-pci leaves out
    // the host's kernel devices but not the application's vfio-user sockets. (-a and -b together are refused, as in
    // DPDK.)
    const { selection, rest } = parseSelectionArgs(["-a", `vfio-user:${a},ring=0x20000000`, "--no-pci", "--", "rest"]);
    expect(rest).toEqual(["--", "rest"]);
    const report = await bus.probe(selection);
    expect(report.failed).toEqual([]);
    expect(probed).toEqual([`${a} ring=0x20000000`]);
    expect(report.attached).toHaveLength(1);
    const { device, instance: engine, driver } = report.attached[0];
    expect(driver).toBe("dma-engine");

    // The attached device works: a copy between two DMA buffers completes with its interrupt.
    const src = await device.dmaMap(0x100000n, 0x1000n);
    const dst = await device.dmaMap(0x200000n, 0x1000n);
    src.bytes.set(Uint8Array.from({ length: 0x1000 }, (_, i) => (i * 7) & 0xff));
    expect(await engine.copy(0x100000n, 0x200000n, 0x1000)).toBe(DESC.DONE);
    expect(dst.bytes).toEqual(src.bytes);
    expect(engine.interrupts).toBe(1);

    await bus.detach(device.address);
    expect(bus.attached).toEqual([]);

    // Blocking one device instead: the other is taken.
    const blocked = await bus.probe(parseSelectionArgs(["-b", `vfio-user:${a}`]).selection);
    expect(blocked.attached.map((x) => x.device.address)).toEqual([{ kind: "vfio-user", socketPath: b }]);
  });
});
