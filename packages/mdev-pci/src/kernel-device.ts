import {
  type DeviceInfo,
  type DmaBuffer,
  type DmaMapAccess,
  type InterruptListener,
  type IrqBinding,
  IrqEventfds,
  type IrqInfo,
  type MappedArea,
  type MdevAddress,
  mappableAreas,
  type PciAddress,
  type RegionInfo,
  type RegionMapping,
  type SetIrqsRequest,
  type VfioDevice,
  VfioDeviceError,
} from "@emu/vfio-device";
import { LITTLE_ENDIAN } from "@emu/vfio-user-proto/wire";
import { errnoCode } from "./errors.js";
import {
  DEVICE_INFO_ARGSZ,
  deviceInfoFromKernel,
  IRQ_INFO_SIZE,
  irqInfoFromKernel,
  irqSetForKernel,
  REGION_INFO_SIZE,
  regionInfoArgsz,
  regionInfoFromKernel,
} from "./internal/vfio-structs.js";
import type { VfioIoctls } from "./internal/vfio-uapi.js";
import type { PciDevice } from "./pci-device.js";
import type { KernelMapping, VfioKernel } from "./vfio-kernel.js";

const PAGE_SIZE = 4096n;
const EMPTY = new Uint8Array(0);

interface LiveMapping {
  readonly mapping: KernelMapping;
  live: boolean;
  area: MappedArea;
}

/** What the device needs from the host that opened it: DMA through its container or IOAS, and release on close. */
export interface DeviceHostLink {
  dmaMap(
    iova: bigint,
    size: bigint,
    access: { read: boolean; write: boolean; file?: { fd: number; offset: bigint } },
  ): Promise<DmaBuffer>;
  dmaUnmap(iova: bigint, size: bigint): Promise<void>;
  release(): void;
}

function kernelError(what: string, e: unknown): VfioDeviceError {
  const code = errnoCode(e);
  return new VfioDeviceError("Io", `${what}: ${code ?? String(e)}`, {
    cause: e,
    ...(code === undefined ? {} : { code }),
  });
}

/**
 * A kernel VFIO device fd as a `VfioDevice`: region info with its capability chain (argsz grown until the chain
 * fits), pread/pwrite at the offset the kernel reports for each region, mmap of the mappable areas only (the sparse
 * areas when the region has them), IRQs through eventfds, DMA through the container or IOAS, reset.
 */
export class KernelVfioDevice implements VfioDevice {
  readonly address: PciAddress | MdevAddress;
  private closed = false;
  private readonly regionCache = new Map<number, RegionInfo>();
  private readonly mappings = new Set<LiveMapping>();
  private readonly irqs: IrqEventfds;
  private readonly dma = new Map<string, DmaBuffer>();

  constructor(
    readonly device: PciDevice,
    /** How the fd was obtained: the legacy group/container flow or the iommufd cdev flow. */
    readonly flow: "group" | "cdev",
    private readonly kernel: VfioKernel,
    private readonly ioctls: VfioIoctls,
    private readonly fd: number,
    private readonly host: DeviceHostLink,
  ) {
    this.address = device.address;
    this.irqs = new IrqEventfds({
      setIrqs: (request) => this.setIrqs(request),
      createEventfd: () => this.kernel.eventfd(),
      canSetIrqs: () => !this.closed,
    });
  }

  private live(): void {
    if (this.closed) throw new VfioDeviceError("Closed", `${this.device.name} is closed`);
  }

  private ioctl(name: keyof VfioIoctls, arg?: Uint8Array | number | bigint): number {
    this.live();
    try {
      return this.kernel.ioctl(this.fd, this.ioctls[name], arg);
    } catch (e) {
      throw kernelError(`VFIO_${name} on ${this.device.name}`, e);
    }
  }

  async getInfo(): Promise<DeviceInfo> {
    const b = new Uint8Array(DEVICE_INFO_ARGSZ);
    new DataView(b.buffer).setUint32(0, DEVICE_INFO_ARGSZ, LITTLE_ENDIAN);
    this.ioctl("DEVICE_GET_INFO", b);
    return deviceInfoFromKernel(b);
  }

  async getRegionInfo(index: number): Promise<RegionInfo> {
    this.live();
    if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
      throw new VfioDeviceError("OutOfBounds", `bad region index ${String(index)}`);
    }
    const cached = this.regionCache.get(index);
    if (cached) return cached;
    let argsz = REGION_INFO_SIZE;
    for (let attempt = 0; attempt < 8; attempt++) {
      const b = new Uint8Array(argsz);
      const v = new DataView(b.buffer);
      v.setUint32(0, argsz, LITTLE_ENDIAN);
      v.setUint32(8, index, LITTLE_ENDIAN);
      this.ioctl("DEVICE_GET_REGION_INFO", b);
      const wanted = regionInfoArgsz(b);
      if (wanted > argsz) {
        // The capability chain did not fit: the kernel said how much room it needs (cap_offset is 0 meanwhile).
        argsz = wanted;
        continue;
      }
      let info: RegionInfo;
      try {
        info = regionInfoFromKernel(b);
      } catch (e) {
        throw new VfioDeviceError(
          "Io",
          `${this.device.name} region ${index}: the kernel's region info does not decode: ${String(e)}`,
          {
            cause: e,
          },
        );
      }
      this.regionCache.set(index, info);
      return info;
    }
    throw new VfioDeviceError("Io", `${this.device.name} region ${index}: the kernel kept asking for a larger argsz`);
  }

  private async checkRange(index: number, offset: bigint, length: number, write: boolean): Promise<RegionInfo> {
    const info = await this.getRegionInfo(index);
    if (typeof offset !== "bigint" || offset < 0n || !Number.isSafeInteger(length) || length < 0) {
      throw new VfioDeviceError(
        "OutOfBounds",
        `${this.device.name} region ${index}: bad offset ${String(offset)} or length ${String(length)}`,
      );
    }
    if (offset + BigInt(length) > info.size) {
      throw new VfioDeviceError(
        "OutOfBounds",
        `${this.device.name} region ${index}: [0x${offset.toString(16)}, 0x${(offset + BigInt(length)).toString(16)}) is outside its 0x${info.size.toString(16)} bytes`,
      );
    }
    if (write ? !info.writable : !info.readable) {
      throw new VfioDeviceError(
        "Unsupported",
        `${this.device.name} region ${index} is not ${write ? "writable" : "readable"}`,
      );
    }
    return info;
  }

  async regionRead(index: number, offset: bigint, length: number): Promise<Uint8Array> {
    const info = await this.checkRange(index, offset, length, false);
    let got: Uint8Array;
    try {
      got = this.kernel.pread(this.fd, length, info.offset + offset);
    } catch (e) {
      throw kernelError(
        `pread of ${length} bytes at region ${index} + 0x${offset.toString(16)} of ${this.device.name}`,
        e,
      );
    }
    if (got.length !== length) {
      throw new VfioDeviceError(
        "Io",
        `${this.device.name} region ${index}: short read, ${got.length} of ${length} bytes`,
      );
    }
    return got;
  }

  async regionWrite(index: number, offset: bigint, data: Uint8Array): Promise<void> {
    const info = await this.checkRange(index, offset, data.length, true);
    let n: number;
    try {
      n = this.kernel.pwrite(this.fd, data, info.offset + offset);
    } catch (e) {
      throw kernelError(
        `pwrite of ${data.length} bytes at region ${index} + 0x${offset.toString(16)} of ${this.device.name}`,
        e,
      );
    }
    if (n !== data.length) {
      throw new VfioDeviceError("Io", `${this.device.name} region ${index}: short write, ${n} of ${data.length} bytes`);
    }
  }

  async mapRegion(index: number): Promise<RegionMapping> {
    const info = await this.getRegionInfo(index);
    const done: LiveMapping[] = [];
    try {
      for (const a of mappableAreas(info)) {
        const fileOffset = info.offset + a.offset;
        if (fileOffset % PAGE_SIZE !== 0n) {
          throw new VfioDeviceError(
            "NotMappable",
            `${this.device.name} region ${index}: area at 0x${a.offset.toString(16)} is not page-aligned`,
          );
        }
        if (a.offset + a.size > info.size || a.size > BigInt(Number.MAX_SAFE_INTEGER)) {
          throw new VfioDeviceError(
            "NotMappable",
            `${this.device.name} region ${index}: area at 0x${a.offset.toString(16)} runs past the region`,
          );
        }
        let mapping: KernelMapping;
        try {
          mapping = this.kernel.mmap(this.fd, fileOffset, Number(a.size));
        } catch (e) {
          throw kernelError(
            `mmap of region ${index} area 0x${a.offset.toString(16)}+0x${a.size.toString(16)} of ${this.device.name}`,
            e,
          );
        }
        const live: LiveMapping = { mapping, live: true, area: undefined as unknown as MappedArea };
        live.area = {
          offset: a.offset,
          size: a.size,
          // After unmap the area reads as empty, so RegionIo falls back to pread/pwrite instead of touching it.
          get bytes() {
            return live.live ? mapping.bytes : EMPTY;
          },
        };
        this.mappings.add(live);
        done.push(live);
      }
    } catch (e) {
      for (const d of done) this.unmapOne(d);
      throw e;
    }
    return {
      index,
      areas: done.map((d) => d.area),
      unmap: () => {
        for (const d of done) this.unmapOne(d);
      },
    };
  }

  private unmapOne(m: LiveMapping): void {
    if (!m.live) return;
    m.live = false;
    this.mappings.delete(m);
    m.mapping.unmap();
  }

  async getIrqInfo(index: number): Promise<IrqInfo> {
    const b = new Uint8Array(IRQ_INFO_SIZE);
    const v = new DataView(b.buffer);
    v.setUint32(0, IRQ_INFO_SIZE, LITTLE_ENDIAN);
    v.setUint32(8, index, LITTLE_ENDIAN);
    this.ioctl("DEVICE_GET_IRQ_INFO", b);
    return irqInfoFromKernel(b);
  }

  async setIrqs(request: SetIrqsRequest): Promise<void> {
    this.ioctl("DEVICE_SET_IRQS", irqSetForKernel(request));
  }

  async enableIrqs(index: number, start: number, count: number, listener: InterruptListener): Promise<IrqBinding> {
    this.live();
    return this.irqs.enable(index, start, count, listener);
  }

  async disableIrqs(index: number): Promise<void> {
    return this.irqs.disable(index);
  }

  async dmaMap(iova: bigint, size: bigint, access?: DmaMapAccess): Promise<DmaBuffer> {
    this.live();
    const file = access?.file;
    if (file !== undefined && (!Number.isSafeInteger(file.fd) || file.fd < 0))
      throw new VfioDeviceError("Io", `DMA map: bad fd ${String(file.fd)}`, { code: "EBADF" });
    const buf = await this.host.dmaMap(iova, size, {
      read: access?.read ?? true,
      write: access?.write ?? true,
      ...(file === undefined ? {} : { file: { fd: file.fd, offset: file.offset ?? 0n } }),
    });
    this.dma.set(`${iova}:${size}`, buf);
    return buf;
  }

  async dmaUnmap(iova: bigint, size: bigint): Promise<void> {
    this.live();
    await this.host.dmaUnmap(iova, size);
    this.dma.delete(`${iova}:${size}`);
  }

  async reset(): Promise<void> {
    this.ioctl("DEVICE_RESET");
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const index of this.irqs.indexes()) await this.disableIrqs(index).catch(() => undefined);
    for (const m of [...this.mappings]) this.unmapOne(m);
    for (const b of [...this.dma.values()]) await this.host.dmaUnmap(b.iova, b.size).catch(() => undefined);
    this.dma.clear();
    this.closed = true;
    try {
      this.kernel.close(this.fd);
    } finally {
      this.host.release();
    }
  }
}
