import type { DmaBuffer } from "@emu/vfio-device";
import { VfioDeviceError } from "@emu/vfio-device";
import { errnoCode, MdevPciError } from "./errors.js";
import {
  decodeBoundDevId,
  decodeGroupStatusFlags,
  decodeIoasId,
  encodeAttachPt,
  encodeBindIommufd,
  encodeDeviceName,
  encodeDmaMap,
  encodeDmaUnmap,
  encodeFdArg,
  encodeGroupStatus,
  encodeIoasAlloc,
  encodeIoasMap,
  encodeIoasUnmap,
  IOMMU_IOAS_MAP_FIXED_IOVA,
  IOMMU_IOAS_MAP_READABLE,
  IOMMU_IOAS_MAP_WRITEABLE,
  VFIO_API_VERSION,
  VFIO_DMA_MAP_FLAG_READ,
  VFIO_DMA_MAP_FLAG_WRITE,
  VFIO_GROUP_FLAGS_CONTAINER_SET,
  VFIO_GROUP_FLAGS_VIABLE,
  VFIO_NOIOMMU_IOMMU,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  type VfioIoctls,
  vfioIoctls,
} from "./internal/vfio-uapi.js";
import { KernelVfioDevice } from "./kernel-device.js";
import { nativeVfioKernel } from "./native-kernel.js";
import type { PciDevice } from "./pci-device.js";
import type { KernelDmaMemory, VfioKernel } from "./vfio-kernel.js";

export interface VfioHostOptions {
  readonly kernel: VfioKernel;
  /** Where device nodes live: /dev on a host. */
  readonly devRoot?: string;
  /**
   * "group": /dev/vfio/vfio + /dev/vfio/<group> (every kernel with VFIO); "cdev": /dev/vfio/devices/vfioN bound to
   * /dev/iommu (kernels with the VFIO cdev API, about 6.6 on); "auto" (default): cdev when the device has one and
   * the host has /dev/iommu, else group.
   */
  readonly flow?: "auto" | "group" | "cdev";
}

interface OpenGroup {
  readonly fd: number;
  readonly path: string;
  users: number;
}

/** Drivers that give a physical function a VFIO device fd (vfio-pci and its vendor variants). */
function isVfioDriver(driver: string | undefined): boolean {
  return driver !== undefined && /vfio[-_]pci$|^vfio-pci/.test(driver);
}

/** Why a scanned device cannot be opened through kernel VFIO, or undefined when it can be tried. */
export function whyNotVfioUsable(device: PciDevice): string | undefined {
  if (device.mdev) {
    if (device.mdev.deviceApi !== "vfio-pci") return `its mdev type offers ${device.mdev.deviceApi}, not vfio-pci`;
  } else if (!isVfioDriver(device.driver)) {
    return device.driver === undefined
      ? `it is bound to no driver; bind it to vfio-pci (driverctl set-override ${device.name} vfio-pci)`
      : `it is bound to the kernel driver ${device.driver}, not vfio-pci (driverctl set-override ${device.name} vfio-pci)`;
  }
  if (device.iommuGroup === undefined) return "it has no IOMMU group (is the IOMMU enabled, e.g. intel_iommu=on?)";
  return undefined;
}

function opt(code: string | undefined): { code?: string } {
  return code === undefined ? {} : { code };
}

/**
 * Opens kernel VFIO devices for the bus: one container (or one iommufd IOAS) shared by every device it opens, groups
 * opened once and shared, device fds from GET_DEVICE_FD (named by BDF or lower-case UUID) or from the cdev.
 */
export class VfioHost {
  readonly kernel: VfioKernel;
  readonly devRoot: string;
  readonly flow: "auto" | "group" | "cdev";
  private readonly ioctls: VfioIoctls;
  private container: { fd: number; iommuSet: boolean; type: number } | undefined;
  private iommufd: { fd: number; ioas: number } | undefined;
  private readonly groups = new Map<number, OpenGroup>();
  private readonly dma = new Map<string, { buffer: DmaBuffer; memory: KernelDmaMemory; users: number }>();
  private devices = 0;

  constructor(options: VfioHostOptions) {
    this.kernel = options.kernel;
    this.devRoot = options.devRoot ?? "/dev";
    this.flow = options.flow ?? "auto";
    this.ioctls = vfioIoctls(options.kernel.arch);
  }

  /** The host's own kernel (through @emu/sys); rejects with reason NoVfio when the host has no VFIO. */
  static async native(options?: Omit<VfioHostOptions, "kernel">): Promise<VfioHost> {
    const kernel = await nativeVfioKernel(options?.devRoot === undefined ? {} : { devRoot: options.devRoot });
    return new VfioHost({ ...options, kernel });
  }

  /** Whether a scanned device can be opened through VFIO, and if not, why (in words a user can act on). */
  whyNotOpenable(device: PciDevice): string | undefined {
    return whyNotVfioUsable(device);
  }

  async open(device: PciDevice): Promise<KernelVfioDevice> {
    const why = this.whyNotOpenable(device);
    if (why !== undefined)
      throw new MdevPciError("NotVfio", `cannot open ${device.name} through VFIO: ${why}`, { path: device.sysfsPath });
    const cdevPath = device.vfioCdev === undefined ? undefined : `${this.devRoot}/vfio/devices/${device.vfioCdev}`;
    const cdevReady =
      cdevPath !== undefined && this.kernel.exists(cdevPath) && this.kernel.exists(`${this.devRoot}/iommu`);
    if (this.flow === "cdev" && !cdevReady) {
      throw new MdevPciError(
        "NoVfio",
        `cannot open ${device.name} through the VFIO cdev: ${cdevPath === undefined ? "sysfs shows no vfio-dev/vfioN for it (kernel older than 6.1?)" : `${cdevPath} or ${this.devRoot}/iommu does not exist (kernel without VFIO_DEVICE_CDEV or IOMMUFD?)`}`,
        { ...(cdevPath === undefined ? {} : { path: cdevPath }) },
      );
    }
    if (cdevReady && this.flow !== "group") return this.openCdev(device, cdevPath);
    return this.openThroughGroup(device);
  }

  private call(fd: number, name: keyof VfioIoctls, what: string, arg?: Uint8Array | number | bigint): number {
    try {
      return this.kernel.ioctl(fd, this.ioctls[name], arg);
    } catch (e) {
      const code = errnoCode(e);
      throw new MdevPciError("Kernel", `${what}: ioctl ${name} failed with ${code ?? String(e)}`, {
        cause: e,
        ...opt(code),
      });
    }
  }

  private openNode(path: string, what: string): number {
    try {
      return this.kernel.open(path);
    } catch (e) {
      const code = errnoCode(e);
      const why =
        code === "ENOENT"
          ? `${path} does not exist (is the vfio module loaded and the device bound to a VFIO driver?)`
          : code === "EBUSY"
            ? `${path} is already open elsewhere (a VM or another DPDK-style process holds it)`
            : code === "EACCES" || code === "EPERM"
              ? `permission denied on ${path} (run as root, or give your user the device node)`
              : `${path}: ${code ?? String(e)}`;
      throw new MdevPciError(code === "ENOENT" ? "NoVfio" : "Kernel", `${what}: ${why}`, {
        path,
        cause: e,
        ...opt(code),
      });
    }
  }

  private ensureContainer(): { fd: number; iommuSet: boolean; type: number } {
    if (this.container) return this.container;
    const path = `${this.devRoot}/vfio/vfio`;
    const fd = this.openNode(path, "opening the VFIO container");
    try {
      const version = this.call(fd, "GET_API_VERSION", path);
      if (version !== VFIO_API_VERSION) {
        throw new MdevPciError("NoVfio", `${path} speaks VFIO API version ${version}, not ${VFIO_API_VERSION}`, {
          path,
        });
      }
      const type = [VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU, VFIO_NOIOMMU_IOMMU].find(
        (t) => this.call(fd, "CHECK_EXTENSION", `${path} CHECK_EXTENSION(${t})`, t) > 0,
      );
      if (type === undefined)
        throw new MdevPciError("NoVfio", `${path} offers no usable IOMMU model (type1, type1v2, no-IOMMU)`, { path });
      this.container = { fd, iommuSet: false, type };
      return this.container;
    } catch (e) {
      this.kernel.close(fd);
      throw e;
    }
  }

  private groupPath(group: number): string {
    const plain = `${this.devRoot}/vfio/${group}`;
    const noiommu = `${this.devRoot}/vfio/noiommu-${group}`;
    return !this.kernel.exists(plain) && this.kernel.exists(noiommu) ? noiommu : plain;
  }

  private async openThroughGroup(device: PciDevice): Promise<KernelVfioDevice> {
    const group = device.iommuGroup!;
    const container = this.ensureContainer();
    let g = this.groups.get(group);
    if (!g) {
      const path = this.groupPath(group);
      const fd = this.openNode(path, `opening IOMMU group ${group} of ${device.name}`);
      try {
        const status = encodeGroupStatus();
        this.call(fd, "GROUP_GET_STATUS", path, status);
        const flags = decodeGroupStatusFlags(status);
        if ((flags & VFIO_GROUP_FLAGS_VIABLE) === 0) {
          throw new MdevPciError(
            "NotVfio",
            `IOMMU group ${group} is not viable: every device in it must be bound to vfio-pci (see /sys/kernel/iommu_groups/${group}/devices)`,
            { path },
          );
        }
        if ((flags & VFIO_GROUP_FLAGS_CONTAINER_SET) === 0)
          this.call(fd, "GROUP_SET_CONTAINER", path, encodeFdArg(container.fd));
        if (!container.iommuSet) {
          this.call(container.fd, "SET_IOMMU", `${this.devRoot}/vfio/vfio`, container.type);
          container.iommuSet = true;
        }
      } catch (e) {
        this.kernel.close(fd);
        throw e;
      }
      g = { fd, path, users: 0 };
      this.groups.set(group, g);
    }
    let fd: number;
    try {
      fd = this.call(
        g.fd,
        "GROUP_GET_DEVICE_FD",
        `getting ${device.name} from ${g.path}`,
        encodeDeviceName(device.name),
      );
    } catch (e) {
      if (g.users === 0) this.closeGroup(group);
      throw e;
    }
    g.users++;
    this.devices++;
    const groupRef = g;
    let released = false;
    return new KernelVfioDevice(device, "group", this.kernel, this.ioctls, fd, {
      dmaMap: (iova, size, access) => this.dmaMap(iova, size, access),
      dmaUnmap: (iova, size) => this.dmaUnmap(iova, size),
      release: () => {
        if (released) return;
        released = true;
        this.devices--;
        if (--groupRef.users === 0) this.closeGroup(group);
      },
    });
  }

  private closeGroup(group: number): void {
    const g = this.groups.get(group);
    if (!g) return;
    this.groups.delete(group);
    this.kernel.close(g.fd);
    if (this.groups.size === 0 && this.container && !this.iommufd) {
      for (const d of this.dma.values()) d.memory.free();
      this.dma.clear();
      this.kernel.close(this.container.fd);
      this.container = undefined;
    }
  }

  private ensureIommufd(): { fd: number; ioas: number } {
    if (this.iommufd) return this.iommufd;
    const path = `${this.devRoot}/iommu`;
    const fd = this.openNode(path, "opening iommufd");
    try {
      const alloc = encodeIoasAlloc();
      this.call(fd, "IOMMU_IOAS_ALLOC", path, alloc);
      this.iommufd = { fd, ioas: decodeIoasId(alloc) };
      return this.iommufd;
    } catch (e) {
      this.kernel.close(fd);
      throw e;
    }
  }

  private async openCdev(device: PciDevice, path: string): Promise<KernelVfioDevice> {
    const iommufd = this.ensureIommufd();
    const fd = this.openNode(path, `opening the VFIO cdev of ${device.name}`);
    try {
      const bind = encodeBindIommufd(iommufd.fd);
      this.call(fd, "DEVICE_BIND_IOMMUFD", `binding ${path} to iommufd`, bind);
      void decodeBoundDevId(bind);
      this.call(
        fd,
        "DEVICE_ATTACH_IOMMUFD_PT",
        `attaching ${path} to IOAS ${iommufd.ioas}`,
        encodeAttachPt(iommufd.ioas),
      );
    } catch (e) {
      this.kernel.close(fd);
      if (this.devices === 0) this.closeIommufd();
      throw e;
    }
    this.devices++;
    let released = false;
    return new KernelVfioDevice(device, "cdev", this.kernel, this.ioctls, fd, {
      dmaMap: (iova, size, access) => this.dmaMap(iova, size, access),
      dmaUnmap: (iova, size) => this.dmaUnmap(iova, size),
      release: () => {
        if (released) return;
        released = true;
        if (--this.devices === 0) this.closeIommufd();
      },
    });
  }

  private closeIommufd(): void {
    if (!this.iommufd || this.devices > 0) return;
    for (const d of this.dma.values()) d.memory.free();
    this.dma.clear();
    this.kernel.close(this.iommufd.fd);
    this.iommufd = undefined;
  }

  /** Maps memory of ours at `iova` for every device of this host (one container or IOAS, as DPDK does). */
  async dmaMap(
    iova: bigint,
    size: bigint,
    access: { read: boolean; write: boolean; file?: { fd: number; offset: bigint } },
  ): Promise<DmaBuffer> {
    const key = `${iova}:${size}`;
    const existing = this.dma.get(key);
    if (existing) {
      existing.users++;
      return existing.buffer;
    }
    if (size <= 0n || size > 0x100000000n || size % 4096n !== 0n || iova % 4096n !== 0n) {
      throw new VfioDeviceError(
        "OutOfBounds",
        `DMA map: iova 0x${iova.toString(16)} and size 0x${size.toString(16)} must be page multiples, at most 4 GiB`,
      );
    }
    const f = access.file;
    const memory = f === undefined ? this.kernel.allocDma(Number(size)) : this.mapFile(f.fd, f.offset, Number(size));
    try {
      if (this.iommufd) {
        const flags =
          IOMMU_IOAS_MAP_FIXED_IOVA |
          (access.read ? IOMMU_IOAS_MAP_READABLE : 0) |
          (access.write ? IOMMU_IOAS_MAP_WRITEABLE : 0);
        this.call(
          this.iommufd.fd,
          "IOMMU_IOAS_MAP",
          "DMA map",
          encodeIoasMap(this.iommufd.ioas, flags, memory.vaddr, size, iova),
        );
      } else if (this.container) {
        const flags = (access.read ? VFIO_DMA_MAP_FLAG_READ : 0) | (access.write ? VFIO_DMA_MAP_FLAG_WRITE : 0);
        this.call(this.container.fd, "IOMMU_MAP_DMA", "DMA map", encodeDmaMap(flags, memory.vaddr, iova, size));
      } else {
        throw new VfioDeviceError("Closed", "DMA map: no device is open on this host");
      }
    } catch (e) {
      memory.free();
      throw e;
    }
    const buffer: DmaBuffer = {
      iova,
      size,
      bytes: memory.bytes,
      readable: access.read,
      writable: access.write,
      ...(f === undefined ? {} : { file: { fd: f.fd, offset: f.offset } }),
    };
    this.dma.set(key, { buffer, memory, users: 1 });
    return buffer;
  }

  /** The caller's file mapped in this process, for its vaddr (a DMA map names memory by virtual address). */
  private mapFile(fd: number, offset: bigint, size: number): KernelDmaMemory {
    try {
      return this.kernel.mapDmaFile(fd, offset, size);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      throw new VfioDeviceError("Io", `DMA map: cannot map fd ${fd} at 0x${offset.toString(16)}: ${String(e)}`, {
        cause: e,
        ...(typeof code === "string" ? { code } : {}),
      });
    }
  }

  async dmaUnmap(iova: bigint, size: bigint): Promise<void> {
    const key = `${iova}:${size}`;
    const d = this.dma.get(key);
    if (!d)
      throw new VfioDeviceError(
        "OutOfBounds",
        `DMA unmap: nothing is mapped at 0x${iova.toString(16)} (+0x${size.toString(16)})`,
      );
    if (--d.users > 0) return;
    this.dma.delete(key);
    try {
      if (this.iommufd)
        this.call(this.iommufd.fd, "IOMMU_IOAS_UNMAP", "DMA unmap", encodeIoasUnmap(this.iommufd.ioas, iova, size));
      else if (this.container) this.call(this.container.fd, "IOMMU_UNMAP_DMA", "DMA unmap", encodeDmaUnmap(iova, size));
    } finally {
      d.memory.free();
    }
  }
}
