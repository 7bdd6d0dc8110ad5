import {
  applyConfigWrite,
  buildConfigSpace,
  decodeConfigSpace,
  isPciConfigError,
  type PciConfigImage,
  type PciDeviceDescription,
  PciExtCapId,
} from "@emu/pci-config";
import { describe, expect, it } from "vitest";

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] as number) | ((b[o + 1] as number) << 8);
}

function u32(b: Uint8Array, o: number): number {
  return (u16(b, o) | (u16(b, o + 2) << 16)) >>> 0;
}

function le32(v: number): Uint8Array {
  return new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);
}

/** A device with a bit of everything: a NIC-like PCIe endpoint. */
const NIC: PciDeviceDescription = {
  vendorId: 0x8086,
  deviceId: 0x1889,
  subsystemVendorId: 0x8086,
  subsystemId: 0x0000,
  revision: 0x02,
  classCode: 0x020000,
  interruptPin: 1,
  bars: [
    { index: 0, kind: "memory64", size: 0x20000, prefetchable: true },
    { index: 3, kind: "memory64", size: 0x4000, prefetchable: true },
    { index: 5, kind: "io", size: 32 },
  ],
  rom: { size: 0x10000 },
  capabilities: [
    { kind: "pm", d1: false, pmeSupport: 0b11001 },
    { kind: "msi", vectors: 4, address64: true, perVectorMask: true },
    { kind: "msix", tableSize: 5, tableBar: 3, tableOffset: 0, pbaBar: 3, pbaOffset: 0x2000 },
    { kind: "pcie", maxPayloadSize: 512, flr: true, link: { maxSpeed: 3, maxWidth: 8, width: 4 } },
    { kind: "vendor", data: new Uint8Array([0xaa, 0xbb, 0xcc]) },
  ],
  extendedCapabilities: [
    { id: PciExtCapId.DSN, version: 1, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
    { id: PciExtCapId.ARI, version: 1, data: new Uint8Array(4) },
  ],
};

describe("buildConfigSpace: layout (byte-exact against the PCI spec tables)", () => {
  const img = buildConfigSpace(NIC);

  it("makes 4096 bytes for a PCI Express function", () => {
    expect(img.size).toBe(4096);
    expect(img.bytes.length).toBe(4096);
    expect(img.writeMask.length).toBe(4096);
  });

  it("writes the type-0 header", () => {
    expect(hex(img.bytes.subarray(0, 0x40))).toBe(
      "86808918" + // vendor, device
        "00001000" + // command 0, status CAP_LIST
        "02000002" + // revision 2, class 02 00 00
        "00000000" + // cache line, latency, header type 0, BIST
        "0c000000" + // BAR0 mem64 prefetchable
        "00000000" + // BAR1 (upper half)
        "00000000" + // BAR2 unimplemented
        "0c000000" + // BAR3 mem64 prefetchable
        "00000000" + // BAR4 upper half
        "01000000" + // BAR5 I/O
        "00000000" + // CardBus CIS
        "86800000" + // subsystem vendor, subsystem
        "00000000" + // ROM
        "40000000" + // capabilities pointer
        "00000000" +
        "00010000", // interrupt line 0, pin INTA#, min_gnt, max_lat
    );
  });

  it("chains the capabilities from 0x40, 4-byte aligned", () => {
    expect(img.capabilities.map((c) => [c.id, c.offset, c.length])).toEqual([
      [0x01, 0x40, 8],
      [0x05, 0x48, 24],
      [0x11, 0x60, 12],
      [0x10, 0x6c, 60],
      [0x09, 0xa8, 6],
    ]);
    // PM: id, next, PMC = version 3 | PME from D0, D3hot, D3cold; PMCSR = no soft reset
    expect(hex(img.bytes.subarray(0x40, 0x48))).toBe("0148" + "03c8" + "0800" + "0000");
    // MSI 64-bit with masking: flags = 4 vectors (log2 2 << 1) | 64BIT | MASKBIT
    expect(hex(img.bytes.subarray(0x48, 0x60))).toBe("0560" + "8401" + "00".repeat(20));
    // MSI-X: table size 5 (N-1 = 4), table BIR 3 @0, PBA BIR 3 @0x2000
    expect(hex(img.bytes.subarray(0x60, 0x6c))).toBe("116c" + "0400" + "03000000" + "03200000");
    // PCIe: v2 endpoint; DEVCAP = MPS 512 (2) | EXT_TAG | RBER | FLR; DEVCTL reset value 0x2810
    expect(hex(img.bytes.subarray(0x6c, 0x80))).toBe(
      "10a8" + "0200" + "22800010" + "1028" + "0000" + "83000000" + "0000" + "4300",
    );
    expect(u32(img.bytes, 0x6c + 0x2c)).toBe(0b1110); // LNKCAP2: 2.5, 5, 8 GT/s
    expect(u16(img.bytes, 0x6c + 0x30)).toBe(3); // LNKCTL2 target speed
    // Vendor-specific: id, next 0, length 6, data
    expect(hex(img.bytes.subarray(0xa8, 0xae))).toBe("090006aabbcc");
  });

  it("chains the extended capabilities from 0x100", () => {
    expect(img.extendedCapabilities).toEqual([
      { id: 0x03, offset: 0x100, length: 12 },
      { id: 0x0e, offset: 0x10c, length: 8 },
    ]);
    expect(u32(img.bytes, 0x100)).toBe((0x03 | (1 << 16) | (0x10c << 20)) >>> 0);
    expect(hex(img.bytes.subarray(0x104, 0x10c))).toBe("0102030405060708");
    expect(u32(img.bytes, 0x10c)).toBe(0x0e | (1 << 16));
  });

  it("describes what the server needs: BARs, ROM, MSI, MSI-X, PCIe layouts", () => {
    expect(img.bars).toEqual([
      { index: 0, kind: "memory64", size: 0x20000n, prefetchable: true },
      undefined,
      undefined,
      { index: 3, kind: "memory64", size: 0x4000n, prefetchable: true },
      undefined,
      { index: 5, kind: "io", size: 32n, prefetchable: false },
    ]);
    expect(img.rom).toEqual({ size: 0x10000 });
    expect(img.msi).toEqual({
      offset: 0x48,
      vectors: 4,
      address64: true,
      perVectorMask: true,
      control: 0x4a,
      addressLo: 0x4c,
      addressHi: 0x50,
      data: 0x54,
      mask: 0x58,
      pending: 0x5c,
    });
    expect(img.msix).toEqual({
      offset: 0x60,
      control: 0x62,
      tableSize: 5,
      tableBar: 3,
      tableOffset: 0,
      pbaBar: 3,
      pbaOffset: 0x2000,
      pbaSize: 8,
    });
    expect(img.pcie).toEqual({ offset: 0x6c, deviceType: "endpoint", flr: true, devctl: 0x74 });
    expect(img.pm).toEqual({ offset: 0x40, pmcsr: 0x44 });
  });

  it("decodes back to what was described", () => {
    const r = decodeConfigSpace(img.bytes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const d = r.value;
    expect(d.issues).toEqual([]);
    expect(d.capabilities.map((c) => c.kind)).toEqual(["pm", "msi", "msix", "pcie", "vendor"]);
    expect(d.capabilities[1]).toMatchObject({ vectorsCapable: 4, address64: true, perVectorMask: true, maskBits: 0 });
    expect(d.capabilities[3]).toMatchObject({
      devCap: { maxPayloadSize: 512, flr: true, extendedTag: true },
      lnkCap: { maxSpeed: 3, maxWidth: 8 },
      lnkSta: { speed: 3, width: 4 },
      lnkCap2: { supportedSpeeds: 0b111 },
      lnkCtl2: { targetSpeed: 3 },
    });
    expect(d.capabilities[4]).toMatchObject({ length: 6, data: new Uint8Array([0xaa, 0xbb, 0xcc]) });
    expect(d.extendedCapabilities.map((c) => [c.name, c.kind])).toEqual([
      ["DSN", "dsn"],
      ["ARI", "ari"],
    ]);
  });

  it("makes 256 bytes for a conventional function", () => {
    const small = buildConfigSpace({ vendorId: 1, deviceId: 2, classCode: 0xff0000 });
    expect(small.size).toBe(256);
    expect(u16(small.bytes, 6)).toBe(0); // no CAP_LIST
    expect(small.bytes[0x34]).toBe(0);
  });
});

function fresh(img: PciConfigImage): Uint8Array {
  return img.bytes.slice();
}

function write32(state: Uint8Array, img: PciConfigImage, off: number, v: number): void {
  applyConfigWrite(state, img, off, le32(v));
}

describe("write masks: BAR sizing exactly as hardware does", () => {
  const img = buildConfigSpace(NIC);

  it("a 64-bit BAR written with all ones reads back its size mask in both halves", () => {
    const s = fresh(img);
    write32(s, img, 0x10, 0xffffffff);
    write32(s, img, 0x14, 0xffffffff);
    expect(u32(s, 0x10)).toBe(0xfffe000c); // 128 KiB, type 64, prefetchable
    expect(u32(s, 0x14)).toBe(0xffffffff);
    write32(s, img, 0x10, 0xfebc0000);
    write32(s, img, 0x14, 0x00000001);
    expect(u32(s, 0x10)).toBe(0xfebc000c);
    expect(u32(s, 0x14)).toBe(1);
  });

  it("an I/O BAR keeps its space bit and sizes to 32 bytes", () => {
    const s = fresh(img);
    write32(s, img, 0x24, 0xffffffff);
    expect(u32(s, 0x24)).toBe(0xffffffe1);
  });

  it("an unimplemented BAR stays zero", () => {
    const s = fresh(img);
    write32(s, img, 0x18, 0xffffffff);
    expect(u32(s, 0x18)).toBe(0);
  });

  it("the ROM BAR sizes with its enable bit writable", () => {
    const s = fresh(img);
    write32(s, img, 0x30, 0xffffffff);
    expect(u32(s, 0x30)).toBe(0xffff0001);
  });

  it("a 64-bit BAR larger than 4 GiB masks the upper half", () => {
    const big = buildConfigSpace({
      vendorId: 1,
      deviceId: 1,
      classCode: 0,
      bars: [{ index: 2, kind: "memory64", size: 1n << 34n }],
    });
    const s = fresh(big);
    write32(s, big, 0x18, 0xffffffff);
    write32(s, big, 0x1c, 0xffffffff);
    expect(u32(s, 0x18)).toBe(0x00000004);
    expect(u32(s, 0x1c)).toBe(0xfffffffc);
  });

  it("a 32-bit memory BAR sizes to its low bits", () => {
    const b = buildConfigSpace({
      vendorId: 1,
      deviceId: 1,
      classCode: 0,
      bars: [{ index: 1, kind: "memory32", size: 4096 }],
    });
    const s = fresh(b);
    write32(s, b, 0x14, 0xffffffff);
    expect(u32(s, 0x14)).toBe(0xfffff000);
  });
});

describe("write masks: read-only, read-write and RW1C bits", () => {
  const img = buildConfigSpace(NIC);

  it("identity registers are read-only", () => {
    const s = fresh(img);
    applyConfigWrite(s, img, 0, new Uint8Array(16).fill(0xff));
    expect(hex(s.subarray(0, 4))).toBe("86808918");
    expect(hex(s.subarray(8, 12))).toBe("02000002");
    expect(s[0x0e]).toBe(0);
  });

  it("COMMAND takes IO, MEMORY, MASTER, PARITY, SERR and INTX_DISABLE only", () => {
    const s = fresh(img);
    applyConfigWrite(s, img, 4, new Uint8Array([0xff, 0xff]));
    expect(u16(s, 4)).toBe(0x0547);
  });

  it("STATUS error bits are write-one-to-clear, CAP_LIST is read-only", () => {
    const s = fresh(img);
    s[7] = 0xf9; // pretend the device latched every error bit
    applyConfigWrite(s, img, 6, new Uint8Array([0xff, 0x20]));
    expect(u16(s, 6)).toBe(0xd910); // only SIG_TARGET... bit 0x2000 (REC_MASTER_ABORT) cleared
    applyConfigWrite(s, img, 6, new Uint8Array([0x00, 0xff]));
    expect(u16(s, 6)).toBe(0x0010);
  });

  it("PCIe latency timer is hardwired to zero; cache line size and interrupt line are writable", () => {
    const s = fresh(img);
    applyConfigWrite(s, img, 0x0c, new Uint8Array([0x10, 0x40]));
    applyConfigWrite(s, img, 0x3c, new Uint8Array([0x0b, 0x04]));
    expect([s[0x0c], s[0x0d], s[0x3c], s[0x3d]]).toEqual([0x10, 0, 0x0b, 1]);
  });

  it("MSI: enable and multiple-message-enable are writable, capable bits and pending are not", () => {
    const s = fresh(img);
    applyConfigWrite(s, img, 0x4a, new Uint8Array([0xff, 0xff]));
    expect(u16(s, 0x4a)).toBe(0x0184 | 0x71);
    write32(s, img, 0x4c, 0xfee00003);
    expect(u32(s, 0x4c)).toBe(0xfee00000); // dword-aligned
    write32(s, img, 0x58, 0xffffffff);
    expect(u32(s, 0x58)).toBe(0x0f); // 4 mask bits
    write32(s, img, 0x5c, 0xffffffff);
    expect(u32(s, 0x5c)).toBe(0); // pending is read-only
  });

  it("MSI-X: enable and function mask are writable, table size and BIR/offsets are not", () => {
    const s = fresh(img);
    applyConfigWrite(s, img, 0x62, new Uint8Array([0xff, 0xff]));
    expect(u16(s, 0x62)).toBe(0xc004);
    write32(s, img, 0x64, 0);
    expect(u32(s, 0x64)).toBe(3);
  });

  it("PM: power state writable, PME status RW1C", () => {
    const s = fresh(img);
    applyConfigWrite(s, img, 0x44, new Uint8Array([0x03, 0x01]));
    expect(u16(s, 0x44)).toBe(0x0108 | 0x03);
    s[0x45] = (s[0x45] as number) | 0x80;
    applyConfigWrite(s, img, 0x44, new Uint8Array([0x00, 0x80]));
    expect(u16(s, 0x44)).toBe(0x0008);
  });

  it("PCIe: device control writable, FLR bit never stored, device status RW1C", () => {
    const s = fresh(img);
    applyConfigWrite(s, img, 0x74, new Uint8Array([0xff, 0xff]));
    expect(u16(s, 0x74)).toBe(0x7dff);
    s[0x76] = 0x0f;
    applyConfigWrite(s, img, 0x76, new Uint8Array([0x05, 0x00]));
    expect(s[0x76]).toBe(0x0a);
  });

  it("ignores bytes outside config space", () => {
    const s = fresh(img);
    applyConfigWrite(s, img, 4094, new Uint8Array([1, 2, 3, 4]));
    applyConfigWrite(s, img, -2, new Uint8Array([0xff, 0xff, 0xff]));
    expect(s.length).toBe(4096);
  });
});

describe("buildConfigSpace: refuses impossible descriptions with a tagged error", () => {
  const base = { vendorId: 1, deviceId: 1, classCode: 0 };
  const cases: [string, PciDeviceDescription][] = [
    ["non-power-of-two BAR", { ...base, bars: [{ index: 0, kind: "memory32", size: 3000 }] }],
    ["tiny memory BAR", { ...base, bars: [{ index: 0, kind: "memory32", size: 8 }] }],
    ["huge I/O BAR", { ...base, bars: [{ index: 0, kind: "io", size: 512 }] }],
    ["64-bit BAR at index 5", { ...base, bars: [{ index: 5, kind: "memory64", size: 4096 }] }],
    [
      "overlapping BAR slots",
      {
        ...base,
        bars: [
          { index: 0, kind: "memory64", size: 4096 },
          { index: 1, kind: "memory32", size: 4096 },
        ],
      },
    ],
    ["3 MSI vectors", { ...base, capabilities: [{ kind: "msi", vectors: 3 }] }],
    [
      "MSI-X table outside its BAR",
      {
        ...base,
        bars: [{ index: 0, kind: "memory32", size: 4096 }],
        capabilities: [{ kind: "msix", tableSize: 512, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0xf00 }],
      },
    ],
    [
      "MSI-X in an I/O BAR",
      {
        ...base,
        bars: [{ index: 0, kind: "io", size: 64 }],
        capabilities: [{ kind: "msix", tableSize: 1, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 16 }],
      },
    ],
    [
      "MSI-X table and PBA overlapping",
      {
        ...base,
        bars: [{ index: 0, kind: "memory32", size: 4096 }],
        capabilities: [{ kind: "msix", tableSize: 4, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x30 }],
      },
    ],
    [
      "capabilities that do not fit",
      {
        ...base,
        capabilities: Array.from({ length: 4 }, () => ({ kind: "vendor" as const, data: new Uint8Array(60) })),
      },
    ],
    [
      "extended capabilities in 256-byte space",
      { ...base, configSpaceSize: 256, extendedCapabilities: [{ id: 3, version: 1, data: new Uint8Array(8) }] },
    ],
    ["interrupt pin 5", { ...base, interruptPin: 5 }],
    [
      "two MSI capabilities",
      {
        ...base,
        capabilities: [
          { kind: "msi", vectors: 1 },
          { kind: "msi", vectors: 1 },
        ],
      },
    ],
  ];
  for (const [name, desc] of cases) {
    it(name, () => {
      let err: unknown;
      try {
        buildConfigSpace(desc);
      } catch (e) {
        err = e;
      }
      expect(isPciConfigError(err)).toBe(true);
      expect((err as { reason: string }).reason).toBe("InvalidDescription");
    });
  }
});
