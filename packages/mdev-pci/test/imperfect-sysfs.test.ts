/**
 * Imperfect sysfs trees, as lspci and mdevctl meet them (issue 8, items 7-9): one bad optional attribute leaves the
 * device listed with that one field unknown and is reported once; one bad mdev type leaves its parent's other types
 * and every mdev listed; numa_node, subsystem_device and the class name read as lspci shows them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  createMdev,
  describeDevice,
  isMdevPciError,
  type MdevPciError,
  PciBus,
  readMdev,
  readPciDevice,
  SysfsBusSource,
  scanSysfs,
  VfioHost,
} from "@emu/mdev-pci";
import { defaultSpec, fixtureKernelWriter, MTTY_UUID, standInKernel, VF_BDF } from "@emu/mdev-pci/testing";
import { describe, expect, test } from "vitest";
import { fixture } from "./fixtures/tmp.js";

const vfDir = (sys: string) => fs.realpathSync(path.join(sys, "bus/pci/devices", VF_BDF));
const mttyTypes = (sys: string) => path.join(sys, "devices/virtual/mtty/mtty/mdev_supported_types");

function rejected(f: () => unknown): MdevPciError {
  try {
    f();
  } catch (e) {
    if (isMdevPciError(e)) return e;
    throw e;
  }
  throw new Error("expected an error, got none");
}

/** The damage each case does to the VF (0000:3b:02.0), and what the VF must look like afterwards. */
const damages: Array<{
  name: string;
  field: string;
  damage: (sys: string, dir: string) => void;
  reason: string;
  check: (d: ReturnType<typeof readPciDevice>) => void;
}> = [
  {
    name: "a dangling driver link",
    field: "driver",
    damage: (sys) => fs.rmSync(path.join(sys, "bus/pci/drivers/vfio-pci"), { recursive: true }),
    reason: "MissingLink",
    check: (d) => expect(d.driver).toBeUndefined(),
  },
  {
    name: "a dangling iommu_group link",
    field: "iommu_group",
    damage: (sys) => fs.rmSync(path.join(sys, "kernel/iommu_groups/40"), { recursive: true }),
    reason: "MissingLink",
    check: (d) => expect(d.iommuGroup).toBeUndefined(),
  },
  {
    name: "a garbage numa_node",
    field: "numa_node",
    damage: (_sys, dir) => fs.writeFileSync(path.join(dir, "numa_node"), "zero\n"),
    reason: "MalformedSysfs",
    check: (d) => expect(d.numaNode).toBeUndefined(),
  },
  {
    name: "a missing irq",
    field: "irq",
    damage: (_sys, dir) => fs.rmSync(path.join(dir, "irq")),
    reason: "MissingAttribute",
    check: (d) => expect(d.irq).toBeUndefined(),
  },
  {
    name: "a missing resource",
    field: "resource",
    damage: (_sys, dir) => fs.rmSync(path.join(dir, "resource")),
    reason: "MissingAttribute",
    check: (d) => expect(d.resources).toEqual([]),
  },
  {
    name: "a resource file whose every line is bad",
    field: "resource",
    damage: (_sys, dir) => fs.writeFileSync(path.join(dir, "resource"), "bad\n".repeat(13)),
    reason: "MalformedSysfs",
    check: (d) => expect(d.resources).toEqual([]),
  },
  {
    name: "a class too wide for 24 bits",
    field: "class",
    damage: (_sys, dir) => fs.writeFileSync(path.join(dir, "class"), "0x02000000\n"),
    reason: "MalformedSysfs",
    check: (d) => expect(d.ids?.classCode).toBe(0xffffff),
  },
];

describe("one bad optional attribute keeps the device, with that field unknown, reported once", () => {
  test.each(damages)("$name", ({ field, damage, reason, check }) => {
    const { sys } = fixture();
    damage(sys, vfDir(sys));
    const scan = scanSysfs({ sysfsRoot: sys });
    const vf = scan.devices.find((d) => d.name === VF_BDF);
    expect(vf).toBeDefined();
    check(vf!);
    // Every other field is as on a clean tree.
    const clean = scanSysfs({ sysfsRoot: fixture().sys }).devices.find((d) => d.name === VF_BDF)!;
    expect(scan.devices).toHaveLength(7);
    expect(vf!.ids?.vendorId).toBe(clean.ids?.vendorId);
    expect(vf!.physfn).toEqual(clean.physfn);
    expect(scan.problems).toHaveLength(1);
    expect(scan.problems[0]).toMatchObject({ reason, path: path.join(vfDir(sys), field) });
    expect(scan.unknownFields).toEqual(new Map([[VF_BDF, [field]]]));
    // Reading the one device reports the same problem; strict reading throws it.
    const problems: MdevPciError[] = [];
    expect(readPciDevice(VF_BDF, { sysfsRoot: sys, problems }).name).toBe(VF_BDF);
    expect(problems.map((p) => p.message)).toEqual([scan.problems[0]!.message]);
    expect(rejected(() => readPciDevice(VF_BDF, { sysfsRoot: sys, strict: true })).message).toBe(
      scan.problems[0]!.message,
    );
  });

  test("the bus keeps the device and reports the problem once per scan", async () => {
    const { sys } = fixture();
    fs.rmSync(path.join(sys, "bus/pci/drivers/vfio-pci"), { recursive: true });
    fs.writeFileSync(path.join(vfDir(sys), "numa_node"), "zero\n");
    const bus = new PciBus([new SysfsBusSource({ sysfsRoot: sys, host: new VfioHost({ kernel: standInKernel() }) })]);
    for (let i = 0; i < 2; i++) {
      const { devices, problems } = await bus.scan();
      const listed = devices.map((d) => d.descriptor).find((d) => d.address.kind === "pci" && d.deviceId === 0x154c);
      expect(listed).toMatchObject({ vendorId: 0x8086, iommuGroup: 40 });
      expect(listed?.driver).toBeUndefined();
      expect(listed?.numaNode).toBeUndefined();
      expect(problems.map((p) => path.basename((p as MdevPciError).path ?? ""))).toEqual(["driver", "numa_node"]);
    }
  });

  test("several bad attributes on one device: each reported once, the device kept", () => {
    const { sys } = fixture();
    const dir = vfDir(sys);
    fs.rmSync(path.join(sys, "kernel/iommu_groups/40"), { recursive: true });
    fs.rmSync(path.join(dir, "irq"));
    fs.writeFileSync(path.join(dir, "revision"), "two\n");
    fs.writeFileSync(path.join(dir, "subsystem_vendor"), "0x123456\n");
    fs.rmSync(path.join(dir, "physfn"));
    fs.symlinkSync("../nowhere", path.join(dir, "physfn"));
    const scan = scanSysfs({ sysfsRoot: sys });
    const vf = scan.devices.find((d) => d.name === VF_BDF)!;
    expect(vf.ids).toEqual({ vendorId: 0x8086, deviceId: 0x154c, classCode: 0x020000, subsystemDeviceId: 0 });
    expect(vf.physfn).toBeUndefined();
    expect(vf.driver).toBe("vfio-pci");
    expect(scan.unknownFields.get(VF_BDF)).toEqual(["subsystem_vendor", "revision", "irq", "iommu_group", "physfn"]);
    expect(scan.problems).toHaveLength(5);
    // The PF's link to the VF is fine; the PF itself is untouched.
    expect(scan.devices.find((d) => d.name === "0000:3b:00.0")?.virtfns).toHaveLength(1);
  });

  test("a dangling virtfn link drops that VF from the PF's list, not the PF", () => {
    const { sys } = fixture();
    const pf = fs.realpathSync(path.join(sys, "bus/pci/devices/0000:3b:00.0"));
    fs.rmSync(path.join(pf, "virtfn0"));
    fs.symlinkSync("../gone", path.join(pf, "virtfn0"));
    const scan = scanSysfs({ sysfsRoot: sys });
    expect(scan.devices.find((d) => d.name === "0000:3b:00.0")?.virtfns).toEqual([]);
    expect(scan.unknownFields.get("0000:3b:00.0")).toEqual(["virtfn0"]);
  });

  test("a class with a trailing space is read as lspci reads it, with no problem", () => {
    const { sys } = fixture();
    fs.writeFileSync(path.join(vfDir(sys), "class"), "0x020000 \n");
    const scan = scanSysfs({ sysfsRoot: sys });
    expect(scan.problems).toEqual([]);
    expect(scan.devices.find((d) => d.name === VF_BDF)?.ids?.classCode).toBe(0x020000);
  });

  test("an mdev with a dangling driver or iommu_group link stays listed", () => {
    const { sys } = fixture();
    fs.rmSync(path.join(sys, "bus/mdev/drivers/mtty"), { recursive: true });
    fs.rmSync(path.join(sys, "kernel/iommu_groups/13"), { recursive: true });
    const scan = scanSysfs({ sysfsRoot: sys });
    const m = scan.mdevs.find((d) => d.name === MTTY_UUID)!;
    expect(m.mdev).toEqual({ parent: "mtty", type: "mtty-2", deviceApi: "vfio-pci" });
    expect(m.driver).toBeUndefined();
    expect(m.iommuGroup).toBeUndefined();
    expect(scan.unknownFields.get(MTTY_UUID)).toEqual(["driver", "iommu_group"]);
  });

  test("what still drops a device: no vendor, device or class file (lspci leaves it out too)", () => {
    for (const file of ["vendor", "device", "class"]) {
      const { sys } = fixture();
      fs.rmSync(path.join(vfDir(sys), file));
      const scan = scanSysfs({ sysfsRoot: sys });
      expect(scan.devices.map((d) => d.name)).not.toContain(VF_BDF);
      expect(scan.problems.map((p) => p.reason)).toEqual(["MissingAttribute"]);
    }
  });
});

describe("one bad mdev type is isolated from its siblings and from the mdevs", () => {
  test("a type without device_api: the parent keeps its other type, the mdev of that type stays listed", () => {
    const { sys } = fixture();
    fs.rmSync(path.join(mttyTypes(sys), "mtty-2/device_api"));
    const scan = scanSysfs({ sysfsRoot: sys });
    expect(scan.parents.map((p) => p.name)).toEqual(["0000:00:02.0", "matrix", "mbochs", "mdpy", "mtty"]);
    expect(scan.parents.find((p) => p.name === "mtty")?.types.map((t) => t.id)).toEqual(["mtty-1"]);
    expect(scan.mdevs).toHaveLength(5);
    const m = scan.mdevs.find((d) => d.name === MTTY_UUID)!;
    expect(m.mdev).toEqual({ parent: "mtty", type: "mtty-2", deviceApi: "" });
    expect(m.driver).toBe("mtty");
    // One file, one problem, although both the type and its mdev needed it.
    expect(scan.problems).toHaveLength(1);
    expect(scan.problems[0]).toMatchObject({
      reason: "MissingAttribute",
      path: path.join(fs.realpathSync(mttyTypes(sys)), "mtty-2/device_api"),
    });
    expect(scan.unknownFields.get(MTTY_UUID)).toEqual(["mdev_type/device_api"]);
  });

  test("a type with garbage available_instances: siblings and the mdev stay, the mdev is still on the bus", async () => {
    const { sys } = fixture();
    fs.writeFileSync(path.join(mttyTypes(sys), "mtty-2/available_instances"), "lots\n");
    const scan = scanSysfs({ sysfsRoot: sys });
    expect(scan.parents.find((p) => p.name === "mtty")?.types.map((t) => t.id)).toEqual(["mtty-1"]);
    expect(scan.parents.find((p) => p.name === "mdpy")?.types).toHaveLength(3);
    expect(scan.mdevs.find((d) => d.name === MTTY_UUID)?.mdev?.deviceApi).toBe("vfio-pci");
    expect(scan.problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/mtty-2\/available_instances: expected an unsigned decimal integer, found "lots\\n"/),
    ]);
    const source = new SysfsBusSource({ sysfsRoot: sys, host: new VfioHost({ kernel: standInKernel() }) });
    const listed = (await source.scan()).map((d) => d.address);
    expect(listed).toContainEqual({ kind: "mdev", uuid: MTTY_UUID });
    expect(source.scanProblems()).toHaveLength(1);
  });

  test("creating on the broken type says what is broken; its sibling still creates", () => {
    const { sys } = fixture();
    fs.writeFileSync(path.join(mttyTypes(sys), "mtty-2/available_instances"), "lots\n");
    const writeAttribute = fixtureKernelWriter(sys);
    const e = rejected(() => createMdev({ parent: "mtty", type: "mtty-2" }, { sysfsRoot: sys, writeAttribute }));
    expect(e.reason).toBe("MalformedSysfs");
    expect(e.message).toMatch(/available_instances: expected an unsigned decimal integer/);
    const made = createMdev({ parent: "mtty", type: "mtty-1" }, { sysfsRoot: sys, writeAttribute });
    expect(made.mdev?.type).toBe("mtty-1");
    expect(rejected(() => createMdev({ parent: "mtty", type: "mtty-9" }, { sysfsRoot: sys })).reason).toBe(
      "NoSuchType",
    );
  });

  test("a type name of several lines: the type stays, without a name", () => {
    const { sys } = fixture();
    fs.writeFileSync(path.join(mttyTypes(sys), "mtty-1/name"), "Single\nport\n");
    const scan = scanSysfs({ sysfsRoot: sys });
    const t = scan.parents.find((p) => p.name === "mtty")?.types.find((x) => x.id === "mtty-1");
    expect(t).toMatchObject({ id: "mtty-1", availableInstances: 22, deviceApi: "vfio-pci" });
    expect(t?.name).toBeUndefined();
    expect(scan.problems).toHaveLength(1);
  });

  test("strict reading still throws the first bad type", () => {
    const { sys } = fixture();
    fs.rmSync(path.join(mttyTypes(sys), "mtty-2/device_api"));
    expect(rejected(() => scanSysfs({ sysfsRoot: sys, strict: true })).reason).toBe("MissingAttribute");
    expect(rejected(() => readMdev(MTTY_UUID, { sysfsRoot: sys, strict: true })).reason).toBe("MissingAttribute");
  });
});

describe("fields read as lspci shows them", () => {
  test("numa_node -2 is shown, -1 is not", () => {
    const { sys } = fixture();
    fs.writeFileSync(path.join(vfDir(sys), "numa_node"), "-2\n");
    const scan = scanSysfs({ sysfsRoot: sys });
    const vf = scan.devices.find((d) => d.name === VF_BDF)!;
    expect(vf.numaNode).toBe(-2);
    expect(describeDevice(vf).numaNode).toBe(-2);
    expect(scan.devices.find((d) => d.name === "0000:00:02.0")?.numaNode).toBeUndefined(); // -1
    expect(scan.problems).toEqual([]);
  });

  test("a missing subsystem_device next to a subsystem_vendor reads 0000; both missing, both unknown", () => {
    const { sys } = fixture();
    const gpu = fs.realpathSync(path.join(sys, "bus/pci/devices/0000:00:02.0"));
    fs.rmSync(path.join(gpu, "subsystem_device"));
    fs.rmSync(path.join(vfDir(sys), "subsystem_device"));
    fs.rmSync(path.join(vfDir(sys), "subsystem_vendor"));
    const scan = scanSysfs({ sysfsRoot: sys });
    const ids = (n: string) => scan.devices.find((d) => d.name === n)?.ids;
    expect(ids("0000:00:02.0")).toMatchObject({ subsystemVendorId: 0x1028, subsystemDeviceId: 0 });
    expect(ids(VF_BDF)?.subsystemVendorId).toBeUndefined();
    expect(ids(VF_BDF)?.subsystemDeviceId).toBeUndefined();
    expect(scan.problems).toEqual([]);
  });

  test("the bus describes a function by the class name lspci prints: the sub-class's when it has one", () => {
    const { sys } = fixture();
    const scan = scanSysfs({ sysfsRoot: sys });
    const named = Object.fromEntries(scan.devices.map((d) => [d.name, describeDevice(d).description]));
    expect(named).toEqual({
      "0000:00:00.0": "Host bridge",
      "0000:00:02.0": "VGA compatible controller",
      "0000:3a:00.0": "PCI bridge",
      "0000:3b:00.0": "Ethernet controller",
      "0000:3b:00.1": "Ethernet controller",
      [VF_BDF]: "Ethernet controller",
      "10000:01:00.0": "Non-Volatile memory controller",
    });
    expect(defaultSpec().pci).toHaveLength(7);
  });
});
