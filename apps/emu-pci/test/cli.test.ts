import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "@emu/app-emu-pci";
import { fixtureKernelWriter, MTTY_UUID } from "@emu/mdev-pci/testing";
import { expect, test } from "vitest";
import { fixture } from "./fixtures/tmp.js";

/** A few lines of pci.ids, so names do not depend on the host's database. */
const PCI_IDS = `# test database
8086  Intel Corporation
\t154c  Ethernet Virtual Function 700 Series
\t1572  Ethernet Controller X710 for 10GbE SFP+
\t2030  Sky Lake-E PCI Express Root Port A
\t3e92  CoffeeLake-S GT2 [UHD Graphics 630]
144d  Samsung Electronics Co Ltd
\ta808  NVMe SSD Controller SM981/PM981/PM983
C 02  Network controller
\t00  Ethernet controller
`;

async function run(
  argv: string[],
  extra?: { env?: Record<string, string>; writeAttribute?: (f: string, d: string) => void },
) {
  let stdout = "";
  let stderr = "";
  const status = await runCli(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    ...(extra?.env ? { env: extra.env } : {}),
    ...(extra?.writeAttribute ? { writeAttribute: extra.writeAttribute } : {}),
  });
  return { status, stdout, stderr };
}

function withIds() {
  const { root, sys } = fixture();
  const ids = path.join(root, "pci.ids");
  fs.writeFileSync(ids, PCI_IDS);
  return { root, sys, ids };
}

test("status reads like dpdk-devbind --status, plus the mediated devices", async () => {
  const { sys, ids } = withIds();
  const r = await run(["--sysfs", sys, "--pci-ids", ids, "status"]);
  expect(r.status).toBe(0);
  expect(r.stderr).toBe("");
  expect(r.stdout).toBe(`Storage devices using kernel driver
===================================
10000:01:00.0 'NVMe SSD Controller SM981/PM981/PM983 a808' drv=nvme iommu_group=12

Network devices using a VFIO driver
===================================
0000:3b:02.0 'Ethernet Virtual Function 700 Series 154c' drv=vfio-pci numa_node=0 iommu_group=40 vfio=vfio0 physfn=0000:3b:00.0

Network devices using kernel driver
===================================
0000:3b:00.0 'Ethernet Controller X710 for 10GbE SFP+ 1572' drv=i40e numa_node=0 iommu_group=30

Other Network devices
=====================
0000:3b:00.1 'Ethernet Controller X710 for 10GbE SFP+ 1572' numa_node=0 iommu_group=31

Display devices using kernel driver
===================================
0000:00:02.0 'CoffeeLake-S GT2 [UHD Graphics 630] 3e92' drv=i915 iommu_group=0 mdev_parent

Bridge devices using kernel driver
==================================
0000:00:00.0 'Device 3ec2 3ec2' drv=skl_uncore iommu_group=1
0000:3a:00.0 'Sky Lake-E PCI Express Root Port A 2030' drv=pcieport numa_node=0 iommu_group=29

Mediated PCI devices (vfio-pci)
===============================
fc5b8ca4-b8c3-4e49-9a1a-7e4b1d2c6f10 parent=0000:00:02.0 type=i915-GVTg_V5_4 'GVTg_V5_4' drv=intel_vgpu_mdev iommu_group=14 vfio=vfio4
a297db4a-f4c2-11e6-90f6-d3b88d6c9525 parent=mbochs type=mbochs-small 'small' drv=mbochs iommu_group=16 vfio=vfio3
4d3a1f0e-7b2c-4e51-9a6d-0c8e2f1b3a55 parent=mdpy type=mdpy-vga 'mdpy-vga' drv=mdpy iommu_group=15 vfio=vfio2
83b8f4f2-509f-382f-3c1e-e6bfe0fa1001 parent=mtty type=mtty-2 'Dual port serial' drv=mtty iommu_group=13 vfio=vfio1

Other mediated devices (not PCI)
================================
669d9b23-fe1b-4ecb-be08-a2fabca99b71 parent=matrix type=vfio_ap-passthrough 'VFIO AP Passthrough Device' drv=vfio_ap_mdev iommu_group=17 api=vfio-ap

`);
});

test("list: one aligned row per bus device; --json for scripts", async () => {
  const { sys } = withIds();
  const r = await run(["--sysfs", sys, "list"]);
  const lines = r.stdout.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^ADDRESS +ID +CLASS +DRIVER +GROUP +NUMA$/);
  expect(lines).toContain(
    "0000:3b:02.0                          8086:154c  0200 Ethernet controller             vfio-pci         40     0",
  );
  expect(lines).toContain(
    "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001  -          mdev mtty/mtty-2                     mtty             13     -",
  );
  expect(lines.some((l) => l.includes("669d9b23"))).toBe(false); // vfio-ap is not on the PCI bus
  const json = JSON.parse((await run(["--sysfs", sys, "list", "--json"])).stdout);
  expect(json.devices[5].resources[0]).toMatchObject({ start: "0xb1010000", size: "0x10000", kind: "memory" });
  expect(json.mdevs).toHaveLength(5);
});

test("mdev list and mdev types read like mdevctl", async () => {
  const { sys } = withIds();
  expect((await run(["--sysfs", sys, "mdev", "list"])).stdout.split("\n").at(-2)).toBe(`${MTTY_UUID} mtty mtty-2`);
  const types = (await run(["--sysfs", sys, "mdev", "types"])).stdout;
  expect(types).toContain(`mtty
  mtty-1
    Available instances: 22
    Device API: vfio-pci
    Name: Single port serial
  mtty-2
`);
  expect(types).toContain(
    "    Description: low_gm_size: 128MB, high_gm_size: 512MB, fence: 4, resolution: 1920x1200, weight: 4\n",
  );
});

test("mdev create and remove, with the sysfs root from EMU_SYSFS_ROOT", async () => {
  const { sys } = withIds();
  const writeAttribute = fixtureKernelWriter(sys);
  const env = { EMU_SYSFS_ROOT: sys };
  const uuid = "0e4b2f6a-1c3d-4e5f-8a9b-0c1d2e3f4a5b";
  const created = await run(["mdev", "create", "--parent", "mtty", "--type", "mtty-1", "--uuid", uuid], {
    env,
    writeAttribute,
  });
  expect(created).toEqual({ status: 0, stdout: `${uuid} mtty mtty-1\n`, stderr: "" });
  expect((await run(["mdev", "list"], { env })).stdout).toContain(`${uuid} mtty mtty-1\n`);
  expect(await run(["mdev", "remove", uuid.toUpperCase()], { env, writeAttribute })).toEqual({
    status: 0,
    stdout: `removed ${uuid}\n`,
    stderr: "",
  });
});

test("errors a user can act on: exit 1 with the reason; usage mistakes exit 2 with the usage", async () => {
  const { sys } = withIds();
  const bad = await run(["--sysfs", sys, "mdev", "create", "--parent", "MTTY", "--type", "mtty-1"]);
  expect(bad.status).toBe(1);
  expect(bad.stderr).toBe(
    `emu-pci: no mdev parent "MTTY" (${sys}/class/mdev_bus/MTTY does not exist). Did you mean "mtty"?\n`,
  );
  const uuid = await run(["--sysfs", sys, "mdev", "remove", "not-a-uuid"]);
  expect(uuid.stderr).toMatch(/^emu-pci: "not-a-uuid" is not a UUID/);
  const nosys = await run(["--sysfs", "/nonexistent", "status"]);
  expect(nosys).toMatchObject({
    status: 1,
    stderr: "emu-pci: /nonexistent does not look like sysfs (no /nonexistent/bus)\n",
  });
  const usage = await run(["frobnicate"]);
  expect(usage.status).toBe(2);
  expect(usage.stderr).toMatch(/^emu-pci: unknown command "frobnicate"\nUsage: emu-pci/);
  expect((await run(["mdev", "create", "--parent", "mtty"])).stderr).toMatch(/mdev create needs --parent and --type/);
});

test("a malformed entry is a warning on stderr; the rest is still listed", async () => {
  const { sys } = withIds();
  fs.writeFileSync(path.join(fs.realpathSync(path.join(sys, "bus/pci/devices/0000:3b:00.1")), "class"), "ethernet\n");
  const r = await run(["--sysfs", sys, "--pci-ids", "none", "status"]);
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(
    /^warning: .*0000:3b:00\.1\/class: expected a 24-bit hex number such as 0x000000, found "ethernet\\n"\n$/,
  );
  expect(r.stdout).toContain("0000:3b:02.0 'Device 154c 154c'");
  // The device stays listed with its class unknown, as lspci keeps it.
  expect(r.stdout).toContain("0000:3b:00.1");
});

test("the installed bin runs and exits with the status", () => {
  const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "bin", "emu-pci.js");
  const { sys } = withIds();
  const r = spawnSync(process.execPath, [bin, "--sysfs", sys, "mdev", "list"], { encoding: "utf8" });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`${MTTY_UUID} mtty mtty-2`);
  expect(spawnSync(process.execPath, [bin, "nope"], { encoding: "utf8" }).status).toBe(2);
});
