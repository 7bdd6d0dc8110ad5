import * as fs from "node:fs";
import {
  isMdevPciError,
  type KernelVfioDevice,
  nativeVfioKernel,
  readMdev,
  readPciDevice,
  VfioHost,
  type VfioKernel,
  vfioIoctls,
} from "@emu/mdev-pci";
import {
  AP_UUID,
  GVT_APERTURE,
  GVTG_UUID,
  MBOCHS_UUID,
  MDPY_UUID,
  MTTY_UUID,
  StandInVfioKernel,
  standInKernel,
  VF_BDF,
} from "@emu/mdev-pci/testing";
import { closeFd, memfdCreate, mmap } from "@emu/sys";
import { isVfioDeviceError, RegionIo } from "@emu/vfio-device";
import { afterEach, describe, expect, test } from "vitest";
import { fixture } from "./fixtures/tmp.js";

const MiB = 1n << 20n;
const opened: KernelVfioDevice[] = [];
afterEach(async () => {
  for (const d of opened.splice(0)) await d.close();
});

/** Counts what reaches the kernel seam: ioctls (with the argsz they carried), preads, pwrites, mmaps. */
function recording(kernel: VfioKernel) {
  const calls: string[] = [];
  const wrapped: VfioKernel = {
    description: kernel.description,
    arch: kernel.arch,
    exists: (p) => kernel.exists(p),
    open: (p) => {
      calls.push(`open ${p}`);
      return kernel.open(p);
    },
    close: (fd) => kernel.close(fd),
    ioctl: (fd, req, arg) => {
      calls.push(
        `ioctl 0x${req.toString(16)}${arg instanceof Uint8Array && arg.length >= 4 ? ` argsz=${new DataView(arg.buffer, arg.byteOffset).getUint32(0, true)}` : ""}`,
      );
      return kernel.ioctl(fd, req, arg);
    },
    pread: (fd, len, pos) => {
      calls.push(`pread ${len}@0x${pos.toString(16)}`);
      return kernel.pread(fd, len, pos);
    },
    pwrite: (fd, data, pos) => {
      calls.push(`pwrite ${data.length}@0x${pos.toString(16)}`);
      return kernel.pwrite(fd, data, pos);
    },
    mmap: (fd, off, len) => {
      calls.push(`mmap ${len}@0x${off.toString(16)}`);
      return kernel.mmap(fd, off, len);
    },
    eventfd: () => kernel.eventfd(),
    allocDma: (n) => kernel.allocDma(n),
    mapDmaFile: (fd, off, n) => kernel.mapDmaFile(fd, off, n),
  };
  return { kernel: wrapped, calls };
}

async function open(kernel: VfioKernel, name: string, flow: "auto" | "group" | "cdev" = "auto") {
  const { sys } = fixture();
  const device = name.includes("-") ? readMdev(name, { sysfsRoot: sys }) : readPciDevice(name, { sysfsRoot: sys });
  const d = await new VfioHost({ kernel, flow }).open(device);
  opened.push(d);
  return d;
}

test("ioctl numbers: _IO(';', 100 + n), with _IOC_NONE in bit 29 on powerpc", () => {
  expect(vfioIoctls("x64").GROUP_GET_DEVICE_FD).toBe(0x3b6a);
  expect(vfioIoctls("arm64").DEVICE_GET_REGION_INFO).toBe(0x3b6c);
  expect(vfioIoctls("ppc64").DEVICE_GET_REGION_INFO).toBe(0x20003b6c);
  expect(vfioIoctls("x64").IOMMU_IOAS_MAP).toBe(0x3b85);
  expect(vfioIoctls("x64").DEVICE_BIND_IOMMUFD).toBe(0x3b76);
});

describe("opening", () => {
  test("a VF through the group/container flow: the fd is asked for by BDF", async () => {
    const rec = recording(standInKernel());
    const vf = await open(rec.kernel, VF_BDF, "group");
    expect(vf.flow).toBe("group");
    expect(rec.calls.filter((c) => c.startsWith("open"))).toEqual(["open /dev/vfio/vfio", "open /dev/vfio/40"]);
    expect(await vf.getInfo()).toEqual({ flags: 3, resettable: true, pci: true, numRegions: 9, numIrqs: 5 });
    const bar3 = await vf.getRegionInfo(3);
    expect(bar3).toMatchObject({ offset: 3n << 40n, size: 0x4000n, mmappable: true, msixMappable: true });
  });

  test("an mdev through the cdev flow when /dev/iommu and vfio-dev/vfioN exist", async () => {
    const rec = recording(standInKernel());
    const mtty = await open(rec.kernel, MTTY_UUID);
    expect(mtty.flow).toBe("cdev");
    expect(rec.calls.filter((c) => c.startsWith("open"))).toEqual(["open /dev/iommu", "open /dev/vfio/devices/vfio1"]);
    expect(await mtty.regionRead(7, 0n, 4)).toEqual(Uint8Array.of(0x48, 0x43, 0x53, 0x32));
  });

  test("falls back to the group flow on a kernel without the cdev API", async () => {
    const mtty = await open(standInKernel({ cdev: false }), MTTY_UUID);
    expect(mtty.flow).toBe("group");
  });

  test("every fd is closed again: devices, groups, container, iommufd, eventfds", async () => {
    const kernel = standInKernel();
    const { sys } = fixture();
    const host = new VfioHost({ kernel, flow: "group" });
    const a = await host.open(readMdev(MTTY_UUID, { sysfsRoot: sys }));
    const b = await host.open(readPciDevice(VF_BDF, { sysfsRoot: sys }));
    await a.enableIrqs(0, 0, 1, () => {});
    await (await RegionIo.open(b, 0)).read32(0n);
    expect(kernel.openFdCount).toBeGreaterThan(4);
    await a.close();
    await b.close();
    await a.close();
    expect(kernel.openFdCount).toBe(0);
    expect(kernel.mappingCount).toBe(0);
  });
});

describe("regions: the offset the kernel reports, never index << 40", () => {
  test("mdpy: config at file offset 0, BAR0 and the display region both at 0x1000", async () => {
    const rec = recording(standInKernel());
    const mdpy = await open(rec.kernel, MDPY_UUID);
    const cfg = await mdpy.regionRead(7, 0n, 4);
    expect(cfg).toEqual(Uint8Array.of(0x36, 0x1b, 0x0f, 0x00));
    expect(rec.calls).toContain("pread 4@0x0");
    expect((await mdpy.getRegionInfo(16)).offset).toBe(0x1000n);
    await mdpy.regionWrite(0, 0x10n, Uint8Array.of(9, 8, 7));
    expect(await mdpy.regionRead(16, 0x10n, 3)).toEqual(Uint8Array.of(9, 8, 7));
  });

  test("mbochs: BAR2 at 0x1000, the EDID region typed GFX/EDID at 0x2000, VRAM at 0x3000", async () => {
    const rec = recording(standInKernel());
    const mbochs = await open(rec.kernel, MBOCHS_UUID);
    expect(await mbochs.getRegionInfo(9)).toMatchObject({ offset: 0x2000n, type: { type: 1, subtype: 1 } });
    await mbochs.regionWrite(2, 0x500n, Uint8Array.of(0xc0, 0xb0));
    expect(rec.calls).toContain("pwrite 2@0x1500");
    const vram = await RegionIo.open(mbochs, 0);
    expect(rec.calls).toContain(`mmap ${4 * 1024 * 1024}@0x3000`);
    vram.close();
  });

  test("the capability chain is fetched with a grown argsz when it does not fit", async () => {
    const rec = recording(standInKernel());
    const gvt = await open(rec.kernel, GVTG_UUID);
    const info = await gvt.getRegionInfo(2);
    const req = `ioctl 0x${vfioIoctls().DEVICE_GET_REGION_INFO.toString(16)}`;
    expect(rec.calls.filter((c) => c.startsWith(req))).toEqual([`${req} argsz=32`, `${req} argsz=64`]);
    expect(info).toMatchObject({ size: 256n * MiB, mmappable: true, sparseAreas: [GVT_APERTURE] });
    expect((await gvt.getRegionInfo(9)).type).toEqual({ type: 0x80008086, subtype: 1 });
    expect((await gvt.getRegionInfo(0)).mmappable).toBe(false);
  });
});

describe("GVT-g BAR2: the sparse area mapped, the gaps served by pread/pwrite", () => {
  test("only the listed area is mmapped", async () => {
    const kernel = standInKernel();
    const rec = recording(kernel);
    const gvt = await open(rec.kernel, GVTG_UUID);
    const bar2 = await RegionIo.open(gvt, 2);
    expect(bar2.areas.map((a) => [a.offset, a.size])).toEqual([[GVT_APERTURE.offset, GVT_APERTURE.size]]);
    expect(rec.calls.filter((c) => c.startsWith("mmap"))).toEqual([
      `mmap ${Number(GVT_APERTURE.size)}@0x${((2n << 40n) + GVT_APERTURE.offset).toString(16)}`,
    ]);
    bar2.close();
  });

  test("accesses inside the area are plain memory, in the gaps they are pread/pwrite, across the edge they split", async () => {
    const kernel = standInKernel();
    const rec = recording(kernel);
    const gvt = await open(rec.kernel, GVTG_UUID);
    const bar2 = await RegionIo.open(gvt, 2);
    const mem = kernel.regionMemory(GVTG_UUID, 2);
    const base = 2n << 40n;
    const start = GVT_APERTURE.offset;
    const before = rec.calls.length;

    await bar2.write32(start + 0x100n, 0xdeadbeef); // inside: a store into the mapping
    expect(new DataView(mem.buffer).getUint32(Number(start) + 0x100, true)).toBe(0xdeadbeef);
    expect(await bar2.read32(start + 0x100n)).toBe(0xdeadbeef);
    expect(rec.calls.length).toBe(before);

    await bar2.write16(0x40n, 0xabcd); // the gap below the area
    expect(rec.calls.at(-1)).toBe(`pwrite 2@0x${(base + 0x40n).toString(16)}`);
    expect(await bar2.read16(0x40n)).toBe(0xabcd);
    expect(rec.calls.at(-1)).toBe(`pread 2@0x${(base + 0x40n).toString(16)}`);

    const top = start + GVT_APERTURE.size; // the gap above the area
    await bar2.write8(top, 0x5a);
    expect(rec.calls.at(-1)).toBe(`pwrite 1@0x${(base + top).toString(16)}`);
    expect(mem[Number(top)]).toBe(0x5a);

    rec.calls.length = 0;
    await bar2.write64(start - 4n, 0x1122334455667788n); // half in the gap, half in the area
    expect(rec.calls).toEqual([`pwrite 4@0x${(base + start - 4n).toString(16)}`]);
    expect(await bar2.read64(start - 4n)).toBe(0x1122334455667788n);
    expect(new DataView(mem.buffer).getBigUint64(Number(start) - 4, true)).toBe(0x1122334455667788n);
    bar2.close();
  });

  test("bounds: accesses past the region end are refused before reaching the kernel", async () => {
    const rec = recording(standInKernel());
    const gvt = await open(rec.kernel, GVTG_UUID);
    const bar2 = await RegionIo.open(gvt, 2);
    await gvt.getRegionInfo(9);
    const n = rec.calls.length;
    await expect(bar2.read32(256n * MiB - 2n)).rejects.toMatchObject({
      _tag: "VfioDeviceError",
      reason: "OutOfBounds",
    });
    await expect(gvt.regionRead(2, 256n * MiB, 1)).rejects.toMatchObject({ reason: "OutOfBounds" });
    await expect(gvt.regionWrite(9, 0n, Uint8Array.of(1))).rejects.toMatchObject({ reason: "Unsupported" });
    await expect(gvt.regionRead(2, -1n, 1)).rejects.toMatchObject({ reason: "OutOfBounds" });
    expect(rec.calls.length).toBe(n);
    bar2.close();
  });

  test("the stand-in kernel itself refuses an mmap outside the sparse area, as the kernel does", () => {
    const kernel = standInKernel();
    const group = kernel.open("/dev/vfio/14");
    const container = kernel.open("/dev/vfio/vfio");
    kernel.ioctl(group, vfioIoctls().GROUP_SET_CONTAINER, Uint8Array.of(container & 0xff, container >> 8, 0, 0));
    kernel.ioctl(container, vfioIoctls().SET_IOMMU, 3);
    const fd = kernel.ioctl(group, vfioIoctls().GROUP_GET_DEVICE_FD, new TextEncoder().encode(`${GVTG_UUID}\0`));
    expect(() => kernel.mmap(fd, 2n << 40n, 4096)).toThrow(/outside its sparse mmap areas/);
    expect(() => kernel.mmap(fd, 0n, 4096)).toThrow(/not mmap-able/);
    for (const f of [fd, group, container]) kernel.close(f);
  });

  test("after unmap the same accessor path falls back to pread/pwrite", async () => {
    const rec = recording(standInKernel());
    const gvt = await open(rec.kernel, GVTG_UUID);
    const mapping = await gvt.mapRegion(2);
    mapping.unmap();
    expect(mapping.areas[0]?.bytes.length).toBe(0);
  });
});

describe("IRQs and reset", () => {
  test("MSI-X vectors signal through eventfds; disable stops them", async () => {
    const kernel = standInKernel();
    const vf = await open(kernel, VF_BDF);
    expect(await vf.getIrqInfo(2)).toMatchObject({ count: 5, eventfd: true, noresize: true, maskable: false });
    const seen: Array<[number, bigint]> = [];
    const binding = await vf.enableIrqs(2, 0, 5, (v, n) => seen.push([v, n]));
    expect(kernel.trigger(VF_BDF, 2, 3)).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([[3, 1n]]);
    await binding.disable();
    expect(kernel.trigger(VF_BDF, 2, 3)).toBe(false);
  });

  test("mtty INTx: masked vectors do not signal; unmask restores", async () => {
    const kernel = standInKernel();
    const mtty = await open(kernel, MTTY_UUID);
    await mtty.enableIrqs(0, 0, 1, () => {});
    await mtty.setIrqs({ index: 0, action: "mask", start: 0, count: 1, data: { kind: "none" } });
    expect(kernel.trigger(MTTY_UUID, 0, 0)).toBe(false);
    await mtty.setIrqs({ index: 0, action: "unmask", start: 0, count: 1, data: { kind: "none" } });
    expect(kernel.trigger(MTTY_UUID, 0, 0)).toBe(true);
    await expect(mtty.enableIrqs(1, 0, 2, () => {})).rejects.toMatchObject({ _tag: "VfioDeviceError", code: "EINVAL" });
  });

  test("reset reaches the kernel and the device's config comes back", async () => {
    const kernel = standInKernel();
    const gvt = await open(kernel, GVTG_UUID);
    await gvt.regionWrite(7, 0x3cn, Uint8Array.of(0x55));
    await gvt.reset();
    expect(kernel.resetCount(GVTG_UUID)).toBe(1);
    expect((await gvt.regionRead(7, 0x3cn, 1))[0]).toBe(0);
  });
});

describe("DMA", () => {
  test.each(["group", "cdev"] as const)("map and unmap through the %s flow", async (flow) => {
    const kernel = standInKernel();
    const vf = await open(kernel, VF_BDF, flow);
    const buf = await vf.dmaMap(0x100000n, 0x2000n, { read: true, write: true });
    buf.bytes[5] = 42;
    expect(kernel.dmaMappings).toHaveLength(1);
    expect(kernel.dmaMappings[0]).toMatchObject({ iova: 0x100000n, size: 0x2000n, readable: true, writable: true });
    expect(kernel.dmaMappings[0]?.bytes[5]).toBe(42);
    await vf.dmaUnmap(0x100000n, 0x2000n);
    expect(kernel.dmaMappings).toHaveLength(0);
    await expect(vf.dmaUnmap(0x100000n, 0x2000n)).rejects.toMatchObject({ reason: "OutOfBounds" });
    // A file of the caller's (a guest's memfd, a packet pool): the device reaches that very memory.
    const fd = memfdCreate("caller", 0x3000);
    try {
      const file = new Uint8Array(mmap(fd, 0, 0x3000, "rw").buffer);
      const fbuf = await vf.dmaMap(0x200000n, 0x2000n, { read: true, write: true, file: { fd, offset: 0x1000n } });
      expect(fbuf.file).toEqual({ fd, offset: 0x1000n });
      file[0x1000 + 7] = 99;
      expect(kernel.dmaMappings[0]).toMatchObject({ iova: 0x200000n, size: 0x2000n });
      expect(kernel.dmaMappings[0]?.bytes[7]).toBe(99);
      kernel.dmaMappings[0]!.bytes[8] = 77; // the device writes: the file sees it
      expect(file[0x1000 + 8]).toBe(77);
      await vf.dmaUnmap(0x200000n, 0x2000n);
      expect(kernel.dmaMappings).toHaveLength(0);
      await expect(vf.dmaMap(0x200000n, 0x1000n, { file: { fd: -1 } })).rejects.toMatchObject({ reason: "Io" });
      await expect(vf.dmaMap(0x200000n, 0x1000n, { file: { fd, offset: 0x10n } })).rejects.toMatchObject({
        reason: "Io",
      });
      expect(kernel.dmaMappings).toHaveLength(0);
    } finally {
      closeFd(fd);
    }
  });
});

describe("clear errors", () => {
  test("a PF bound to its kernel driver, an unbound one, a vfio-ap mdev", async () => {
    const { sys } = fixture();
    const host = new VfioHost({ kernel: standInKernel() });
    await expect(host.open(readPciDevice("0000:3b:00.0", { sysfsRoot: sys }))).rejects.toThrow(
      "cannot open 0000:3b:00.0 through VFIO: it is bound to the kernel driver i40e, not vfio-pci (driverctl set-override 0000:3b:00.0 vfio-pci)",
    );
    await expect(host.open(readPciDevice("0000:3b:00.1", { sysfsRoot: sys }))).rejects.toThrow(/bound to no driver/);
    await expect(host.open(readMdev(AP_UUID, { sysfsRoot: sys }))).rejects.toMatchObject({
      _tag: "MdevPciError",
      reason: "NotVfio",
      message: expect.stringMatching(/offers vfio-ap, not vfio-pci/),
    });
  });

  test("a group that is not viable, and a group another process holds", async () => {
    const { sys } = fixture();
    const vf = readPciDevice(VF_BDF, { sysfsRoot: sys });
    await expect(
      new VfioHost({ kernel: standInKernel({ nonViableGroups: [40] }), flow: "group" }).open(vf),
    ).rejects.toThrow(/IOMMU group 40 is not viable: every device in it must be bound to vfio-pci/);
    const kernel = standInKernel();
    const first = await new VfioHost({ kernel, flow: "group" }).open(vf);
    opened.push(first);
    await expect(new VfioHost({ kernel, flow: "group" }).open(vf)).rejects.toMatchObject({
      code: "EBUSY",
      message: expect.stringMatching(/\/dev\/vfio\/40 is already open elsewhere/),
    });
  });

  test("cdev asked for where there is none; a device name the group does not know", async () => {
    const { sys } = fixture();
    const mtty = readMdev(MTTY_UUID, { sysfsRoot: sys });
    await expect(
      new VfioHost({ kernel: standInKernel({ cdev: false }), flow: "cdev" }).open(mtty),
    ).rejects.toMatchObject({
      reason: "NoVfio",
      message: expect.stringMatching(/\/dev\/vfio\/devices\/vfio1 or \/dev\/iommu does not exist/),
    });
    const kernel = new StandInVfioKernel({ devices: [] });
    await expect(new VfioHost({ kernel }).open(mtty)).rejects.toMatchObject({
      reason: "NoVfio",
      message: expect.stringMatching(/\/dev\/vfio\/13 does not exist/),
    });
  });

  test("operations on a closed device are refused", async () => {
    const mtty = await open(standInKernel(), MTTY_UUID);
    await mtty.close();
    await expect(mtty.getRegionInfo(0)).rejects.toMatchObject({ reason: "Closed" });
  });

  test("this host: kernel VFIO is either there or said to be missing", async (ctx) => {
    if (fs.existsSync("/dev/vfio/vfio"))
      return ctx.skip("this host has /dev/vfio; the no-VFIO message cannot be shown here");
    const e = await nativeVfioKernel().catch((x: unknown) => x);
    expect(isMdevPciError(e) && e.reason === "NoVfio").toBe(true);
    expect((e as Error).message).toMatch(/@emu\/sys|has no VFIO/);
    expect(isVfioDeviceError(e)).toBe(false);
  });
});
