import { irqSetFlags, toDeviceInfo, toIrqInfo, toRegionInfo } from "@emu/vfio-device";
import { decodeRegionInfo } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!, (b) => Number.parseInt(b, 16));

describe("from VFIO structs to VfioDevice terms", () => {
  it("reads libvfio-user's sparse BAR1 reply (captured bytes) into areas and flags", () => {
    // vfio_region_info: argsz 80, flags 0xf (READ|WRITE|MMAP|CAPS), index 1, cap_offset 32, size 0x4000, offset 0,
    // then SPARSE_MMAP id 1 version 1 next 0, nr_areas 2, areas [0x0+0x1000] [0x2000+0x1000].
    const bytes = hex(`
      50000000 0f000000 01000000 20000000 0040000000000000 0000000000000000
      0100 0100 00000000 02000000 00000000
      0000000000000000 0010000000000000 0020000000000000 0010000000000000`);
    const info = toRegionInfo(decodeRegionInfo(bytes));
    expect(info).toMatchObject({ index: 1, flags: 0xf, readable: true, writable: true, mmappable: true });
    expect(info.size).toBe(0x4000n);
    expect(info.sparseAreas).toEqual([
      { offset: 0n, size: 0x1000n },
      { offset: 0x2000n, size: 0x1000n },
    ]);
    expect(info.msixMappable).toBe(false);
    expect(info.otherCapabilities).toEqual([]);
  });

  it("keeps the type capability, MSI-X mappable and unknown capabilities", () => {
    // cap_offset 32: TYPE (id 2, next 48) type 0x8086 subtype 1; @48 MSIX_MAPPABLE (id 3, next 56); @56 id 0x99 + 4 bytes.
    const bytes = hex(`
      44000000 0b000000 09000000 20000000 0010000000000000 0000000010000000
      0200 0100 30000000 86800000 01000000
      0300 0100 38000000
      9900 0200 00000000 deadbeef`);
    const info = toRegionInfo(decodeRegionInfo(bytes));
    expect(info.type).toEqual({ type: 0x8086, subtype: 1 });
    expect(info.msixMappable).toBe(true);
    expect(info.mmappable).toBe(false);
    expect(info.offset).toBe(0x10_0000_0000n);
    expect(info.otherCapabilities).toEqual([{ id: 0x99, version: 2, data: hex("deadbeef") }]);
  });

  it("turns device and IRQ flag words into booleans", () => {
    expect(toDeviceInfo({ argsz: 16, flags: 3, numRegions: 9, numIrqs: 5 })).toEqual({
      flags: 3,
      resettable: true,
      pci: true,
      numRegions: 9,
      numIrqs: 5,
    });
    expect(toIrqInfo({ argsz: 16, flags: 0xb, index: 2, count: 4 })).toEqual({
      index: 2,
      flags: 0xb,
      count: 4,
      eventfd: true,
      maskable: true,
      automasked: false,
      noresize: true,
    });
  });

  it("builds SET_IRQS flag words from the spec's bits", () => {
    expect(irqSetFlags({ index: 0, action: "trigger", start: 0, count: 1, data: { kind: "eventfd", fds: [5] } })).toBe(
      0x24,
    );
    expect(irqSetFlags({ index: 0, action: "trigger", start: 0, count: 0, data: { kind: "none" } })).toBe(0x21);
    expect(
      irqSetFlags({ index: 0, action: "trigger", start: 0, count: 1, data: { kind: "bool", values: [true] } }),
    ).toBe(0x22);
    expect(irqSetFlags({ index: 0, action: "mask", start: 0, count: 1, data: { kind: "eventfd", fds: [5] } })).toBe(
      0xc,
    );
    expect(irqSetFlags({ index: 2, action: "unmask", start: 0, count: 1, data: { kind: "none" } })).toBe(0x11);
  });
});
