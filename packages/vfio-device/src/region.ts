/** A part of a region that may be mmapped: `offset` is relative to the start of the region. */
export interface SparseArea {
  readonly offset: bigint;
  readonly size: bigint;
}

/** A region-info capability this package does not interpret, kept as it came. */
export interface RawRegionCapability {
  readonly id: number;
  readonly version: number;
  /** The capability's bytes after its 8-byte header. */
  readonly data: Uint8Array;
}

/**
 * What a device says about one of its regions (vfio_region_info and its capability chain, decoded).
 * Implementations fill it from the kernel's VFIO_DEVICE_GET_REGION_INFO or vfio-user's GET_REGION_INFO.
 */
export interface RegionInfo {
  readonly index: number;
  /** The raw VFIO_REGION_INFO_FLAG_* word. */
  readonly flags: number;
  readonly readable: boolean;
  readonly writable: boolean;
  /** The region (or, with `sparseAreas`, parts of it) may be mmapped. */
  readonly mmappable: boolean;
  readonly size: bigint;
  /**
   * Where the region lives in the device's file: the kernel's pread/pwrite/mmap offset, or the mmap offset of the
   * fd a vfio-user server passed. Never assume `index << 40`: use this.
   */
  readonly offset: bigint;
  /** Present when the device sent VFIO_REGION_INFO_CAP_SPARSE_MMAP: only these areas may be mmapped. */
  readonly sparseAreas?: readonly SparseArea[];
  /** Present when the device sent VFIO_REGION_INFO_CAP_TYPE (device-specific regions, index >= 9). */
  readonly type?: { readonly type: number; readonly subtype: number };
  /** VFIO_REGION_INFO_CAP_MSIX_MAPPABLE: the MSI-X table in this BAR may be mmapped too. */
  readonly msixMappable: boolean;
  /** Capabilities with other ids, in chain order. */
  readonly otherCapabilities: readonly RawRegionCapability[];
}

/**
 * The areas of a region that may be mmapped: the sparse areas when the device named them, the whole region when it
 * is mmappable without a sparse capability, none otherwise.
 */
export function mappableAreas(info: RegionInfo): readonly SparseArea[] {
  if (!info.mmappable || info.size === 0n) return [];
  if (info.sparseAreas !== undefined) return info.sparseAreas.filter((a) => a.size > 0n);
  return [{ offset: 0n, size: info.size }];
}

/** Where a piece of memory lives in a file: another thread of this process can mmap `fd` at `offset` itself. */
export interface FileRange {
  /** An fd of this process (fd numbers are process-wide), open as long as the memory stays mapped. Not yours to close. */
  readonly fd: number;
  /** Byte offset of the memory in the file (page aligned). */
  readonly offset: bigint;
}

/** One mmapped area of a region: `bytes` is a live view of the device memory. */
export interface MappedArea {
  /** Offset of the area within its region. */
  readonly offset: bigint;
  readonly size: bigint;
  readonly bytes: Uint8Array;
  /**
   * The file the area was mapped from, when the implementation can say (a worker thread maps the same memory, e.g. a
   * doorbell page, from it); valid until the mapping is unmapped.
   */
  readonly file?: FileRange;
}

/** The mmapped areas of one region; `unmap()` releases them (their `bytes` then read as empty). */
export interface RegionMapping {
  readonly index: number;
  readonly areas: readonly MappedArea[];
  unmap(): void;
}
