/**
 * The scan of each fixture equals, field for field, what the real tools report on the same tree:
 * `lspci -A linux-sysfs -O sysfs.path=<fixture>/sys/bus/pci -vmm -D -nn -k` (pciutils) and `mdevctl list`/`types`
 * (mdevctl 1.2.0, which has no root option, so it runs in a private mount namespace with the fixture bind-mounted
 * over /sys and /etc/mdevctl.d). Skipped, with the reason, where the tools or the namespace are unavailable.
 */
import { scanSysfs } from "@emu/mdev-pci";
import { addMdev, defaultSpec, type FixtureSpec, MTTY_UUID } from "@emu/mdev-pci/testing";
import { describe, expect, inject, test } from "vitest";
import { expectedFields, fromLspci, lspci, mdevctlOutput, typesAsMdevctlJson } from "./fixtures/real-tools.js";
import { fixture } from "./fixtures/tmp.js";

const tools = inject("tools");

function variantSpec(): FixtureSpec {
  // A second tree: no GPU parent, two mtty instances of different types, an unbound mdev (no driver link).
  const base = defaultSpec();
  return {
    pci: base.pci.filter((p) => p.mdevTypes === undefined),
    virtualParents: base.virtualParents,
    mdevs: [
      ...base.mdevs.filter((m) => m.parent !== "0000:00:02.0"),
      { uuid: "00000000-0000-4000-8000-00000000000a", parent: "mtty", type: "mtty-1", iommuGroup: 20 },
    ],
  };
}

const specs: Array<[string, () => FixtureSpec]> = [
  ["default host", defaultSpec],
  ["variant host", variantSpec],
];

describe.each(specs)("%s", (_name, spec) => {
  test("scan equals lspci -vmm -D -nn -k, field for field", (ctx) => {
    if (tools.lspci) return ctx.skip(tools.lspci);
    const { sys } = fixture(spec());
    const scan = scanSysfs({ sysfsRoot: sys, strict: true });
    const seen = lspci(sys).map(fromLspci);
    expect(seen.length).toBeGreaterThan(0);
    expect(scan.devices.map(expectedFields)).toEqual(seen);
  });

  test("mdevs equal mdevctl list, types equal mdevctl types", (ctx) => {
    if (tools.mdevctl) return ctx.skip(tools.mdevctl);
    if (tools.unshare)
      return ctx.skip(`mdevctl 1.2.0 has no root option and needs a private mount namespace: ${tools.unshare}`);
    const { root, sys } = fixture(spec());
    const scan = scanSysfs({ sysfsRoot: sys, strict: true });

    const listed = mdevctlOutput(root, ["list"])
      .trim()
      .split("\n")
      .map((l) => l.split(" ").slice(0, 3));
    expect(scan.mdevs.map((m) => [m.name, m.mdev!.parent, m.mdev!.type])).toEqual(listed);

    const types = JSON.parse(mdevctlOutput(root, ["types", "--dumpjson"]));
    expect(typesAsMdevctlJson(scan.parents)).toEqual(types);
  });
});

test("an mdev added after the first scan shows up in both", (ctx) => {
  if (tools.mdevctl) return ctx.skip(tools.mdevctl);
  if (tools.unshare) return ctx.skip(tools.unshare);
  const { root, sys } = fixture();
  addMdev(sys, {
    uuid: "11111111-2222-4333-8444-555555555555",
    parent: "mtty",
    type: "mtty-1",
    driver: "mtty",
    iommuGroup: 21,
  });
  const listed = mdevctlOutput(root, ["list"])
    .trim()
    .split("\n")
    .map((l) => l.split(" ")[0]);
  expect(scanSysfs({ sysfsRoot: sys }).mdevs.map((m) => m.name)).toEqual(listed);
  expect(listed).toContain(MTTY_UUID);
});
