import { isVfioDeviceError, mappableAreas, RegionIo } from "@emu/vfio-device";
import { describe, expect, it } from "vitest";
import { MemoryDevice, sparseRegion } from "./fixtures/memory-device.js";

describe("mappableAreas", () => {
  it("is the sparse areas, the whole region, or nothing", () => {
    const sparse = sparseRegion(0x4000n, [
      [0n, 0x1000n],
      [0x2000n, 0x1000n],
      [0x3000n, 0n],
    ]);
    expect(mappableAreas(sparse)).toEqual([
      { offset: 0n, size: 0x1000n },
      { offset: 0x2000n, size: 0x1000n },
    ]);
    const { sparseAreas: _, ...whole } = sparse;
    expect(mappableAreas(whole)).toEqual([{ offset: 0n, size: 0x4000n }]);
    expect(mappableAreas({ ...whole, mmappable: false })).toEqual([]);
  });
});

describe("RegionIo", () => {
  // BAR layout like libvfio-user's sample BAR1: [0,0x1000) mapped, [0x1000,0x2000) gap, [0x2000,0x3000) mapped.
  const region = () =>
    sparseRegion(0x4000n, [
      [0n, 0x1000n],
      [0x2000n, 0x1000n],
    ]);

  it("serves accesses inside mapped areas from memory, without the slow path", async () => {
    const dev = new MemoryDevice(region());
    const io = await RegionIo.open(dev, 0);
    await io.write32(0x10n, 0xdeadbeef);
    await io.write64(0x2008n, 0x0123456789abcdefn);
    expect(await io.read32(0x10n)).toBe(0xdeadbeef);
    expect(await io.read64(0x2008n)).toBe(0x0123456789abcdefn);
    expect(Array.from(dev.memory.subarray(0x10, 0x14))).toEqual([0xef, 0xbe, 0xad, 0xde]);
    expect(dev.slowReads).toEqual([]);
    expect(dev.slowWrites).toEqual([]);
    expect(io.isMapped(0x2000n, 0x1000)).toBe(true);
    expect(io.isMapped(0xffcn, 8)).toBe(false);
  });

  it("serves the gaps through the slow path", async () => {
    const dev = new MemoryDevice(region());
    const io = await RegionIo.open(dev, 0);
    await io.write16(0x1800n, 0xbeef);
    await io.write8(0x3fffn, 0x5a);
    expect(await io.read16(0x1800n)).toBe(0xbeef);
    expect(await io.read8(0x3fffn)).toBe(0x5a);
    expect(dev.slowWrites).toEqual([
      [0x1800n, 2],
      [0x3fffn, 1],
    ]);
    expect(dev.slowReads).toEqual([
      [0x1800n, 2],
      [0x3fffn, 1],
    ]);
  });

  it("splits an access that crosses area boundaries", async () => {
    const dev = new MemoryDevice(region());
    const io = await RegionIo.open(dev, 0);
    const data = Uint8Array.from({ length: 0x2010 }, (_, i) => i & 0xff);
    await io.write(0xff8n, data); // 8 mapped, 0x1000 gap, 0x1000 mapped, 8 gap
    expect(dev.slowWrites).toEqual([
      [0x1000n, 0x1000],
      [0x3000n, 8],
    ]);
    expect(await io.read(0xff8n, data.length)).toEqual(data);
    expect(dev.slowReads).toEqual([
      [0x1000n, 0x1000],
      [0x3000n, 8],
    ]);
  });

  it("refuses accesses outside the region with a tagged error", async () => {
    const dev = new MemoryDevice(region());
    const io = await RegionIo.open(dev, 0);
    for (const attempt of [
      () => io.read32(0x3ffdn),
      () => io.write(0x4000n, new Uint8Array(1)),
      () => io.read(-1n, 1),
      () => io.read(0n, -1),
    ]) {
      const err = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isVfioDeviceError(err) && err.reason).toBe("OutOfBounds");
    }
    expect(dev.slowReads).toEqual([]);
  });

  it("uses only the slow path when asked not to map, and unmaps on close", async () => {
    const dev = new MemoryDevice(region());
    const io = await RegionIo.open(dev, 0, { map: false });
    await io.write32(0n, 1);
    expect(dev.slowWrites).toEqual([[0n, 4]]);
    io.close();
    const mapped = await RegionIo.open(dev, 0);
    mapped.close();
    mapped.close();
    expect(dev.unmapped).toBe(1);
    const err = await mapped.read32(0n).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isVfioDeviceError(err) && err.reason).toBe("Closed");
  });
});
