import {
  barSizeFromMask,
  type DecodedConfigSpace,
  decodeConfigSpace,
  isPciConfigError,
  PciCapId,
  PciExtCapId,
} from "@emu/pci-config";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function ok(bytes: Uint8Array): DecodedConfigSpace {
  const r = decodeConfigSpace(bytes);
  if (!r.ok) throw r.error;
  return r.value;
}

// libvfio-user's samples/gpio-pci-idio-16 config space: the 256-byte REGION_READ(region 7) reply payload of session
// "probe-vs-gpio" (seq 55) in shared/fixtures/libvfio-user-frames.json, taken after the probe wrote COMMAND = 6.
const GPIO_CONFIG = hex(
  "4f49c80d06000000000000000000000001000000010000000100000001000000" +
    "0100000001000000000000000000000000000000000000000000000000010000" +
    "00".repeat(192),
);

describe("decodeConfigSpace: libvfio-user gpio sample", () => {
  it("decodes the header fields", () => {
    const d = ok(GPIO_CONFIG);
    expect(d.vendorId).toBe(0x494f);
    expect(d.deviceId).toBe(0x0dc8);
    expect(d.command).toBe(0x0006); // MEMORY | MASTER, as the probe wrote
    expect(d.status).toBe(0);
    expect(d.revision).toBe(0);
    expect(d.classCode).toBe(0);
    expect(d.headerType).toBe(0);
    expect(d.multiFunction).toBe(false);
    expect(d.subsystemVendorId).toBe(0);
    expect(d.subsystemId).toBe(0);
    expect(d.interruptLine).toBe(0);
    expect(d.interruptPin).toBe(1); // INTA#
    expect(d.capabilitiesPointer).toBe(0);
    expect(d.capabilities).toEqual([]);
    expect(d.extendedCapabilities).toEqual([]);
    expect(d.issues).toEqual([]);
  });

  it("decodes the BARs libvfio-user reports (every register reads 0x1: the I/O-space bit, address 0)", () => {
    const d = ok(GPIO_CONFIG);
    expect(d.bars.map((b) => [b.index, b.kind, b.address])).toEqual([
      [0, "io", 0n],
      [1, "io", 0n],
      [2, "io", 0n],
      [3, "io", 0n],
      [4, "io", 0n],
      [5, "io", 0n],
    ]);
  });

  it("sizes BAR2 from the value libvfio-user read back after writing all ones (0xffffff01 = 256-byte I/O)", () => {
    // seq 45: REGION_READ cfg@0x18 x4 after the sizing write
    expect(barSizeFromMask(0xffffff01)).toBe(0x100n);
  });
});

describe("decodeConfigSpace: hand-written vectors", () => {
  // An 82574L-like endpoint: PM @0xc8 -> MSI @0xd0 -> PCIe @0x60 -> MSI-X @0xa0; AER + DSN extended caps.
  function vector(): Uint8Array {
    const b = new Uint8Array(4096);
    b.set(hex("8680d310 0700 1000 00 00 0002 10 00 00 00"), 0x00); // ids, command, status(CAP_LIST), class 020000
    b.set(hex("0000e0fe 00000000 00000000 01e00000 0c00c0fd 00000000"), 0x10); // BAR0 mem32, BAR3 io, BAR4 mem64 pref
    b.set(hex("8680 0000"), 0x2c);
    b.set(hex("00000000 c8"), 0x30);
    b.set(hex("0b 01 00 00"), 0x3c);
    b.set(hex("01 d0 2240 0800 0000"), 0xc8); // PM v2, D0 PMCSR with no-soft-reset
    b.set(hex("05 60 8500 00f0e0fe 00000000 2540 0000"), 0xd0); // MSI 64-bit, 4 vectors capable, enabled, 1 enabled
    b.set(
      hex("10 a0 0200 c1800000 1028 1000 11ec4300 4000 1100 00000000 00000000 00000000 00000000 00000000 0000 0000"),
      0x60,
    );
    b.set(hex("11 00 0480 03000000 03200000"), 0xa0); // MSI-X 5 entries, enabled, table BAR3+0, PBA BAR3+0x2000
    b.set(hex("01000214 00000000"), 0x100); // AER v2 -> 0x140
    b.set(hex("03000100 78563412 f0debc9a"), 0x140); // DSN v1, end
    return b;
  }

  it("decodes header, BARs and the whole capability chain", () => {
    const d = ok(vector());
    expect(d.vendorId).toBe(0x8086);
    expect(d.deviceId).toBe(0x10d3);
    expect(d.baseClass).toBe(0x02);
    expect(d.subClass).toBe(0x00);
    expect(d.bars.map((b) => [b.index, b.kind, b.prefetchable, b.address])).toEqual([
      [0, "memory32", false, 0xfee00000n],
      [3, "io", false, 0xe000n],
      [4, "memory64", true, 0xfdc00000n],
    ]);
    expect(d.capabilities.map((c) => [c.id, c.offset])).toEqual([
      [PciCapId.PM, 0xc8],
      [PciCapId.MSI, 0xd0],
      [PciCapId.EXP, 0x60],
      [PciCapId.MSIX, 0xa0],
    ]);
    const [pm, msi, exp, msix] = d.capabilities;
    expect(pm).toMatchObject({
      kind: "pm",
      version: 2,
      d1: false,
      pmeSupport: 0b01000,
      powerState: 0,
      noSoftReset: true,
    });
    expect(msi).toMatchObject({
      kind: "msi",
      enabled: true,
      address64: true,
      perVectorMask: false,
      vectorsCapable: 4,
      vectorsEnabled: 1,
      address: 0xfee0f000n,
      data: 0x4025,
      maskBits: undefined,
    });
    expect(exp).toMatchObject({
      kind: "pcie",
      version: 2,
      deviceType: 0,
      deviceTypeName: "Endpoint",
      devCap: { maxPayloadSize: 256, extendedTag: false, flr: false },
      devCtl: { maxPayloadSize: 128, maxReadRequestSize: 512, relaxedOrdering: true },
      link: { maxSpeed: 1, maxWidth: 1, aspmSupport: 3, speed: 1, width: 1 },
    });
    expect(msix).toMatchObject({
      kind: "msix",
      enabled: true,
      functionMask: false,
      tableSize: 5,
      tableBar: 3,
      tableOffset: 0,
      pbaBar: 3,
      pbaOffset: 0x2000,
    });
    expect(d.extendedCapabilities).toEqual([
      { id: PciExtCapId.ERR, name: "ERR", version: 2, offset: 0x100, next: 0x140 },
      { id: PciExtCapId.DSN, name: "DSN", version: 1, offset: 0x140, next: 0 },
    ]);
    expect(d.issues).toEqual([]);
  });

  it("reads only 256 bytes of it as conventional space (no extended capabilities)", () => {
    const d = ok(vector().subarray(0, 256));
    expect(d.extendedCapabilities).toEqual([]);
    expect(d.capabilities).toHaveLength(4);
  });

  it("stops at a capability loop and reports it", () => {
    const b = new Uint8Array(256);
    b.set(hex("0000 0000 0000 1000"), 0);
    b[0x34] = 0x40;
    b.set(hex("09 50 04 00"), 0x40);
    b.set(hex("09 40 04 00"), 0x50); // back to 0x40
    const d = ok(b);
    expect(d.capabilities.map((c) => c.offset)).toEqual([0x40, 0x50]);
    expect(d.issues.join()).toMatch(/loops at 0x40/);
  });

  it("ignores the low two pointer bits and stops at pointers into the header", () => {
    const b = new Uint8Array(256);
    b.set(hex("0000 0000 0000 1000"), 0);
    b[0x34] = 0x43;
    b.set(hex("01 10 0300 0000"), 0x40); // next -> 0x10 (inside the header)
    const d = ok(b);
    expect(d.capabilities.map((c) => [c.name, c.offset])).toEqual([["PM", 0x40]]);
    expect(d.issues.join()).toMatch(/into the header/);
  });

  it("does not walk the list when STATUS.CAP_LIST is clear", () => {
    const b = new Uint8Array(256);
    b[0x34] = 0x40;
    b.set(hex("05 00 0000"), 0x40);
    expect(ok(b).capabilities).toEqual([]);
  });

  it("reports an MSI capability cut off by the end of config space", () => {
    const b = new Uint8Array(256);
    b.set(hex("0000 0000 0000 1000"), 0);
    b[0x34] = 0xfc;
    b.set(hex("05 00 8001"), 0xfc);
    const d = ok(b);
    expect(d.capabilities[0]).toMatchObject({ kind: "msi", address64: true, perVectorMask: true });
    expect(d.issues.join()).toMatch(/runs past the end/);
  });

  it("stops at an extended capability loop", () => {
    const b = new Uint8Array(4096);
    b.set(hex("01000010"), 0x100); // AER -> 0x100 (itself)
    const d = ok(b);
    expect(d.extendedCapabilities).toHaveLength(1);
    expect(d.issues.join()).toMatch(/extended capability list loops/);
  });

  it("returns a tagged Truncated error for fewer than 64 bytes", () => {
    const r = decodeConfigSpace(new Uint8Array(63));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(isPciConfigError(r.error)).toBe(true);
      expect(r.error.reason).toBe("Truncated");
    }
  });

  it("never throws on random bytes of any length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 4200 }), (bytes) => {
        const r = decodeConfigSpace(bytes);
        expect(r.ok).toBe(bytes.length >= 64);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on random capability lists (status CAP_LIST set)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 256, maxLength: 256 }), (bytes) => {
        bytes[6] = (bytes[6] as number) | 0x10;
        const r = decodeConfigSpace(bytes);
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.value.capabilities.length).toBeLessThanOrEqual(48);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("barSizeFromMask", () => {
  it("sizes memory and I/O BARs", () => {
    expect(barSizeFromMask(0xfffff000)).toBe(0x1000n);
    expect(barSizeFromMask(0xfffff008)).toBe(0x1000n); // prefetchable flag ignored
    expect(barSizeFromMask(0x0000000c, 0xfffffffe)).toBe(0x2_0000_0000n); // 64-bit, 8 GiB
    expect(barSizeFromMask(0xffffffe1)).toBe(0x20n);
    expect(barSizeFromMask(0)).toBe(0n);
  });
});
