/**
 * Kernel-only VFIO and iommufd uAPI (include/uapi/linux/vfio.h, iommufd.h): ioctl numbers and the layouts vfio-user
 * does not reuse (group status, container, type1 DMA map/unmap, cdev bind/attach, IOAS). The structs vfio-user shares
 * (device, region and IRQ info, irq_set) come from `@emu/vfio-user-proto`.
 */

import { LITTLE_ENDIAN } from "@emu/vfio-user-proto/wire";

/** _IO(';', nr): no size or direction encoded. `_IOC_NONE` is 1 (shifted to bit 29) on powerpc, mips, sparc, alpha. */
function vfioIo(nr: number, arch: string = process.arch): number {
  const none = /^(ppc|mips|sparc|alpha)/.test(arch) ? 0x20000000 : 0;
  return (none | (0x3b << 8) | nr) >>> 0;
}

export function vfioIoctls(arch: string = process.arch) {
  const io = (n: number) => vfioIo(n, arch);
  return {
    GET_API_VERSION: io(100),
    CHECK_EXTENSION: io(101),
    SET_IOMMU: io(102),
    GROUP_GET_STATUS: io(103),
    GROUP_SET_CONTAINER: io(104),
    GROUP_UNSET_CONTAINER: io(105),
    GROUP_GET_DEVICE_FD: io(106),
    DEVICE_GET_INFO: io(107),
    DEVICE_GET_REGION_INFO: io(108),
    DEVICE_GET_IRQ_INFO: io(109),
    DEVICE_SET_IRQS: io(110),
    DEVICE_RESET: io(111),
    IOMMU_GET_INFO: io(112),
    IOMMU_MAP_DMA: io(113),
    IOMMU_UNMAP_DMA: io(114),
    DEVICE_BIND_IOMMUFD: io(118),
    DEVICE_ATTACH_IOMMUFD_PT: io(119),
    DEVICE_DETACH_IOMMUFD_PT: io(120),
    IOMMU_DESTROY: io(0x80),
    IOMMU_IOAS_ALLOC: io(0x81),
    IOMMU_IOAS_MAP: io(0x85),
    IOMMU_IOAS_UNMAP: io(0x86),
  } as const;
}

export type VfioIoctls = ReturnType<typeof vfioIoctls>;

export const VFIO_API_VERSION = 0;
/** VFIO_CHECK_EXTENSION / VFIO_SET_IOMMU values. */
export const VFIO_TYPE1_IOMMU = 1;
export const VFIO_TYPE1v2_IOMMU = 3;
export const VFIO_NOIOMMU_IOMMU = 8;

export const VFIO_GROUP_FLAGS_VIABLE = 1;
export const VFIO_GROUP_FLAGS_CONTAINER_SET = 2;

export const VFIO_DMA_MAP_FLAG_READ = 1;
export const VFIO_DMA_MAP_FLAG_WRITE = 2;

export const IOMMU_IOAS_MAP_FIXED_IOVA = 1;
export const IOMMU_IOAS_MAP_WRITEABLE = 2;
export const IOMMU_IOAS_MAP_READABLE = 4;

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** struct vfio_group_status {argsz, flags}. */
export function encodeGroupStatus(): Uint8Array {
  const b = new Uint8Array(8);
  view(b).setUint32(0, 8, LITTLE_ENDIAN);
  return b;
}
export function decodeGroupStatusFlags(b: Uint8Array): number {
  return view(b).getUint32(4, LITTLE_ENDIAN);
}

/** An s32 fd passed by pointer (VFIO_GROUP_SET_CONTAINER). */
export function encodeFdArg(fd: number): Uint8Array {
  const b = new Uint8Array(4);
  view(b).setInt32(0, fd, LITTLE_ENDIAN);
  return b;
}

/** A NUL-terminated device name (VFIO_GROUP_GET_DEVICE_FD). */
export function encodeDeviceName(name: string): Uint8Array {
  const s = new TextEncoder().encode(name);
  const b = new Uint8Array(s.length + 1);
  b.set(s);
  return b;
}

/** struct vfio_iommu_type1_dma_map {argsz, flags, vaddr u64, iova u64, size u64} = 32 bytes. */
export function encodeDmaMap(flags: number, vaddr: bigint, iova: bigint, size: bigint): Uint8Array {
  const b = new Uint8Array(32);
  const v = view(b);
  v.setUint32(0, 32, LITTLE_ENDIAN);
  v.setUint32(4, flags, LITTLE_ENDIAN);
  v.setBigUint64(8, vaddr, LITTLE_ENDIAN);
  v.setBigUint64(16, iova, LITTLE_ENDIAN);
  v.setBigUint64(24, size, LITTLE_ENDIAN);
  return b;
}

/** struct vfio_iommu_type1_dma_unmap {argsz, flags, iova u64, size u64} = 24 bytes. */
export function encodeDmaUnmap(iova: bigint, size: bigint): Uint8Array {
  const b = new Uint8Array(24);
  const v = view(b);
  v.setUint32(0, 24, LITTLE_ENDIAN);
  v.setBigUint64(8, iova, LITTLE_ENDIAN);
  v.setBigUint64(16, size, LITTLE_ENDIAN);
  return b;
}

/** struct vfio_device_bind_iommufd {argsz, flags, iommufd s32, out_devid u32} = 16 bytes. */
export function encodeBindIommufd(iommufd: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = view(b);
  v.setUint32(0, 16, LITTLE_ENDIAN);
  v.setInt32(8, iommufd, LITTLE_ENDIAN);
  return b;
}
export function decodeBoundDevId(b: Uint8Array): number {
  return view(b).getUint32(12, LITTLE_ENDIAN);
}

/** struct vfio_device_attach_iommufd_pt {argsz, flags, pt_id} = 12 bytes. */
export function encodeAttachPt(ptId: number): Uint8Array {
  const b = new Uint8Array(12);
  const v = view(b);
  v.setUint32(0, 12, LITTLE_ENDIAN);
  v.setUint32(8, ptId, LITTLE_ENDIAN);
  return b;
}

/** struct iommu_ioas_alloc {size, flags, out_ioas_id} = 12 bytes. */
export function encodeIoasAlloc(): Uint8Array {
  const b = new Uint8Array(12);
  view(b).setUint32(0, 12, LITTLE_ENDIAN);
  return b;
}
export function decodeIoasId(b: Uint8Array): number {
  return view(b).getUint32(8, LITTLE_ENDIAN);
}

/** struct iommu_ioas_map {size, flags, ioas_id, __reserved, user_va u64, length u64, iova u64} = 40 bytes. */
export function encodeIoasMap(ioasId: number, flags: number, userVa: bigint, length: bigint, iova: bigint): Uint8Array {
  const b = new Uint8Array(40);
  const v = view(b);
  v.setUint32(0, 40, LITTLE_ENDIAN);
  v.setUint32(4, flags, LITTLE_ENDIAN);
  v.setUint32(8, ioasId, LITTLE_ENDIAN);
  v.setBigUint64(16, userVa, LITTLE_ENDIAN);
  v.setBigUint64(24, length, LITTLE_ENDIAN);
  v.setBigUint64(32, iova, LITTLE_ENDIAN);
  return b;
}

/** struct iommu_ioas_unmap {size, ioas_id, iova u64, length u64} = 24 bytes. */
export function encodeIoasUnmap(ioasId: number, iova: bigint, length: bigint): Uint8Array {
  const b = new Uint8Array(24);
  const v = view(b);
  v.setUint32(0, 24, LITTLE_ENDIAN);
  v.setUint32(4, ioasId, LITTLE_ENDIAN);
  v.setBigUint64(8, iova, LITTLE_ENDIAN);
  v.setBigUint64(16, length, LITTLE_ENDIAN);
  return b;
}

/** Reads the fields the stand-in kernel needs back out of the kernel-only structs. */
export const decodeKernelStruct = {
  u32: (b: Uint8Array, at: number) => view(b).getUint32(at, LITTLE_ENDIAN),
  s32: (b: Uint8Array, at: number) => view(b).getInt32(at, LITTLE_ENDIAN),
  u64: (b: Uint8Array, at: number) => view(b).getBigUint64(at, LITTLE_ENDIAN),
  setU32: (b: Uint8Array, at: number, value: number) => view(b).setUint32(at, value, LITTLE_ENDIAN),
};
