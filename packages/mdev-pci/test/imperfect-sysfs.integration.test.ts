/**
 * On imperfect sysfs trees our scan keeps what lspci and mdevctl keep (issue 8, items 7-9): every device lspci lists
 * we list, field for field, except the one damaged field where lspci prints a guess (strtol of garbage) and we say
 * unknown; every mdev mdevctl lists we list; our types equal what mdevctl shows once the broken type is gone (mdevctl
 * itself gives up on the whole listing). Skipped, with the reason, where the tools or a mount namespace are missing.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describeDevice, scanSysfs } from "@emu/mdev-pci";
import { runMdevctl, VF_BDF } from "@emu/mdev-pci/testing";
import { describe, expect, inject, test } from "vitest";
import { expectedFields, fromLspci, lspci, nameOf, typesAsMdevctlJson } from "./fixtures/real-tools.js";
import { fixture } from "./fixtures/tmp.js";

const tools = inject("tools");

const vfDir = (sys: string) => fs.realpathSync(path.join(sys, "bus/pci/devices", VF_BDF));

/** A damage to the VF, and the lspci fields that then hold a guess of lspci's where we say unknown. */
const damages: Array<{ name: string; damage: (sys: string, dir: string) => void; lspciGuesses: string[] }> = [
  {
    name: "a dangling driver link",
    damage: (sys) => fs.rmSync(path.join(sys, "bus/pci/drivers/vfio-pci"), { recursive: true }),
    lspciGuesses: [],
  },
  {
    name: "a dangling iommu_group link",
    damage: (sys) => fs.rmSync(path.join(sys, "kernel/iommu_groups/40"), { recursive: true }),
    lspciGuesses: [],
  },
  {
    name: "a garbage numa_node",
    damage: (_s, dir) => fs.writeFileSync(path.join(dir, "numa_node"), "zero\n"),
    lspciGuesses: ["NUMANode"],
  },
  { name: "a missing irq", damage: (_s, dir) => fs.rmSync(path.join(dir, "irq")), lspciGuesses: [] },
  { name: "a missing resource", damage: (_s, dir) => fs.rmSync(path.join(dir, "resource")), lspciGuesses: [] },
  {
    name: "a class with a trailing space",
    damage: (_s, dir) => fs.writeFileSync(path.join(dir, "class"), "0x020000 \n"),
    lspciGuesses: [],
  },
  {
    name: "a class too wide",
    damage: (_s, dir) => fs.writeFileSync(path.join(dir, "class"), "0x02000000\n"),
    lspciGuesses: ["Class", "ProgIf"],
  },
  {
    name: "numa_node -2",
    damage: (_s, dir) => fs.writeFileSync(path.join(dir, "numa_node"), "-2\n"),
    lspciGuesses: [],
  },
  {
    name: "a missing subsystem_device",
    damage: (_s, dir) => fs.rmSync(path.join(dir, "subsystem_device")),
    lspciGuesses: [],
  },
];

describe("lspci and we list the same devices, field for field", () => {
  test.for(damages)("$name", ({ damage, lspciGuesses }, ctx) => {
    if (tools.lspci) return ctx.skip(tools.lspci);
    const { sys } = fixture();
    damage(sys, vfDir(sys));
    const scan = scanSysfs({ sysfsRoot: sys });
    const theirs = lspci(sys);
    const mask = (fields: Record<string, unknown>) =>
      fields.Slot === VF_BDF
        ? Object.fromEntries(Object.entries(fields).filter(([k]) => !lspciGuesses.includes(k)))
        : fields;
    expect(scan.devices.map(expectedFields).map(mask)).toEqual(theirs.map(fromLspci).map(mask));
    // The class name is lspci's, wherever the class is known.
    const known = scan.devices.filter((d) => !(d.name === VF_BDF && lspciGuesses.includes("Class")));
    expect(known.map((d) => describeDevice(d).description)).toEqual(
      theirs.filter((r) => known.some((d) => d.name === r.get("Slot"))).map((r) => nameOf(r.get("Class"))),
    );
  });
});

const typeDamages: Array<[string, (typeDir: string) => void]> = [
  ["a type without device_api", (t) => fs.rmSync(path.join(t, "device_api"))],
  ["a type with garbage available_instances", (t) => fs.writeFileSync(path.join(t, "available_instances"), "lots\n")],
];

describe.each(typeDamages)("mdevctl: %s", (_name, damage) => {
  test("every mdev mdevctl lists, we list; our types are mdevctl's without the broken one", (ctx) => {
    if (tools.mdevctl) return ctx.skip(tools.mdevctl);
    if (tools.unshare) return ctx.skip(tools.unshare);
    const { root, sys } = fixture();
    const typeDir = path.join(sys, "devices/virtual/mtty/mtty/mdev_supported_types/mtty-2");
    damage(typeDir);
    const scan = scanSysfs({ sysfsRoot: sys });

    const listed = runMdevctl(root, ["list"]);
    expect(listed.status).toBe(0);
    const theirs = listed.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(" ").slice(0, 3));
    expect(scan.mdevs.map((m) => [m.name, m.mdev!.parent, m.mdev!.type])).toEqual(theirs);

    // mdevctl types fails on the whole tree for one broken type; without it, it shows what we show with it.
    fs.rmSync(typeDir, { recursive: true });
    const types = runMdevctl(root, ["types", "--dumpjson"]);
    expect(types.status).toBe(0);
    expect(typesAsMdevctlJson(scan.parents)).toEqual(JSON.parse(types.stdout));
  });
});
