import { RegionInfoFlags } from "@emu/vfio-user-proto";
import {
  decodeKernelStruct as k,
  VFIO_GROUP_FLAGS_CONTAINER_SET,
  VFIO_GROUP_FLAGS_VIABLE,
  VFIO_TYPE1_IOMMU,
  VFIO_TYPE1v2_IOMMU,
  vfioIoctls,
} from "../internal/vfio-uapi.js";
import type { KernelDmaMemory, KernelEventFd, KernelMapping, VfioKernel } from "../vfio-kernel.js";
import type { StandInDmaMapping, StandInOptions } from "./stand-in-device.js";
import { deviceIoctl } from "./stand-in-device-ioctls.js";
import { StandInDma } from "./stand-in-dma.js";
import { fail, type LiveDevice, LiveRegion, type OpenFile, StandInEventFd } from "./stand-in-files.js";

type IoctlArg = Uint8Array | number | bigint | undefined;
type FileOf<K extends OpenFile["kind"]> = Extract<OpenFile, { kind: K }>;

/** An ioctl's struct argument, at least `min` bytes long. */
function buffer(arg: IoctlArg, request: number, min: number): Uint8Array {
  if (!(arg instanceof Uint8Array) || arg.length < min)
    return fail("EFAULT", `ioctl 0x${request.toString(16)} needs a ${min}-byte buffer`);
  return arg;
}

/** An ioctl's integer argument. */
function value(arg: IoctlArg): number {
  return typeof arg === "number" ? arg : typeof arg === "bigint" ? Number(arg) : fail("EINVAL", "needs a value");
}

/**
 * A kernel VFIO backend in TypeScript, behind the same `VfioKernel` seam as the native calls. It answers the group,
 * container, cdev and iommufd ioctls, encodes region info with its capability chain into the caller's buffer (asking
 * for a larger argsz when the chain does not fit, as the kernel does), serves pread/pwrite at each region's reported
 * offset, and mmaps only inside MMAP regions (inside a sparse area when the region has them). The device-fd ioctls
 * live in `stand-in-device-ioctls.ts`, the DMA memory and IOMMU mappings in `stand-in-dma.ts`.
 *
 * Region memory is a plain ArrayBuffer per region: an mmap returns a view of the same bytes pread/pwrite reach, so
 * the mapped-vs-slow-path coherence is the kernel's; nothing native is needed, and sparse regions of hundreds of
 * MiB cost only the pages touched.
 */
export class StandInVfioKernel implements VfioKernel {
  readonly description = "stand-in";
  readonly arch: string;
  readonly devRoot: string;
  private readonly ioctls: ReturnType<typeof vfioIoctls>;
  private readonly devices = new Map<string, LiveDevice>();
  private readonly fds = new Map<number, OpenFile>();
  private readonly openGroups = new Set<number>();
  private readonly dma = new StandInDma();
  private nextFd = 100;
  private nextIoas = 1;
  private liveMappings = 0;
  private readonly cdev: boolean;
  private readonly nonViable: Set<number>;

  constructor(options: StandInOptions) {
    this.arch = options.arch ?? process.arch;
    this.devRoot = options.devRoot ?? "/dev";
    this.ioctls = vfioIoctls(this.arch);
    this.cdev = options.cdev ?? true;
    this.nonViable = new Set(options.nonViableGroups ?? []);
    for (const spec of options.devices) {
      const regions = new Map<number, LiveRegion>();
      for (const r of spec.regions) regions.set(r.index, new LiveRegion(r));
      this.devices.set(spec.name, { spec, regions, triggers: new Map(), masked: new Map(), resets: 0, opens: 0 });
    }
  }

  // ---- what tests look at ----

  /** File descriptors still open (devices, groups, container, eventfds): 0 after everything is closed. */
  get openFdCount(): number {
    return this.fds.size;
  }
  get mappingCount(): number {
    return this.liveMappings;
  }
  resetCount(name: string): number {
    return this.device(name).resets;
  }
  get dmaMappings(): readonly StandInDmaMapping[] {
    return this.dma.mappings;
  }
  /** The bytes of a region as the device sees them. */
  regionMemory(name: string, index: number): Uint8Array {
    const r = this.device(name).regions.get(index);
    if (!r) throw new Error(`stand-in: ${name} has no region ${index}`);
    return r.memory;
  }
  /** The device signals vector `vector` of IRQ `index`; false when no eventfd is assigned or it is masked. */
  trigger(name: string, index: number, vector: number): boolean {
    const d = this.device(name);
    const e = d.triggers.get(index)?.get(vector);
    if (!e || d.masked.get(index)?.has(vector)) return false;
    e.signal();
    return true;
  }

  private device(name: string): LiveDevice {
    const d = this.devices.get(name);
    if (!d) throw new Error(`stand-in: no device ${name}`);
    return d;
  }

  // ---- the seam ----

  exists(path: string): boolean {
    return this.resolve(path) !== undefined;
  }

  private resolve(
    path: string,
  ):
    | { kind: "container" | "iommufd" }
    | { kind: "group"; group: number }
    | { kind: "cdev"; device: LiveDevice }
    | undefined {
    const rel = path.startsWith(`${this.devRoot}/`) ? path.slice(this.devRoot.length + 1) : undefined;
    if (rel === undefined) return undefined;
    if (rel === "vfio") return { kind: "container" }; // the directory
    if (rel === "vfio/vfio") return { kind: "container" };
    if (rel === "iommu") return this.cdev ? { kind: "iommufd" } : undefined;
    const g = /^vfio\/(\d+)$/.exec(rel);
    if (g) {
      const group = Number(g[1]);
      return [...this.devices.values()].some((d) => d.spec.group === group) ? { kind: "group", group } : undefined;
    }
    const c = /^vfio\/devices\/(vfio\d+)$/.exec(rel);
    if (c && this.cdev) {
      const device = [...this.devices.values()].find((d) => d.spec.cdev === c[1]);
      return device ? { kind: "cdev", device } : undefined;
    }
    return undefined;
  }

  private add(file: OpenFile): number {
    const fd = this.nextFd++;
    this.fds.set(fd, file);
    return fd;
  }

  open(path: string): number {
    const r = this.resolve(path);
    if (!r || path === `${this.devRoot}/vfio`) return fail("ENOENT", path);
    switch (r.kind) {
      case "container":
        return this.add({ kind: "container", groups: new Set(), iommu: undefined });
      case "iommufd":
        return this.add({ kind: "iommufd", ioas: new Set() });
      case "group":
        if (this.openGroups.has(r.group)) return fail("EBUSY", path);
        this.openGroups.add(r.group);
        return this.add({ kind: "group", group: r.group, container: undefined });
      case "cdev":
        r.device.opens++;
        return this.add({ kind: "device", device: r.device, bound: false, attached: false, cdev: true });
    }
  }

  close(fd: number): void {
    const f = this.fds.get(fd) ?? fail("EBADF", `close(${fd})`);
    this.fds.delete(fd);
    if (f.kind === "group") {
      this.openGroups.delete(f.group);
      if (f.container !== undefined) {
        const c = this.fds.get(f.container);
        if (c?.kind === "container") c.groups.delete(f.group);
      }
    } else if (f.kind === "device") {
      f.device.opens--;
      if (f.device.opens === 0) {
        f.device.triggers.clear();
        f.device.masked.clear();
      }
    } else if (f.kind === "eventfd") {
      f.event.closed = true;
    }
  }

  private file(fd: number): OpenFile {
    return this.fds.get(fd) ?? fail("EBADF", `fd ${fd}`);
  }

  ioctl(fd: number, request: number, arg?: Uint8Array | number | bigint): number {
    const f = this.file(fd);
    switch (f.kind) {
      case "container":
        return this.containerIoctl(f, request, arg);
      case "group":
        return this.groupIoctl(f, request, arg);
      case "iommufd":
        return this.iommufdIoctl(f, request, arg);
      case "device":
        return deviceIoctl(this.ioctls, this.fds, f, request, arg);
      case "eventfd":
        return fail("ENOTTY", "eventfd");
    }
  }

  private containerIoctl(f: FileOf<"container">, request: number, arg: IoctlArg): number {
    const io = this.ioctls;
    switch (request) {
      case io.GET_API_VERSION:
        return 0;
      case io.CHECK_EXTENSION:
        return value(arg) === VFIO_TYPE1_IOMMU || value(arg) === VFIO_TYPE1v2_IOMMU ? 1 : 0;
      case io.SET_IOMMU: {
        const t = value(arg);
        if (f.groups.size === 0) return fail("EINVAL", "SET_IOMMU before any group joined the container");
        if (t !== VFIO_TYPE1_IOMMU && t !== VFIO_TYPE1v2_IOMMU) return fail("EINVAL", `IOMMU type ${t}`);
        f.iommu = t;
        return 0;
      }
      case io.IOMMU_MAP_DMA: {
        const b = buffer(arg, request, 32);
        if (f.iommu === undefined) return fail("EINVAL", "MAP_DMA before SET_IOMMU");
        return this.dma.map(k.u64(b, 16), k.u64(b, 24), k.u64(b, 8), k.u32(b, 4) & 1, k.u32(b, 4) & 2);
      }
      case io.IOMMU_UNMAP_DMA: {
        const b = buffer(arg, request, 24);
        return this.dma.unmap(k.u64(b, 8), k.u64(b, 16));
      }
    }
    return fail("ENOTTY", `container ioctl 0x${request.toString(16)}`);
  }

  private groupIoctl(f: FileOf<"group">, request: number, arg: IoctlArg): number {
    const io = this.ioctls;
    switch (request) {
      case io.GROUP_GET_STATUS: {
        const b = buffer(arg, request, 8);
        const flags =
          (this.nonViable.has(f.group) ? 0 : VFIO_GROUP_FLAGS_VIABLE) |
          (f.container !== undefined ? VFIO_GROUP_FLAGS_CONTAINER_SET : 0);
        k.setU32(b, 4, flags);
        return 0;
      }
      case io.GROUP_SET_CONTAINER: {
        const cfd = k.s32(buffer(arg, request, 4), 0);
        const c = this.file(cfd);
        if (c.kind !== "container") return fail("EBADF", `fd ${cfd} is not a container`);
        if (f.container !== undefined) return fail("EBUSY", "group already has a container");
        if (this.nonViable.has(f.group)) return fail("EPERM", "group is not viable");
        f.container = cfd;
        c.groups.add(f.group);
        return 0;
      }
      case io.GROUP_UNSET_CONTAINER: {
        if (f.container === undefined) return fail("EINVAL", "no container");
        const c = this.fds.get(f.container);
        if (c?.kind === "container") c.groups.delete(f.group);
        f.container = undefined;
        return 0;
      }
      case io.GROUP_GET_DEVICE_FD:
        return this.groupDeviceFd(f, buffer(arg, request, 1));
    }
    return fail("ENOTTY", `group ioctl 0x${request.toString(16)}`);
  }

  private groupDeviceFd(f: FileOf<"group">, b: Uint8Array): number {
    const end = b.indexOf(0);
    const name = new TextDecoder().decode(b.subarray(0, end < 0 ? b.length : end));
    const c = f.container === undefined ? undefined : this.fds.get(f.container);
    if (c?.kind !== "container" || c.iommu === undefined)
      return fail("EINVAL", "GET_DEVICE_FD before the container has an IOMMU");
    const d = this.devices.get(name);
    if (!d || d.spec.group !== f.group) return fail("ENODEV", `no device "${name}" in group ${f.group}`);
    d.opens++;
    return this.add({ kind: "device", device: d, bound: true, attached: true, cdev: false });
  }

  private iommufdIoctl(f: FileOf<"iommufd">, request: number, arg: IoctlArg): number {
    const io = this.ioctls;
    switch (request) {
      case io.IOMMU_IOAS_ALLOC: {
        const b = buffer(arg, request, 12);
        const id = this.nextIoas++;
        f.ioas.add(id);
        k.setU32(b, 8, id);
        return 0;
      }
      case io.IOMMU_IOAS_MAP: {
        const b = buffer(arg, request, 40);
        if (!f.ioas.has(k.u32(b, 8))) return fail("ENOENT", `IOAS ${k.u32(b, 8)}`);
        const flags = k.u32(b, 4);
        return this.dma.map(k.u64(b, 32), k.u64(b, 24), k.u64(b, 16), flags & 4, flags & 2);
      }
      case io.IOMMU_IOAS_UNMAP: {
        const b = buffer(arg, request, 24);
        return this.dma.unmap(k.u64(b, 8), k.u64(b, 16));
      }
    }
    return fail("ENOTTY", `iommufd ioctl 0x${request.toString(16)}`);
  }

  private deviceFile(fd: number): Extract<OpenFile, { kind: "device" }> {
    const f = this.file(fd);
    if (f.kind !== "device") return fail("EINVAL", `fd ${fd} is not a device`);
    if (!f.bound) return fail("EINVAL", "a cdev must be bound to an iommufd first");
    return f;
  }

  private regionAt(d: LiveDevice, position: bigint, length: number): { r: LiveRegion; at: bigint } {
    for (const r of d.regions.values()) {
      if (r.spec.size > 0n && position >= r.spec.offset && position < r.spec.offset + r.spec.size) {
        if (position + BigInt(length) > r.spec.offset + r.spec.size)
          return fail("EINVAL", "access crosses the end of a region");
        return { r, at: position - r.spec.offset };
      }
    }
    return fail("EINVAL", `no region at file offset 0x${position.toString(16)}`);
  }

  pread(fd: number, length: number, position: bigint): Uint8Array {
    const f = this.deviceFile(fd);
    const { r, at } = this.regionAt(f.device, position, length);
    if ((r.spec.flags & RegionInfoFlags.READ) === 0) return fail("EINVAL", "region is not readable");
    const custom = f.device.spec.behaviour?.read?.(r.spec.index, at, length);
    if (custom) return custom.slice(0, length);
    return r.memory.slice(Number(at), Number(at) + length);
  }

  pwrite(fd: number, data: Uint8Array, position: bigint): number {
    const f = this.deviceFile(fd);
    const { r, at } = this.regionAt(f.device, position, data.length);
    if ((r.spec.flags & RegionInfoFlags.WRITE) === 0) return fail("EINVAL", "region is not writable");
    if (f.device.spec.behaviour?.write?.(r.spec.index, at, data)) return data.length;
    r.memory.set(data, Number(at));
    return data.length;
  }

  mmap(fd: number, offset: bigint, length: number): KernelMapping {
    const f = this.deviceFile(fd);
    if (offset % 4096n !== 0n) return fail("EINVAL", "mmap offset is not page-aligned");
    const { r, at } = this.regionAt(f.device, offset, length);
    if ((r.spec.flags & RegionInfoFlags.MMAP) === 0) return fail("EINVAL", `region ${r.spec.index} is not mmap-able`);
    const end = at + BigInt(length);
    if (r.spec.sparseAreas && !r.spec.sparseAreas.some((a) => at >= a.offset && end <= a.offset + a.size)) {
      return fail(
        "EINVAL",
        `[0x${at.toString(16)}, 0x${end.toString(16)}) of region ${r.spec.index} is outside its sparse mmap areas`,
      );
    }
    this.liveMappings++;
    let live = true;
    return {
      bytes: r.memory.subarray(Number(at), Number(end)),
      unmap: () => {
        if (!live) return;
        live = false;
        this.liveMappings--;
      },
    };
  }

  eventfd(): KernelEventFd {
    let fd = -1;
    const event = new StandInEventFd(this.nextFd, () => this.fds.delete(fd));
    fd = this.add({ kind: "eventfd", event });
    return event;
  }

  allocDma(size: number): KernelDmaMemory {
    return this.dma.alloc(size);
  }

  mapDmaFile(fd: number, offset: bigint, size: number): KernelDmaMemory {
    return this.dma.mapFile(fd, offset, size);
  }
}
