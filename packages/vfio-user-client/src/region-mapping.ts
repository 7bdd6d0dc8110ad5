import { MAX_MAPPING_LENGTH, type Mapping, mmap, pageSize } from "@emu/sys";
import type { MappedArea, RegionInfo, RegionMapping, SparseArea } from "@emu/vfio-device";
import { mappableAreas } from "@emu/vfio-device";
import { VfioUserClientError } from "./errors.js";
import { u32 } from "./internal/arguments.js";
import type { ClientSession } from "./internal/session.js";
import type { RegionInfoCache } from "./region-info.js";

/** One mmapped area, until it is unmapped. */
interface LiveArea {
  readonly mapping: Mapping;
  live: boolean;
}

const EMPTY = new Uint8Array(0);

/**
 * Regions mmapped from the fd the server passed with their info: the mappable areas (sparse areas, or all of the
 * region) of each mapping, and their unmapping (one mapping, or all of them at `close()`).
 */
export class RegionMappings {
  private readonly session: ClientSession;
  private readonly regions: RegionInfoCache;
  private readonly areas = new Set<LiveArea>();

  constructor(session: ClientSession, regions: RegionInfoCache) {
    this.session = session;
    this.regions = regions;
  }

  /** See {@link VfioUserClient.mapRegion}. */
  async mapRegion(index: number): Promise<RegionMapping> {
    this.session.live();
    u32(index, "region index");
    const { info, fd } = await this.regions.region(index);
    const done: { live: LiveArea; area: MappedArea }[] = [];
    try {
      if (fd !== undefined) for (const a of mappableAreas(info)) done.push(this.mapArea(index, info, fd, a));
    } catch (e) {
      for (const d of done) this.unmapArea(d.live);
      throw e;
    }
    return {
      index,
      areas: done.map((d) => d.area),
      unmap: () => {
        for (const d of done) this.unmapArea(d.live);
      },
    };
  }

  /** mmaps one area of region `index` from its region fd. */
  private mapArea(index: number, info: RegionInfo, fd: number, a: SparseArea): { live: LiveArea; area: MappedArea } {
    const fileOffset = info.offset + a.offset;
    if (fileOffset % BigInt(pageSize) !== 0n)
      throw new VfioUserClientError(
        "Unsupported",
        `region ${index}: area at 0x${a.offset.toString(16)} is not page-aligned in the region fd`,
      );
    if (a.offset + a.size > info.size || a.size > BigInt(MAX_MAPPING_LENGTH))
      throw new VfioUserClientError(
        "Unsupported",
        `region ${index}: area 0x${a.offset.toString(16)}+0x${a.size.toString(16)} runs past the region or is above 4 GiB`,
      );
    let mapping: Mapping;
    try {
      mapping = mmap(fd, fileOffset, Number(a.size), info.writable ? "rw" : "r");
    } catch (e) {
      throw new VfioUserClientError("Unsupported", `region ${index}: mmap failed: ${(e as Error).message}`, {
        cause: e,
      });
    }
    const live: LiveArea = { mapping, live: true };
    this.areas.add(live);
    const bytes = new Uint8Array(mapping.buffer);
    return {
      live,
      area: {
        offset: a.offset,
        size: a.size,
        file: { fd, offset: fileOffset },
        get bytes() {
          return live.live ? bytes : EMPTY;
        },
      },
    };
  }

  private unmapArea(a: LiveArea): void {
    if (!a.live) return;
    a.live = false;
    this.areas.delete(a);
    a.mapping.unmap();
  }

  /** Unmaps every area still mapped (their `bytes` read as empty from now on). */
  close(): void {
    for (const a of [...this.areas]) this.unmapArea(a);
  }
}
