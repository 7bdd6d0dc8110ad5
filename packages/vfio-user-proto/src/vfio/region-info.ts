import { isProtoError } from "../errors.js";
import { CAP_HEADER_SIZE, readCapabilityChain } from "../internal/capability-chain.js";
import { align8 } from "../internal/codec.js";
import { Reader } from "../internal/reader.js";
import { Writer } from "../internal/writer.js";
import type { RawInfoCapability } from "./info-capability.js";

/** `VFIO_REGION_INFO_FLAG_*`. */
export const RegionInfoFlags = {
  READ: 1 << 0,
  WRITE: 1 << 1,
  /** The region (or the areas of its SPARSE_MMAP capability) can be mmap()ed; the reply carries the fd. */
  MMAP: 1 << 2,
  /** The region has capabilities (`cap_offset`). */
  CAPS: 1 << 3,
} as const;

/** Region-info capability ids (`VFIO_REGION_INFO_CAP_*`). */
export const RegionCapabilityId = {
  SPARSE_MMAP: 1,
  TYPE: 2,
  MSIX_MAPPABLE: 3,
  /** Kernel only, deprecated. */
  NVLINK2_SSATGT: 4,
  /** Kernel only, deprecated. */
  NVLINK2_LNKSPD: 5,
} as const;

/** Region `type` values for the TYPE capability (`VFIO_REGION_TYPE_*`). */
export const RegionType = {
  /** OR-ed with a PCI vendor id: `PCI_VENDOR_TYPE | 0x8086`. */
  PCI_VENDOR_TYPE: 0x80000000,
  GFX: 1,
  CCW: 2,
  MIGRATION_DEPRECATED: 3,
} as const;

/** Size of the fixed part of `struct vfio_region_info`. */
export const REGION_INFO_SIZE = 32;

/** One mmap()able window of a sparse region: mmap at region `offset` + area `offset`, for `size` bytes. */
export interface SparseMmapArea {
  readonly offset: bigint;
  readonly size: bigint;
}

/** `VFIO_REGION_INFO_CAP_SPARSE_MMAP` (id 1): `nr_areas` u32 @8, reserved u32 @12, areas {offset u64, size u64} @16. */
export interface SparseMmapCapability {
  readonly kind: "SparseMmap";
  /** Capability version; 1 when omitted on encode. */
  readonly version?: number;
  readonly areas: readonly SparseMmapArea[];
}

/** `VFIO_REGION_INFO_CAP_TYPE` (id 2): `type` u32 @8, `subtype` u32 @12. Marks device-specific regions (index ≥ 9). */
export interface RegionTypeCapability {
  readonly kind: "Type";
  readonly version?: number;
  readonly type: number;
  readonly subtype: number;
}

/** `VFIO_REGION_INFO_CAP_MSIX_MAPPABLE` (id 3, kernel): header only; the MSI-X table BAR may be mmap()ed whole. */
export interface MsixMappableCapability {
  readonly kind: "MsixMappable";
  readonly version?: number;
}

/** A region-info capability. Ids this package does not know are kept raw ({@link RawInfoCapability}). */
export type RegionCapability = SparseMmapCapability | RegionTypeCapability | MsixMappableCapability | RawInfoCapability;

/**
 * `struct vfio_region_info` plus its capability chain; the same layout in a vfio-user DEVICE_GET_REGION_INFO reply
 * and in the kernel's `VFIO_DEVICE_GET_REGION_INFO` result.
 *
 * | Offset | Size | Field |
 * |---|---|---|
 * | 0 | 4 | argsz (size of the full reply: 32 + capabilities) |
 * | 4 | 4 | flags ({@link RegionInfoFlags}) |
 * | 8 | 4 | index |
 * | 12 | 4 | cap_offset (from the start of the struct; 0 = none) |
 * | 16 | 8 | size |
 * | 24 | 8 | offset (what to pass to mmap(); base of sparse areas) |
 *
 * `cap_offset` and each capability's `next` are not fields here: decoding follows them, encoding lays the
 * capabilities out one after another from offset 32, each padded to 8 bytes (as the kernel does since 6.6 and
 * libvfio-user always did). `flags` and `argsz` are written as given — use {@link regionInfoSize} for `argsz`.
 */
export interface RegionInfo {
  readonly argsz: number;
  readonly flags: number;
  readonly index: number;
  readonly size: bigint;
  readonly offset: bigint;
  readonly capabilities: readonly RegionCapability[];
}

function capabilitySize(c: RegionCapability): number {
  switch (c.kind) {
    case "SparseMmap":
      return CAP_HEADER_SIZE + 8 + 16 * c.areas.length;
    case "Type":
      return CAP_HEADER_SIZE + 8;
    case "MsixMappable":
      return CAP_HEADER_SIZE;
    case "Unknown":
      return CAP_HEADER_SIZE + c.data.length;
  }
}

/** The `argsz` a complete reply with these capabilities needs: 32 + each capability padded to 8 bytes. */
export function regionInfoSize(capabilities: readonly RegionCapability[]): number {
  let n = REGION_INFO_SIZE;
  for (const c of capabilities) n += align8(capabilitySize(c));
  return n;
}

/** @internal Reads the struct and its chain; `r.bytes` must start at the struct. */
export function readRegionInfo(r: Reader): RegionInfo {
  const argsz = r.u32("argsz");
  const flags = r.u32("flags");
  const index = r.u32("index");
  const capOffset = r.u32("cap_offset");
  const size = r.u64("size");
  const offset = r.u64("offset");
  if (capOffset === 0) {
    r.rest(); // anything after a capability-less struct is ignored (a kernel buffer may be larger)
    return { argsz, flags, index, size, offset, capabilities: [] };
  }
  // A kernel buffer may be larger than the argsz it was filled to: only the first argsz bytes are the struct.
  const end = argsz >= REGION_INFO_SIZE && argsz < r.bytes.length ? argsz : r.bytes.length;
  const area = new Reader(r.bytes.subarray(0, end), r.context, r.command);
  const capabilities = readCapabilityChain(area, capOffset, REGION_INFO_SIZE).map((c): RegionCapability => {
    const body = new Reader(c.body, `${r.context} capability ${c.id} at ${c.at}`, r.command);
    try {
      switch (c.id) {
        case RegionCapabilityId.SPARSE_MMAP: {
          const nrAreas = body.u32("nr_areas");
          body.u32("reserved");
          if (nrAreas > body.remaining / 16)
            body.fail("BadCapabilityChain", `nr_areas ${nrAreas} does not fit in ${body.remaining} bytes`);
          const areas: SparseMmapArea[] = [];
          for (let i = 0; i < nrAreas; i++)
            areas.push({ offset: body.u64("area offset"), size: body.u64("area size") });
          return { kind: "SparseMmap", version: c.version, areas };
        }
        case RegionCapabilityId.TYPE:
          return { kind: "Type", version: c.version, type: body.u32("type"), subtype: body.u32("subtype") };
        case RegionCapabilityId.MSIX_MAPPABLE:
          return { kind: "MsixMappable", version: c.version };
        default:
          return { kind: "Unknown", id: c.id, version: c.version, data: c.body };
      }
    } catch (e) {
      // A capability body cut short by the next capability or the end is a chain problem, not a short message.
      if (isProtoError(e) && e.reason === "Truncated") body.fail("BadCapabilityChain", e.message);
      throw e;
    }
  });
  return { argsz, flags, index, size, offset, capabilities };
}

const kindToId = { SparseMmap: "SPARSE_MMAP", Type: "TYPE", MsixMappable: "MSIX_MAPPABLE" } as const;

/** @internal */
export function writeRegionInfo(w: Writer, info: RegionInfo): void {
  const start = w.pos;
  w.u32(info.argsz, "argsz");
  w.u32(info.flags, "flags");
  w.u32(info.index, "index");
  w.u32(info.capabilities.length > 0 ? REGION_INFO_SIZE : 0, "cap_offset");
  w.u64(info.size, "size");
  w.u64(info.offset, "offset");
  let prevNext = -1;
  for (const c of info.capabilities) {
    const at = w.pos - start;
    if (prevNext >= 0) w.patchU32(prevNext, at, "next");
    w.u16(c.kind === "Unknown" ? c.id : RegionCapabilityId[kindToId[c.kind]], "capability id");
    w.u16(c.version ?? 1, "capability version");
    prevNext = w.pos;
    w.u32(0, "next");
    switch (c.kind) {
      case "SparseMmap":
        w.u32(c.areas.length, "nr_areas");
        w.u32(0, "reserved");
        for (const a of c.areas) {
          w.u64(a.offset, "area offset");
          w.u64(a.size, "area size");
        }
        break;
      case "Type":
        w.u32(c.type, "type");
        w.u32(c.subtype, "subtype");
        break;
      case "MsixMappable":
        break;
      case "Unknown":
        w.bytes(c.data);
        break;
    }
    w.zeros(align8(w.pos - start) - (w.pos - start));
  }
}

/** Encodes the struct and its capabilities (`cap_offset` = 32 when there are any). */
export function encodeRegionInfo(info: RegionInfo): Uint8Array {
  const w = new Writer(regionInfoSize(info.capabilities));
  writeRegionInfo(w, info);
  return w.finish();
}

/**
 * Decodes a region info struct and walks its capability chain. Works on a vfio-user reply payload and on the buffer a
 * kernel ioctl filled (bytes beyond `argsz` are ignored). Unknown capabilities are kept raw; loops, offsets into the
 * fixed part or past the end, and capability bodies that do not fit give `ProtoError("BadCapabilityChain")`.
 * Data fields are views of `bytes`.
 */
export function decodeRegionInfo(bytes: Uint8Array): RegionInfo {
  const r = new Reader(bytes, "vfio_region_info");
  return readRegionInfo(r);
}

/** The first capability of the given kind, typed, e.g. `findRegionCapability(info, "SparseMmap")?.areas`. */
export function findRegionCapability<K extends RegionCapability["kind"]>(
  info: Pick<RegionInfo, "capabilities">,
  kind: K,
): Extract<RegionCapability, { kind: K }> | undefined {
  return info.capabilities.find((c): c is Extract<RegionCapability, { kind: K }> => c.kind === kind);
}
