import { buildConfigSpace, decodeConfigSpace, PciMsix } from "@emu/pci-config";
import { disableMsix, enableMsix, isVfioDeviceError } from "@emu/vfio-device";
import { PciRegion } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { MemoryDevice, sparseRegion } from "./fixtures/memory-device.js";

/** A device whose config space (region 7) is a real built image and whose BAR0 holds an MSI-X table at 0x2000. */
class ConfigDevice extends MemoryDevice {
  readonly config: Uint8Array;
  constructor(withMsix: boolean) {
    super(sparseRegion(0x4000n, []));
    const caps = withMsix
      ? [{ kind: "msix", tableSize: 4, tableBar: 0, tableOffset: 0x2000, pbaBar: 0, pbaOffset: 0x3000 } as const]
      : [];
    this.config = buildConfigSpace({
      vendorId: 0x1234,
      deviceId: 0x5678,
      classCode: 0xff0000,
      bars: [{ index: 0, kind: "memory32", size: 0x4000 }],
      capabilities: caps,
    }).bytes.slice();
    // Table entries start masked, as after reset.
    for (let v = 0; v < 4; v++) this.memory[0x2000 + v * PciMsix.ENTRY_SIZE + PciMsix.ENTRY_VECTOR_CTRL] = 1;
  }
  override async regionRead(index: number, offset: bigint, length: number): Promise<Uint8Array> {
    if (index === PciRegion.CONFIG) return this.config.slice(Number(offset), Number(offset) + length);
    return super.regionRead(index, offset, length);
  }
  override async regionWrite(index: number, offset: bigint, data: Uint8Array): Promise<void> {
    if (index === PciRegion.CONFIG) this.config.set(data, Number(offset));
    else await super.regionWrite(index, offset, data);
  }
  msix() {
    const d = decodeConfigSpace(this.config);
    if (!d.ok) throw d.error;
    const m = d.value.capabilities.find((c) => c.kind === "msix");
    if (m?.kind !== "msix") throw new Error("no msix");
    return m;
  }
  masked(v: number): number {
    return this.memory[0x2000 + v * PciMsix.ENTRY_SIZE + PciMsix.ENTRY_VECTOR_CTRL] ?? -1;
  }
}

describe("enableMsix / disableMsix", () => {
  it("unmasks the table entries, then sets Enable with the function mask clear; disable clears Enable", async () => {
    const dev = new ConfigDevice(true);
    // A function mask left set by firmware is cleared too.
    const at = dev.msix().offset + PciMsix.FLAGS;
    dev.config[at + 1] = (dev.config[at + 1] ?? 0) | (PciMsix.FLAGS_MASKALL >> 8);
    const found = await enableMsix(dev);
    expect(found).toMatchObject({ tableSize: 4, tableBar: 0, tableOffset: 0x2000 });
    expect([0, 1, 2, 3].map((v) => dev.masked(v))).toEqual([0, 0, 0, 0]);
    expect(dev.msix()).toMatchObject({ enabled: true, functionMask: false, tableSize: 4 });
    // The unmasking writes came before the enabling one (a guest kernel's order).
    expect(dev.slowWrites.map(([o]) => o)).toEqual([0x200cn, 0x201cn, 0x202cn, 0x203cn]);
    await disableMsix(dev);
    expect(dev.msix()).toMatchObject({ enabled: false, functionMask: false });
  });

  it("unmasks only the vectors named, and refuses one outside the table", async () => {
    const dev = new ConfigDevice(true);
    await enableMsix(dev, [0, 2]);
    expect([0, 1, 2, 3].map((v) => dev.masked(v))).toEqual([0, 1, 0, 1]);
    const err = await enableMsix(dev, [4]).catch((e: unknown) => e);
    expect(isVfioDeviceError(err) && err.reason).toBe("OutOfBounds");
  });

  it("says so when the device has no MSI-X capability", async () => {
    const err = await enableMsix(new ConfigDevice(false)).catch((e: unknown) => e);
    expect(isVfioDeviceError(err) && err.reason).toBe("Unsupported");
    expect(String(err)).toMatch(/no MSI-X capability/);
  });
});
