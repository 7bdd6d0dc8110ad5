/**
 * The scan of each fixture equals, field for field, what the real tools report on the same tree:
 * `lspci -A linux-sysfs -O sysfs.path=<fixture>/sys/bus/pci -vmm -D -nn -k` (pciutils) and `mdevctl list`/`types`
 * (mdevctl 1.2.0, which has no root option, so it runs in a private mount namespace with the fixture bind-mounted
 * over /sys and /etc/mdevctl.d). Skipped, with the reason, where the tools or the namespace are unavailable.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { type PciDevice, scanSysfs } from "@emu/mdev-pci";
import { addMdev, defaultSpec, type FixtureSpec, MTTY_UUID } from "@emu/mdev-pci/testing";
import { formatAddress, type PciAddress } from "@emu/vfio-device";
import { describe, expect, inject, test } from "vitest";
import { fixture } from "./fixtures/tmp.js";

const tools = inject("tools");

type Record_ = Map<string, string>;

function lspci(sys: string): Record_[] {
  const r = spawnSync(
    "lspci",
    ["-A", "linux-sysfs", "-O", `sysfs.path=${path.join(sys, "bus", "pci")}`, "-vmm", "-D", "-nn", "-k"],
    {
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(`lspci failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split(/\n\n+/)
    .map(
      (rec) =>
        new Map(
          rec.split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":\t") + 2)] as [string, string]),
        ),
    );
}

/** The hex id lspci -nn prints in brackets at the end of a field. */
const bracket = (v: string | undefined) =>
  v === undefined ? undefined : Number.parseInt(/\[([0-9a-f]+)\]$/.exec(v)![1]!, 16);

/** What lspci -vmm would print for a device we scanned, using lspci's own rules for optional fields. */
function expectedFields(d: PciDevice) {
  const ids = d.ids!;
  const sv = ids.subsystemVendorId ?? 0;
  return {
    Slot: formatAddress(d.address as PciAddress),
    Class: ids.classCode >> 8,
    Vendor: ids.vendorId,
    Device: ids.deviceId,
    SVendor: sv !== 0 && sv !== 0xffff ? sv : undefined,
    SDevice: sv !== 0 && sv !== 0xffff ? ids.subsystemDeviceId : undefined,
    Rev: ids.revision ? ids.revision : undefined,
    ProgIf: ids.classCode & 0xff,
    Driver: d.driver,
    NUMANode: d.numaNode,
    IOMMUGroup: d.iommuGroup,
  };
}

function fromLspci(r: Record_) {
  const num = (k: string, radix: number) => (r.has(k) ? Number.parseInt(r.get(k)!, radix) : undefined);
  return {
    Slot: r.get("Slot"),
    Class: bracket(r.get("Class")),
    Vendor: bracket(r.get("Vendor")),
    Device: bracket(r.get("Device")),
    SVendor: bracket(r.get("SVendor")),
    SDevice: bracket(r.get("SDevice")),
    Rev: num("Rev", 16),
    ProgIf: num("ProgIf", 16) ?? 0,
    Driver: r.get("Driver"),
    NUMANode: num("NUMANode", 10),
    IOMMUGroup: num("IOMMUGroup", 10),
  };
}

/** Runs mdevctl with the fixture bind-mounted over /sys and /etc/mdevctl.d in a private mount namespace. */
function mdevctl(root: string, args: string[]): string {
  const script =
    'mount --bind "$1/sys" /sys && mount --bind "$1/etc/mdevctl.d" /etc/mdevctl.d && shift && exec mdevctl "$@"';
  const r = spawnSync("unshare", ["-m", "sh", "-c", script, "sh", root, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mdevctl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

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

    const listed = mdevctl(root, ["list"])
      .trim()
      .split("\n")
      .map((l) => l.split(" ").slice(0, 3));
    expect(scan.mdevs.map((m) => [m.name, m.mdev!.parent, m.mdev!.type])).toEqual(listed);

    const types = JSON.parse(mdevctl(root, ["types", "--dumpjson"])) as Array<
      Record<string, Array<Record<string, object>>>
    >;
    const ours = scan.parents.map((p) => ({
      [p.name]: p.types.map((t) => ({
        [t.id]: {
          available_instances: t.availableInstances,
          device_api: t.deviceApi,
          ...(t.name === undefined ? {} : { name: t.name }),
          ...(t.description === undefined ? {} : { description: t.description.split("\n").join(", ") }),
        },
      })),
    }));
    expect([Object.assign({}, ...ours)]).toEqual(types);
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
  const listed = mdevctl(root, ["list"])
    .trim()
    .split("\n")
    .map((l) => l.split(" ")[0]);
  expect(scanSysfs({ sysfsRoot: sys }).mdevs.map((m) => m.name)).toEqual(listed);
  expect(listed).toContain(MTTY_UUID);
});
