// The delegate by any bus address: a VF's BDF and an mdev's UUID go to the sysfs source of @emu/mdev-pci and open
// over kernel VFIO, a vfio-user socket goes to the vfio-user client's source. The kernel here is @emu/mdev-pci's
// stand-in, on a sysfs tree of its sample host: its VF (8086:154c) has an iavf VF's BAR0 and config space but no PF
// behind the mailbox, so the delegate's driver gets as far as its first virtchnl message (VERSION, posted on the admin
// queue in the DMA memory the stand-in IOMMU maps at the delegate's IOVA window) and no further; the whole bring-up
// over a real device is tested over vfio-user (delegate.test.ts).
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { EmudevRegistry } from "@emu/emudev";
import { AqOpcode, Reg, readAqDescriptor, VfrState, VirtchnlOp } from "@emu/iavf-common";
import { attachDelegate, DELEGATE_IOVA_BASE, delegateOf, openDelegateDevice } from "@emu/iavf-dp-dpa";
import { iavfDriver } from "@emu/iavf-emu";
import { KernelVfioDevice, PciBus, SysfsBusSource, VfioHost } from "@emu/mdev-pci";
import { defaultSpec, MTTY_UUID, makeSysfs, StandInVfioKernel, standInDevices, VF_BDF } from "@emu/mdev-pci/testing";
import { afterThisTest, tempDir, until } from "@emu/test-kit";
import { type BusSource, formatAddress, type VfioDevice } from "@emu/vfio-device";
import { VfioUserBusSource, VfioUserClient } from "@emu/vfio-user-client";
import { describe, expect, it } from "vitest";

/** An mdev whose device is an iavf VF: the stand-in's VF registers and config space under an mdev UUID. */
const IAVF_MDEV_UUID = "5e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b";

/** The stand-in host: its sysfs tree plus the iavf mdev, and its kernel VFIO with the VF's regions under that UUID too. */
function standInHost() {
  const base = defaultSpec();
  const spec = {
    ...base,
    virtualParents: [
      ...base.virtualParents,
      {
        name: "iavf_adi",
        devicePath: "virtual/iavf_adi/iavf_adi",
        types: [{ id: "iavf_adi-1", name: "iavf VF", deviceApi: "vfio-pci", availableInstances: 4 }],
      },
    ],
    mdevs: [
      ...base.mdevs,
      {
        uuid: IAVF_MDEV_UUID,
        parent: "iavf_adi",
        type: "iavf_adi-1",
        driver: "iavf_adi",
        iommuGroup: 41,
        vfioCdev: "vfio5",
      },
    ],
  };
  const sys = makeSysfs(tempDir({ prefix: "emu-dpa-sysfs-", tmpfs: true }), spec);
  const devices = standInDevices();
  const vf = devices.find((d) => d.name === VF_BDF)!;
  const kernel = new StandInVfioKernel({
    devices: [...devices, { ...vf, name: IAVF_MDEV_UUID, group: 41, cdev: "vfio5", flags: 2 }],
  });
  return { sys, kernel };
}

/** A bus source that logs each address it is asked to open. */
function logged(source: BusSource, log: string[]): BusSource {
  return {
    name: source.name,
    handles: (a) => source.handles(a),
    scan: () => source.scan(),
    open(a) {
      log.push(`${source.name} ${formatAddress(a)}`);
      return source.open(a);
    },
  };
}

/** The bus openDelegateDevice makes by default, over the stand-in host, with each source's opens logged. */
function standInBus() {
  const { sys, kernel } = standInHost();
  const log: string[] = [];
  const bus = new PciBus([
    logged(new SysfsBusSource({ sysfsRoot: sys, host: new VfioHost({ kernel }) }), log),
    logged(new VfioUserBusSource({ sockets: [], openAny: true }), log),
  ]);
  return { bus, kernel, log };
}

/** An emu_iavf device served on a socket, with no provider: a front to attach a delegate to, or a delegate. */
async function emuIavf(name: string) {
  const emudev = new EmudevRegistry();
  emudev.registerDriver(iavfDriver);
  afterThisTest(() => emudev.closeAll());
  const sock = join(tempDir(), `${name}.sock`);
  const dev = emudev.create(`${name},sock=${sock},queues=1,mac=02:00:00:00:00:01`);
  dev.configure({ resetDelayMs: 0 });
  await dev.start();
  return { emudev, dev, sock };
}

const u16 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint16(at, true);
const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

describe("delegate addresses: each kind reaches its bus source", () => {
  it("a BDF (full or short) and an mdev UUID (any case) open over kernel VFIO through sysfs; a socket through vfio-user", async () => {
    const { bus, kernel, log } = standInBus();
    const { sock } = await emuIavf("emu_iavf1");
    const opened: VfioDevice[] = [];
    const open = async (address: string) => {
      const d = await openDelegateDevice(address, bus);
      opened.push(d);
      return d;
    };

    const vf = await open(VF_BDF);
    expect(vf).toBeInstanceOf(KernelVfioDevice);
    expect((vf as KernelVfioDevice).flow).toBe("cdev");
    const config = await vf.regionRead(7, 0n, 4);
    expect([u16(config, 0), u16(config, 2)]).toEqual([0x8086, 0x154c]); // an X710 VF, as iavf drives
    expect(formatAddress((await open("3b:02.0")).address)).toBe(VF_BDF);
    const mdev = await open(IAVF_MDEV_UUID.toUpperCase());
    expect(mdev).toBeInstanceOf(KernelVfioDevice);
    expect(formatAddress(mdev.address)).toBe(IAVF_MDEV_UUID);
    expect((await mdev.getRegionInfo(0)).size).toBe(0x10000n); // BAR0 the size of an iavf VF's
    const viaSocket = await open(`vfio-user:${sock}`);
    expect(viaSocket).toBeInstanceOf(VfioUserClient);
    await viaSocket.close(); // the server serves one client at a time
    await open(sock); // a bare path with a slash is a socket too

    expect(log).toEqual([
      `sysfs ${VF_BDF}`,
      `sysfs ${VF_BDF}`,
      `sysfs ${IAVF_MDEV_UUID}`,
      `vfio-user vfio-user:${sock}`,
      `vfio-user vfio-user:${sock}`,
    ]);
    for (const d of opened) await d.close();
    expect(kernel.openFdCount).toBe(0);
  });

  it("without a bus given, the default one: a device that does not exist is named with the source asked", async () => {
    // This host's own /sys and sockets: none of these exist, whatever the machine.
    const bdf = "abcd:ef:1f.7";
    const uuid = randomUUID();
    const sock = join(tempDir(), "absent.sock");
    await expect(openDelegateDevice(bdf)).rejects.toMatchObject({
      reason: "NoSuchDevice",
      message: `cannot open ${bdf} through the bus source "sysfs": no PCI device ${bdf} (/sys/bus/pci/devices/${bdf} does not exist)`,
    });
    await expect(openDelegateDevice(uuid)).rejects.toMatchObject({
      reason: "NoSuchDevice",
      message: `cannot open ${uuid} through the bus source "sysfs": no mediated device ${uuid} (/sys/bus/mdev/devices/${uuid} does not exist)`,
    });
    await expect(openDelegateDevice(sock)).rejects.toMatchObject({
      reason: "Source",
      message: expect.stringMatching(
        new RegExp(
          `^cannot open vfio-user:${sock} through the bus source "vfio-user": cannot connect to ${sock}: .*ENOENT`,
        ),
      ),
    });
  });

  it("a malformed address is refused before any source is asked", async () => {
    const { bus, log } = standInBus();
    await expect(openDelegateDevice("0000:3b:20.0", bus)).rejects.toThrow(
      '"0000:3b:20.0" is not a PCI address: its device is 0x20, not 0..0x1f',
    );
    await expect(openDelegateDevice("5e1f0a2b-3c4d-4e5f-8a9b", bus)).rejects.toThrow(/is not a PCI address/);
    await expect(openDelegateDevice("vfio-user:", bus)).rejects.toThrow(/empty vfio-user socket path/);
    expect(log).toEqual([]);
  });
});

describe("a kernel-VFIO delegate on the stand-in kernel: as far as a VF with no PF behind it goes", () => {
  it.each([
    ["a VF's BDF", VF_BDF],
    ["an mdev's UUID", IAVF_MDEV_UUID],
  ])(
    "%s: BAR0 and DMA over VFIO, VERSION posted on the admin queue; unanswered, a clear error and nothing left open",
    async (_what, address) => {
      const { bus, kernel, log } = standInBus();
      const { emudev, dev } = await emuIavf("emu_iavf0");
      const device = await openDelegateDevice(address, bus);
      expect(log).toEqual([`sysfs ${address}`]);
      const bar0 = kernel.regionMemory(address, 0);
      // A VF out of reset reads VFACTIVE (the stand-in's registers are plain memory: it is set as a PF would).
      new DataView(bar0.buffer, bar0.byteOffset).setUint32(Reg.VFGEN_RSTAT, VfrState.VFACTIVE, true);

      const attaching = attachDelegate(dev, device, emudev).then(
        () => undefined,
        (e: unknown) => e,
      );
      // The driver programs the admin send queue through the VFIO device's BAR0 and posts one message.
      await until(() => u32(bar0, Reg.VF_ATQT1) === 1, 5000, "a message posted on the delegate's ATQ");
      expect(kernel.mappingCount).toBeGreaterThan(0); // BAR0 mmapped from the device fd
      const atq = BigInt(u32(bar0, Reg.VF_ATQBAL1)) | (BigInt(u32(bar0, Reg.VF_ATQBAH1)) << 32n);
      expect(atq >= DELEGATE_IOVA_BASE).toBe(true); // in the delegate's own IOVA window
      const ring = kernel.dmaMappings.find((m) => atq >= m.iova && atq < m.iova + m.size);
      expect(ring).toBeDefined(); // mapped for the device by the stand-in IOMMU
      const at = Number(atq - ring!.iova);
      const d = readAqDescriptor(new DataView(ring!.bytes.buffer, ring!.bytes.byteOffset + at, 32));
      expect(d.opcode).toBe(AqOpcode.SEND_MSG_TO_PF);
      expect(d.cookieHigh).toBe(VirtchnlOp.VERSION);

      // No PF answers: attachDelegate fails with the driver's timeout, closes the device, binds nothing.
      const e = await attaching;
      expect(e).toMatchObject({ _tag: "IavfClientError", reason: "Timeout" });
      expect((e as Error).message).toMatch(/^no reply to VERSION in \d+ ms$/);
      expect(dev.provider).toBeUndefined();
      expect(delegateOf(dev)).toBeUndefined();
      expect(kernel.openFdCount).toBe(0);
      expect(kernel.mappingCount).toBe(0);
      expect(kernel.dmaMappings).toEqual([]);
    },
  );

  it("an mdev that is not an iavf VF (mtty) is refused by its BAR0, and closed", async () => {
    const { bus, kernel } = standInBus();
    const { emudev, dev } = await emuIavf("emu_iavf0");
    const mtty = await openDelegateDevice(MTTY_UUID, bus);
    await expect(attachDelegate(dev, mtty, emudev)).rejects.toThrow(
      /BAR0 must be a readable and writable region of at least 0x10000 bytes \(it is 0x8/,
    );
    expect(dev.provider).toBeUndefined();
    expect(kernel.openFdCount).toBe(0);
  });
});
