import { isMediated, readMdev, readMdevParent, readPciDevice, scanSysfs } from "@emu/mdev-pci";
import { AP_UUID, GVTG_UUID, MBOCHS_UUID, MDPY_UUID, MTTY_UUID, VF_BDF } from "@emu/mdev-pci/testing";
import { formatAddress } from "@emu/vfio-device";
import { describe, expect, test } from "vitest";
import { fixture } from "./fixtures/tmp.js";

describe("scanSysfs on the default fixture", () => {
  test("finds every physical function, parent and mdev, sorted, with no problems", () => {
    const { sys } = fixture();
    const scan = scanSysfs({ sysfsRoot: sys });
    expect(scan.problems).toEqual([]);
    expect(scan.devices.map((d) => d.name)).toEqual([
      "0000:00:00.0",
      "0000:00:02.0",
      "0000:3a:00.0",
      "0000:3b:00.0",
      "0000:3b:00.1",
      "0000:3b:02.0",
      "10000:01:00.0",
    ]);
    expect(scan.parents.map((p) => p.name)).toEqual(["0000:00:02.0", "matrix", "mbochs", "mdpy", "mtty"]);
    expect(scan.mdevs.map((m) => [m.mdev?.parent, m.name])).toEqual([
      ["0000:00:02.0", GVTG_UUID],
      ["matrix", AP_UUID],
      ["mbochs", MBOCHS_UUID],
      ["mdpy", MDPY_UUID],
      ["mtty", MTTY_UUID],
    ]);
  });

  test("a VF bound to vfio-pci: IDs, class, resources, driver, group, NUMA node, cdev, PF link", () => {
    const { sys } = fixture();
    const vf = readPciDevice(VF_BDF, { sysfsRoot: sys });
    expect(vf.address).toEqual({ kind: "pci", domain: 0, bus: 0x3b, device: 2, function: 0 });
    expect(vf.ids).toEqual({
      vendorId: 0x8086,
      deviceId: 0x154c,
      subsystemVendorId: 0x8086,
      subsystemDeviceId: 0,
      classCode: 0x020000,
      revision: 2,
    });
    expect(vf.driver).toBe("vfio-pci");
    expect(vf.iommuGroup).toBe(40);
    expect(vf.numaNode).toBe(0);
    expect(vf.vfioCdev).toBe("vfio0");
    expect(vf.physfn && formatAddress(vf.physfn)).toBe("0000:3b:00.0");
    expect(vf.resources).toHaveLength(13);
    expect(vf.resources[0]).toMatchObject({
      kind: "memory",
      size: 0x10000n,
      prefetchable: true,
      is64: true,
      start: 0xb1010000n,
    });
    expect(vf.resources[1]).toMatchObject({ kind: "unused", size: 0n });
    expect(vf.resources[3]).toMatchObject({ kind: "memory", size: 0x4000n });
    const pf = readPciDevice("0000:3b:00.0", { sysfsRoot: sys });
    expect(pf.virtfns.map(formatAddress)).toEqual([VF_BDF]);
    expect(pf.driver).toBe("i40e");
  });

  test("the GPU: an mdev parent with GVT-g types, an I/O BAR, NUMA -1 reported as absent", () => {
    const { sys } = fixture();
    const gpu = readPciDevice("0000:00:02.0", { sysfsRoot: sys });
    expect(gpu.mdevParent).toBe(true);
    expect(gpu.numaNode).toBeUndefined();
    expect(gpu.irq).toBe(130);
    expect(gpu.resources[4]).toMatchObject({ kind: "io", size: 64n, start: 0xf000n });
    expect(gpu.resources[2]).toMatchObject({ kind: "memory", size: 0x10000000n, prefetchable: true });
    const parent = readMdevParent("0000:00:02.0", { sysfsRoot: sys });
    expect(parent.address && formatAddress(parent.address)).toBe("0000:00:02.0");
    expect(parent.types.map((t) => [t.id, t.name, t.availableInstances, t.instances])).toEqual([
      ["i915-GVTg_V5_4", "GVTg_V5_4", 1, [GVTG_UUID]],
      ["i915-GVTg_V5_8", "GVTg_V5_8", 2, []],
    ]);
    expect(parent.types[0]?.description).toBe(
      "low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\nresolution: 1920x1200\nweight: 4",
    );
  });

  test("mdevs: UUID, parent, type, device_api, group, driver; a vfio-ap mdev is listed but is not vfio-pci", () => {
    const { sys } = fixture();
    const mtty = readMdev(MTTY_UUID.toUpperCase(), { sysfsRoot: sys });
    expect(isMediated(mtty)).toBe(true);
    expect(mtty.address).toEqual({ kind: "mdev", uuid: MTTY_UUID });
    expect(mtty.mdev).toEqual({ parent: "mtty", type: "mtty-2", deviceApi: "vfio-pci" });
    expect(mtty.iommuGroup).toBe(13);
    expect(mtty.driver).toBe("mtty");
    expect(mtty.vfioCdev).toBe("vfio1");
    expect(mtty.ids).toBeUndefined();
    const gvt = readMdev(GVTG_UUID, { sysfsRoot: sys });
    expect(gvt.mdev?.parentAddress && formatAddress(gvt.mdev.parentAddress)).toBe("0000:00:02.0");
    const ap = readMdev(AP_UUID, { sysfsRoot: sys });
    expect(ap.mdev?.deviceApi).toBe("vfio-ap");
  });
});
