import * as fs from "node:fs";
import * as path from "node:path";
import { isMdevPciError, type MdevPciError, readMdev, readPciDevice, scanSysfs } from "@emu/mdev-pci";
import { MTTY_UUID, VF_BDF } from "@emu/mdev-pci/testing";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { fixture } from "./fixtures/tmp.js";

function caught(f: () => unknown): MdevPciError {
  try {
    f();
  } catch (e) {
    if (isMdevPciError(e)) return e;
    throw new Error(`expected an MdevPciError, got ${String(e)}`);
  }
  throw new Error("expected an error, got none");
}

const vfDir = (sys: string) => fs.realpathSync(path.join(sys, "bus/pci/devices", VF_BDF));
const mttyDir = (sys: string) => fs.realpathSync(path.join(sys, "bus/mdev/devices", MTTY_UUID));

describe("malformed sysfs files name the file and what was expected", () => {
  const table: Array<[string, string, RegExp]> = [
    ["vendor", "8086\n", /vendor: expected a 16-bit hex number such as 0x0000, found "8086\\n"/],
    ["device", "0x1234567\n", /device: expected a 16-bit hex number/],
    ["class", "0x02000000\n", /class: expected a 24-bit hex number/],
    ["irq", "-1\n", /irq: expected an unsigned decimal integer/],
    ["numa_node", "zero\n", /numa_node: expected a decimal integer/],
    ["resource", "0x0 0x1\n", /resource line 1: expected "0x<start> 0x<end> 0x<flags>", found "0x0 0x1"/],
    ["resource", "", /resource is empty/],
  ];
  test.each(table)("%s = %j", (file, text, message) => {
    const { sys } = fixture();
    fs.writeFileSync(path.join(vfDir(sys), file), text);
    const e = caught(() => readPciDevice(VF_BDF, { sysfsRoot: sys, strict: true }));
    expect(e.reason).toBe("MalformedSysfs");
    expect(e.path).toBe(path.join(vfDir(sys), file));
    expect(e.message).toMatch(message);
    // The scan goes on and reports the same error once; strict mode throws it.
    const scan = scanSysfs({ sysfsRoot: sys });
    expect(scan.problems.map((p) => p.message)).toEqual([e.message]);
    expect(caught(() => scanSysfs({ sysfsRoot: sys, strict: true })).message).toBe(e.message);
    if (file === "vendor" || file === "device") {
      // Without its IDs a function is not a device at all (lspci too leaves out one without them).
      expect(scan.devices.map((d) => d.name)).not.toContain(VF_BDF);
    } else {
      // Any other attribute is optional: the device stays, with that one field unknown.
      expect(scan.devices.map((d) => d.name)).toContain(VF_BDF);
      expect(scan.unknownFields).toEqual(new Map([[VF_BDF, [file]]]));
    }
  });

  test("a multi-line device_api", () => {
    const { sys } = fixture();
    fs.writeFileSync(
      path.join(sys, "devices/virtual/mtty/mtty/mdev_supported_types/mtty-2/device_api"),
      "vfio-pci\nx\n",
    );
    const e = caught(() => readMdev(MTTY_UUID, { sysfsRoot: sys, strict: true }));
    expect(e).toMatchObject({ reason: "MalformedSysfs" });
    expect(e.message).toMatch(/mdev_type\/device_api: expected a single line/);
  });

  test("an IOMMU group link whose name is not a number", () => {
    const { sys } = fixture();
    const dir = vfDir(sys);
    fs.mkdirSync(path.join(sys, "kernel/iommu_groups/abc"));
    fs.rmSync(path.join(dir, "iommu_group"));
    fs.symlinkSync(path.relative(dir, path.join(sys, "kernel/iommu_groups/abc")), path.join(dir, "iommu_group"));
    expect(caught(() => readPciDevice(VF_BDF, { sysfsRoot: sys, strict: true })).message).toMatch(
      /iommu_group points to group "abc"/,
    );
  });
});

describe("missing files and links", () => {
  test("a missing mandatory attribute", () => {
    const { sys } = fixture();
    fs.rmSync(path.join(vfDir(sys), "vendor"));
    expect(caught(() => readPciDevice(VF_BDF, { sysfsRoot: sys }))).toMatchObject({
      reason: "MissingAttribute",
      path: path.join(vfDir(sys), "vendor"),
    });
  });

  test("a dangling driver link", () => {
    const { sys } = fixture();
    fs.rmSync(path.join(sys, "bus/pci/drivers/vfio-pci"), { recursive: true });
    const e = caught(() => readPciDevice(VF_BDF, { sysfsRoot: sys, strict: true }));
    expect(e.reason).toBe("MissingLink");
    expect(e.message).toMatch(/driver points to .*bus\/pci\/drivers\/vfio-pci, which does not exist/);
  });

  test("an mdev without its mdev_type link", () => {
    const { sys } = fixture();
    fs.rmSync(path.join(mttyDir(sys), "mdev_type"));
    const e = caught(() => readMdev(MTTY_UUID, { sysfsRoot: sys }));
    expect(e).toMatchObject({ reason: "MissingLink", path: path.join(mttyDir(sys), "mdev_type") });
    expect(e.message).toMatch(/mdev_type is missing \(every mdev links to its type\)/);
  });

  test("a bus/mdev/devices entry whose target is gone", () => {
    const { sys } = fixture();
    fs.rmSync(mttyDir(sys), { recursive: true });
    const e = caught(() => readMdev(MTTY_UUID, { sysfsRoot: sys }));
    expect(e.reason).toBe("MissingLink");
    expect(e.message).toMatch(/-> \.\.\/\.\.\/\.\.\/devices\/virtual\/mtty\/mtty\/83b8f4f2.* does not resolve/);
    expect(scanSysfs({ sysfsRoot: sys }).problems).toHaveLength(1);
  });

  test("a sysfs root that is not sysfs", () => {
    const { root } = fixture();
    expect(caught(() => scanSysfs({ sysfsRoot: path.join(root, "nope") })).message).toMatch(/does not look like sysfs/);
  });
});

describe("wrong UUIDs and names", () => {
  test("readMdev refuses a non-UUID and reports an unknown one", () => {
    const { sys } = fixture();
    expect(caught(() => readMdev("83b8f4f2-509f-382f", { sysfsRoot: sys }))).toMatchObject({ reason: "BadUuid" });
    expect(caught(() => readMdev("83b8f4f2-509f-382f", { sysfsRoot: sys })).message).toMatch(
      /"83b8f4f2-509f-382f" is not a UUID/,
    );
    const e = caught(() => readMdev("00000000-0000-0000-0000-000000000000", { sysfsRoot: sys }));
    expect(e.reason).toBe("NoSuchDevice");
  });

  test("entries that are not UUIDs or BDFs are reported by the scan, not crashed on", () => {
    const { sys } = fixture();
    fs.symlinkSync(".", path.join(sys, "bus/mdev/devices/not-a-uuid"));
    fs.symlinkSync(".", path.join(sys, "bus/pci/devices/00:02.0"));
    const scan = scanSysfs({ sysfsRoot: sys });
    expect(scan.problems.map((p) => p.reason).sort()).toEqual(["BadUuid", "MalformedSysfs"]);
    expect(scan.problems.map((p) => p.message).join("\n")).toMatch(/"not-a-uuid" is not a lower-case UUID/);
    expect(scan.mdevs).toHaveLength(5);
  });
});

test("random bytes in any attribute give a tagged error or a value, never another exception", () => {
  const { sys } = fixture();
  const files = ["vendor", "device", "class", "revision", "irq", "numa_node", "resource", "subsystem_vendor"];
  fc.assert(
    fc.property(fc.constantFrom(...files), fc.uint8Array({ maxLength: 80 }), (file, bytes) => {
      const at = path.join(vfDir(sys), file);
      const before = fs.readFileSync(at);
      fs.writeFileSync(at, bytes);
      try {
        readPciDevice(VF_BDF, { sysfsRoot: sys });
      } catch (e) {
        if (!isMdevPciError(e)) throw e;
        expect(e.path).toBe(at);
      } finally {
        fs.writeFileSync(at, before);
      }
    }),
    { numRuns: 300 },
  );
});
