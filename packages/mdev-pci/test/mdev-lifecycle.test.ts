import { createMdev, isMdevPciError, type MdevPciError, removeMdev, scanSysfs } from "@emu/mdev-pci";
import { fixtureKernelWriter, MTTY_UUID } from "@emu/mdev-pci/testing";
import { expect, test } from "vitest";
import { fixture } from "./fixtures/tmp.js";

function rejected(f: () => unknown): MdevPciError {
  try {
    f();
  } catch (e) {
    if (isMdevPciError(e)) return e;
    throw e;
  }
  throw new Error("expected an error");
}

test("create then remove an mdev through sysfs", () => {
  const { sys } = fixture();
  const writeAttribute = fixtureKernelWriter(sys);
  const uuid = "5E6C9C3E-0D4F-4A8B-9C1D-2E3F4A5B6C7D";
  const dev = createMdev({ parent: "mtty", type: "mtty-1", uuid }, { sysfsRoot: sys, writeAttribute });
  expect(dev.name).toBe(uuid.toLowerCase());
  expect(dev.mdev).toEqual({ parent: "mtty", type: "mtty-1", deviceApi: "vfio-pci" });
  const scan = scanSysfs({ sysfsRoot: sys });
  expect(scan.mdevs.map((m) => m.name)).toContain(uuid.toLowerCase());
  expect(scan.parents.find((p) => p.name === "mtty")?.types[0]?.availableInstances).toBe(21);

  removeMdev(uuid, { sysfsRoot: sys, writeAttribute });
  expect(scanSysfs({ sysfsRoot: sys }).mdevs.map((m) => m.name)).not.toContain(uuid.toLowerCase());
});

test("a random UUID when none is given; on a PCI parent", () => {
  const { sys } = fixture();
  const dev = createMdev(
    { parent: "0000:00:02.0", type: "i915-GVTg_V5_8" },
    { sysfsRoot: sys, writeAttribute: fixtureKernelWriter(sys) },
  );
  expect(dev.name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(dev.mdev?.parentAddress).toEqual({ kind: "pci", domain: 0, bus: 0, device: 2, function: 0 });
});

test("clear errors: unknown parent (with a hint), unknown type, none left, duplicate, bad UUID, busy, no device", () => {
  const { sys } = fixture();
  const opts = { sysfsRoot: sys, writeAttribute: fixtureKernelWriter(sys, { busy: new Set([MTTY_UUID]) }) };
  expect(rejected(() => createMdev({ parent: "MTTY", type: "mtty-1" }, opts)).message).toMatch(
    /no mdev parent "MTTY" .* Did you mean "mtty"\?/,
  );
  expect(rejected(() => createMdev({ parent: "mtty", type: "mtty-3" }, opts))).toMatchObject({
    reason: "NoSuchType",
    message: expect.stringMatching(/mtty has no mdev type "mtty-3"\. Known: mtty-1, mtty-2\./),
  });
  createMdev({ parent: "0000:00:02.0", type: "i915-GVTg_V5_4" }, opts);
  expect(rejected(() => createMdev({ parent: "0000:00:02.0", type: "i915-GVTg_V5_4" }, opts))).toMatchObject({
    reason: "NoInstances",
    message: "0000:00:02.0 i915-GVTg_V5_4: no available instances left",
  });
  expect(rejected(() => createMdev({ parent: "mtty", type: "mtty-2", uuid: MTTY_UUID }, opts))).toMatchObject({
    reason: "AlreadyExists",
    code: "EEXIST",
  });
  expect(rejected(() => createMdev({ parent: "mtty", type: "mtty-2", uuid: "zz" }, opts)).reason).toBe("BadUuid");
  expect(rejected(() => removeMdev(MTTY_UUID, opts))).toMatchObject({
    reason: "Kernel",
    code: "EBUSY",
    message: expect.stringMatching(/removing 83b8f4f2-.*: the device is in use/),
  });
  expect(rejected(() => removeMdev("11111111-1111-1111-1111-111111111111", opts)).reason).toBe("NoSuchDevice");
});

test("without root, the sysfs write fails with a message saying so", () => {
  const { sys } = fixture();
  const denied = () => {
    throw Object.assign(new Error("EACCES"), { code: "EACCES" });
  };
  expect(
    rejected(() => createMdev({ parent: "mtty", type: "mtty-1" }, { sysfsRoot: sys, writeAttribute: denied })).message,
  ).toMatch(/permission denied \(writing sysfs needs root\) \(writing .*mtty-1\/create\)/);
});

test("a create the kernel accepts without a device appearing is reported", () => {
  const { sys } = fixture();
  // The default writer writes into the fixture's plain `create` file: nothing appears.
  expect(rejected(() => createMdev({ parent: "mtty", type: "mtty-1" }, { sysfsRoot: sys })).message).toMatch(
    /wrote [0-9a-f-]{36} to .*mtty-1\/create, but no device .* appeared/,
  );
});
