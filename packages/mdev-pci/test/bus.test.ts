import {
  formatDeviceArg,
  isMdevPciError,
  type MdevPciError,
  PciBus,
  type PciDriver,
  parseDeviceArg,
  parseSelectionArgs,
  SysfsBusSource,
  VfioHost,
} from "@emu/mdev-pci";
import { AP_UUID, GVTG_UUID, MBOCHS_UUID, MDPY_UUID, MTTY_UUID, standInKernel, VF_BDF } from "@emu/mdev-pci/testing";
import { formatAddress, RegionIo, type VfioDevice } from "@emu/vfio-device";
import { describe, expect, test } from "vitest";
import { FakeVfioUserSource, iavfConfig } from "./fixtures/fake-source.js";
import { fixture } from "./fixtures/tmp.js";

function setup(known: string[] = ["/run/emu/iavf0.sock"]) {
  const { sys } = fixture();
  const kernel = standInKernel();
  const sysfs = new SysfsBusSource({ sysfsRoot: sys, host: new VfioHost({ kernel }) });
  const vfioUser = new FakeVfioUserSource(known, iavfConfig());
  const bus = new PciBus([sysfs, vfioUser]);
  return { bus, kernel, vfioUser, sys };
}

/** A driver that records what it was given, like the coming guest-side iavf driver. */
function recordingDriver(name: string, idTable: PciDriver["idTable"], fail = false) {
  const probed: Array<{ address: string; args: Record<string, string>; ids: string }> = [];
  const removed: string[] = [];
  const driver: PciDriver<{ address: string; device: VfioDevice }> = {
    name,
    idTable,
    async probe(device, ctx) {
      if (fail) throw new Error(`${name} refuses ${formatAddress(device.address)}`);
      probed.push({
        address: formatAddress(device.address),
        args: Object.fromEntries(ctx.args),
        ids: `${ctx.descriptor.vendorId.toString(16)}:${ctx.descriptor.deviceId.toString(16)}`,
      });
      return { address: formatAddress(device.address), device };
    },
    async remove(instance) {
      removed.push(instance.address);
    },
  };
  return { driver, probed, removed };
}

describe("device arguments, as DPDK's EAL takes them", () => {
  test("-a with driver arguments, -b, --no-pci; other arguments pass through", () => {
    const { selection, rest } = parseSelectionArgs([
      "-l",
      "0-1",
      "-a",
      "0000:3b:02.0,queues=2,rss",
      `--allow=${MTTY_UUID}`,
      "--no-pci",
      "--",
      "-i",
    ]);
    expect(rest).toEqual(["-l", "0-1", "--", "-i"]);
    expect(selection.noPci).toBe(true);
    expect(selection.allow?.map(formatDeviceArg)).toEqual(["0000:3b:02.0,queues=2,rss", MTTY_UUID]);
    expect(parseDeviceArg("3b:02.0,queues=2").args.get("queues")).toBe("2");
    expect(parseDeviceArg("vfio-user:/tmp/a.sock").address).toEqual({ kind: "vfio-user", socketPath: "/tmp/a.sock" });
  });

  test.each([
    [["-a", VF_BDF, "-b", "0000:3b:00.0"], /cannot be used at the same time/],
    [["-a"], /-a needs a device address/],
    [["-a", "3b:02"], /bad device argument "3b:02"/],
    [["-a", `${VF_BDF},,x`], /empty key/],
    [["-a", `${VF_BDF},q=1,q=2`], /"q" given twice/],
    [["-b", `${VF_BDF},q=1`], /a blocked device takes no arguments/],
  ])("%j is refused", (argv, message) => {
    let e: MdevPciError | undefined;
    try {
      parseSelectionArgs(argv);
    } catch (x) {
      if (isMdevPciError(x)) e = x;
    }
    expect(e?.reason).toBe("BadArgument");
    expect(e?.message).toMatch(message);
  });
});

describe("scan and selection", () => {
  test("physical devices, vfio-pci mdevs and vfio-user devices sit on one bus; vfio-ap is not PCI", async () => {
    const { bus } = setup();
    const { devices, problems } = await bus.scan();
    expect(problems).toEqual([]);
    const addrs = devices.map((d) => formatAddress(d.descriptor.address));
    expect(addrs).toContain(VF_BDF);
    expect(addrs).toContain("10000:01:00.0");
    expect(addrs).toEqual(
      expect.arrayContaining([MTTY_UUID, MDPY_UUID, MBOCHS_UUID, GVTG_UUID, "vfio-user:/run/emu/iavf0.sock"]),
    );
    expect(addrs).not.toContain(AP_UUID);
    expect(devices.every((d) => d.selected)).toBe(true);
    const mtty = devices.find((d) => formatAddress(d.descriptor.address) === MTTY_UUID)!.descriptor;
    expect(mtty).toMatchObject({
      source: "sysfs",
      vendorId: 0xffff,
      mdevType: "mtty-2",
      iommuGroup: 13,
      driver: "mtty",
    });
  });

  test("an allow-list takes only what it names; a block-list all but; --no-pci leaves the host's devices out", async () => {
    const { bus } = setup();
    const sel = (argv: string[]) => parseSelectionArgs(argv).selection;
    const picked = async (argv: string[]) =>
      (await bus.scan(sel(argv))).devices.filter((d) => d.selected).map((d) => formatAddress(d.descriptor.address));
    expect(await picked(["-a", VF_BDF, "-a", MTTY_UUID.toUpperCase()])).toEqual([VF_BDF, MTTY_UUID]);
    const blocked = await picked(["-b", VF_BDF]);
    expect(blocked).not.toContain(VF_BDF);
    expect(blocked).toContain("0000:3b:00.0");
    expect(await picked(["--no-pci"])).toEqual(["vfio-user:/run/emu/iavf0.sock"]);
  });

  test("an allow-listed device no source has is reported; an allow-listed socket is taken as given", async () => {
    const { bus } = setup([]);
    const { devices, problems } = await bus.scan(
      parseSelectionArgs(["-a", "0000:99:00.0", "-a", "vfio-user:/tmp/other.sock"]).selection,
    );
    expect(problems.map((p) => p.message)).toEqual([
      "allow-listed device 0000:99:00.0 was not found by any bus source",
    ]);
    expect(devices.filter((d) => d.selected).map((d) => formatAddress(d.descriptor.address))).toEqual([
      "vfio-user:/tmp/other.sock",
    ]);
  });

  test("open by address goes to the source that handles it", async () => {
    const { bus, vfioUser, kernel } = setup();
    const dev = await bus.open({ kind: "vfio-user", socketPath: "/x.sock" });
    expect(vfioUser.opens).toBe(1);
    await dev.close();
    const mtty = await bus.open({ kind: "mdev", uuid: MTTY_UUID });
    const bar0 = await RegionIo.open(mtty, 0);
    await bar0.write8(0n, 0x41);
    bar0.close();
    expect(kernel.regionMemory(MTTY_UUID, 0)[0]).toBe(0x41);
    await mtty.close();
    expect(kernel.openFdCount).toBe(0);
    await expect(new PciBus().open({ kind: "mdev", uuid: MTTY_UUID })).rejects.toThrow(
      /no bus source handles .* \(sources: none\)/,
    );
  });

  test("a device a source cannot open: the error names the address and the source, and keeps the source's", async () => {
    const { bus } = setup();
    const absent = "0000:99:1f.7";
    const e = await bus.open({ kind: "pci", domain: 0, bus: 0x99, device: 0x1f, function: 7 }).catch((x: unknown) => x);
    expect(isMdevPciError(e)).toBe(true);
    expect((e as MdevPciError).message).toBe(
      `cannot open ${absent} through the bus source "sysfs": no PCI device ${absent} (${(e as MdevPciError).path} does not exist)`,
    );
    expect((e as MdevPciError).reason).toBe("NoSuchDevice"); // the source's reason and path are kept
    expect((e as MdevPciError).path).toMatch(new RegExp(`/bus/pci/devices/${absent}$`));
    // Another source's error is the cause, under reason "Source".
    const refusing = new PciBus([
      {
        name: "sockets",
        handles: () => true,
        scan: async () => [],
        open: () => Promise.reject(new Error("ECONNREFUSED")),
      },
    ]);
    const f = await refusing.open({ kind: "vfio-user", socketPath: "/run/x.sock" }).catch((x: unknown) => x);
    expect(f).toMatchObject({
      reason: "Source",
      message: 'cannot open vfio-user:/run/x.sock through the bus source "sockets": ECONNREFUSED',
      cause: new Error("ECONNREFUSED"),
    });
  });
});

describe("probe: drivers matched by vendor/device id", () => {
  test("VFs by sysfs IDs, mdevs and vfio-user devices identified from config space, args passed, others skipped with reasons", async () => {
    const { bus, kernel, vfioUser } = setup();
    const iavf = recordingDriver("net_iavf", [
      { vendorId: 0x8086, deviceId: 0x154c },
      { vendorId: 0x8086, deviceId: 0x1889 },
    ]);
    const serial = recordingDriver("mtty_uart", [
      { vendorId: 0x4348, deviceId: 0x3253, classCode: 0x070000, classMask: 0xff0000 },
    ]);
    bus.registerDriver(iavf.driver);
    bus.registerDriver(serial.driver);
    expect(() => bus.registerDriver(iavf.driver)).toThrow(/already registered/);

    const report = await bus.probe(parseSelectionArgs(["-b", "0000:00:00.0"]).selection);
    expect(report.failed).toEqual([]);
    expect(report.attached.map((a) => [formatAddress(a.descriptor.address), a.driver])).toEqual([
      [VF_BDF, "net_iavf"],
      [MTTY_UUID, "mtty_uart"],
      ["vfio-user:/run/emu/iavf0.sock", "net_iavf"],
    ]);
    expect(iavf.probed.map((p) => p.ids)).toEqual(["8086:154c", "8086:1889"]);
    const skipped = Object.fromEntries(report.skipped.map((s) => [formatAddress(s.descriptor.address), s.reason]));
    expect(skipped["0000:3b:00.0"]).toBe(
      "it is bound to the kernel driver i40e, not vfio-pci (driverctl set-override 0000:3b:00.0 vfio-pci)",
    );
    expect(skipped["0000:3b:00.1"]).toMatch(/bound to no driver/);
    expect(skipped[MDPY_UUID]).toBe(`no driver for 1b36:000f (${MDPY_UUID})`);
    expect(skipped[MBOCHS_UUID]).toBe(`no driver for 1234:1111 (${MBOCHS_UUID})`);
    expect(skipped["0000:00:00.0"]).toBeUndefined();

    // Devices no driver took were closed again; the attached ones stay open until the bus closes.
    await bus.close();
    expect(iavf.removed).toEqual(["vfio-user:/run/emu/iavf0.sock", VF_BDF]);
    expect(serial.removed).toEqual([MTTY_UUID]);
    expect(kernel.openFdCount).toBe(0);
    expect(vfioUser.closes).toBe(vfioUser.opens);
  });

  test("allow-list arguments reach the driver", async () => {
    const { bus } = setup();
    const iavf = recordingDriver("net_iavf", [{ vendorId: 0x8086, deviceId: 0x154c }]);
    bus.registerDriver(iavf.driver);
    const report = await bus.probe(parseSelectionArgs(["-a", `${VF_BDF},queues=4,rss`]).selection);
    expect(report.attached).toHaveLength(1);
    expect(iavf.probed[0]?.args).toEqual({ queues: "4", rss: "" });
    await bus.detach(report.attached[0]!.descriptor.address);
    expect(iavf.removed).toEqual([VF_BDF]);
    await expect(bus.detach(report.attached[0]!.descriptor.address)).rejects.toThrow(/no driver is attached/);
  });

  test("a driver whose probe fails: reported, and the device closed", async () => {
    const { bus, kernel } = setup([]);
    bus.registerDriver(recordingDriver("grumpy", [{ vendorId: 0x4348 }], true).driver);
    const report = await bus.probe(parseSelectionArgs(["-a", MTTY_UUID]).selection);
    expect(report.attached).toEqual([]);
    expect(String(report.failed[0]?.error)).toMatch(/grumpy refuses 83b8f4f2/);
    expect(kernel.openFdCount).toBe(0);
  });
});
