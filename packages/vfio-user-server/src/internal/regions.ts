import type { PciConfigImage } from "@emu/pci-config";
import { closeFd, EventFd, type Mapping, memfdCreate, mmap, pageSize } from "@emu/sys";
import { PCI_NUM_REGIONS, PciRegion, RegionInfoFlags } from "@emu/vfio-user-proto";
import type { IoEventFdDescription, MaybePromise, RegionArea, RegionDescription } from "../device.js";
import { VfioUserServerError } from "../errors.js";

/** A range of a region the server handles itself (MSI-X table / PBA). */
export interface TrapRange {
  readonly start: number;
  readonly end: number;
}

export interface IoEventFdSlot {
  readonly desc: IoEventFdDescription;
  readonly efd: EventFd;
}

/** One region of the device as the server serves it. */
export interface RegionSlot {
  readonly index: number;
  readonly size: number;
  readonly sizeBig: bigint;
  readonly readable: boolean;
  readonly writable: boolean;
  /** Config space (7) is served by the ConfigSpace. */
  readonly isConfig: boolean;
  /** Shared memory backing (a memfd the server owns, mapped read-write). */
  readonly memfd: number | undefined;
  readonly mapping: Mapping | undefined;
  readonly memory: Uint8Array | undefined;
  /** Areas the client may mmap (empty without memory). */
  readonly mmapAreas: readonly RegionArea[];
  /** True when the areas are exactly the whole region (no SPARSE_MMAP capability needed). */
  readonly mmapWhole: boolean;
  readonly read: ((offset: number, length: number) => MaybePromise<Uint8Array>) | undefined;
  readonly write: ((offset: number, data: Uint8Array) => MaybePromise<void>) | undefined;
  readonly type: { readonly type: number; readonly subtype: number } | undefined;
  readonly msixTable: TrapRange | undefined;
  readonly msixPba: TrapRange | undefined;
  readonly ioEventFds: readonly IoEventFdSlot[];
}

function invalid(message: string): never {
  throw new VfioUserServerError("InvalidDevice", message);
}

/** Builds the region table from the device's regions and its config-space image. Throws InvalidDevice. */
export function buildRegions(
  image: PciConfigImage,
  regions: Readonly<Record<number, RegionDescription>>,
): RegionSlot[] {
  const indices = Object.keys(regions).map(Number);
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i > 0xffff) invalid(`region index ${i}`);
    if (i === PciRegion.CONFIG) invalid("region 7 is config space: describe it with `pci`");
  }
  const count = Math.max(PCI_NUM_REGIONS, ...indices.map((i) => i + 1));
  const out: RegionSlot[] = [];
  const created: { memfd?: number; mapping?: Mapping; efds: EventFd[] }[] = [];
  try {
    for (let index = 0; index < count; index++) {
      const r: { memfd?: number; mapping?: Mapping; efds: EventFd[] } = { efds: [] };
      created[index] = r;
      out.push(buildSlot(image, index, regions[index], r));
    }
  } catch (e) {
    for (const c of created) {
      c.mapping?.unmap();
      if (c.memfd !== undefined) closeFd(c.memfd);
      for (const ev of c.efds) ev.close();
    }
    throw e;
  }
  return out;
}

function buildSlot(
  image: PciConfigImage,
  index: number,
  d: RegionDescription | undefined,
  res: { memfd?: number; mapping?: Mapping; efds: EventFd[] },
): RegionSlot {
  const empty = (size: number, isConfig = false): RegionSlot => ({
    index,
    size,
    sizeBig: BigInt(size),
    readable: size > 0,
    writable: size > 0,
    isConfig,
    memfd: undefined,
    mapping: undefined,
    memory: undefined,
    mmapAreas: [],
    mmapWhole: false,
    read: undefined,
    write: undefined,
    type: undefined,
    msixTable: undefined,
    msixPba: undefined,
    ioEventFds: [],
  });
  if (index === PciRegion.CONFIG) return empty(image.size, true);

  // Size: BARs and ROM from config space, others from the description.
  let size: number;
  if (index <= PciRegion.BAR5) {
    const bar = image.bars[index];
    if (bar === undefined) {
      if (d !== undefined) invalid(`region ${index} is described but BAR${index} is not in the PCI description`);
      return { ...empty(0), readable: false, writable: false };
    }
    if (bar.size > BigInt(Number.MAX_SAFE_INTEGER)) invalid(`BAR${index} is too large to serve`);
    size = Number(bar.size);
  } else if (index === PciRegion.ROM) {
    if (image.rom === undefined) {
      if (d !== undefined) invalid("region 6 is described but the PCI description has no ROM");
      return { ...empty(0), readable: false, writable: false };
    }
    size = image.rom.size;
  } else {
    if (d === undefined) return { ...empty(0), readable: false, writable: false };
    if (d.size === undefined) invalid(`region ${index} needs a size`);
    size = d.size;
  }
  if (d?.size !== undefined && d.size !== size)
    invalid(`region ${index}: size ${d.size} differs from the PCI description (${size})`);
  if (!Number.isSafeInteger(size) || size < 0) invalid(`region ${index}: bad size ${size}`);
  if (d === undefined) return { ...empty(size), writable: index !== PciRegion.ROM };
  if (index >= PCI_NUM_REGIONS && d.type === undefined) invalid(`device-specific region ${index} needs a type`);

  // MSI-X table and PBA in this BAR are the server's.
  const msix = image.msix;
  const msixTable =
    msix && msix.tableBar === index
      ? { start: msix.tableOffset, end: msix.tableOffset + msix.tableSize * 16 }
      : undefined;
  const msixPba =
    msix && msix.pbaBar === index ? { start: msix.pbaOffset, end: msix.pbaOffset + msix.pbaSize } : undefined;

  let memfd: number | undefined;
  let mapping: Mapping | undefined;
  let memory: Uint8Array | undefined;
  let areas: RegionArea[] = [];
  if (d.memory === true) {
    if (size === 0 || size > 2 ** 32) invalid(`region ${index}: shared memory must be 1 byte to 4 GiB`);
    const fileSize = Math.ceil(size / pageSize) * pageSize;
    memfd = memfdCreate(`emu-region-${index}`, fileSize);
    res.memfd = memfd;
    mapping = mmap(memfd, 0, fileSize, "rw");
    res.mapping = mapping;
    memory = new Uint8Array(mapping.buffer, 0, size);
    areas = (d.mmap ?? [{ offset: 0, size }]).map((a) => ({ offset: a.offset, size: a.size }));
    areas.sort((a, b) => a.offset - b.offset);
    let prevEnd = 0;
    for (const a of areas) {
      if (!Number.isSafeInteger(a.offset) || !Number.isSafeInteger(a.size) || a.size <= 0 || a.offset < 0)
        invalid(`region ${index}: bad mmap area`);
      if (a.offset % pageSize !== 0) invalid(`region ${index}: mmap area offset ${a.offset} not page aligned`);
      if (a.offset + a.size > size) invalid(`region ${index}: mmap area beyond the region`);
      if (a.offset < prevEnd) invalid(`region ${index}: mmap areas overlap`);
      prevEnd = a.offset + a.size;
      for (const t of [msixTable, msixPba]) {
        if (t && a.offset < t.end && t.start < a.offset + a.size)
          invalid(`region ${index}: mmap area overlaps the MSI-X table or PBA`);
      }
    }
  } else if (d.mmap !== undefined && d.mmap.length > 0) invalid(`region ${index}: mmap areas need memory: true`);

  const ioEventFds: IoEventFdSlot[] = [];
  for (const io of d.ioEventFds ?? []) {
    if (!Number.isSafeInteger(io.offset) || io.offset < 0 || io.offset + Math.max(1, io.size) > size)
      invalid(`region ${index}: ioeventfd at ${io.offset} outside the region`);
    if (![0, 1, 2, 4, 8].includes(io.size)) invalid(`region ${index}: ioeventfd size ${io.size}`);
    const efd = EventFd.create();
    res.efds.push(efd);
    ioEventFds.push({ desc: io, efd });
  }

  return {
    index,
    size,
    sizeBig: BigInt(size),
    readable: d.readable ?? true,
    writable: d.writable ?? index !== PciRegion.ROM,
    isConfig: false,
    memfd,
    mapping,
    memory,
    mmapAreas: areas,
    mmapWhole: areas.length === 1 && areas[0]?.offset === 0 && areas[0]?.size === size,
    read: d.read?.bind(d),
    write: d.write?.bind(d),
    type: d.type,
    msixTable,
    msixPba,
    ioEventFds,
  };
}

/** VFIO region-info flags of a slot (MMAP only when the client can receive the fd). */
export function regionFlags(slot: RegionSlot, canSendFds: boolean): number {
  let f = 0;
  if (slot.size > 0 && slot.readable) f |= RegionInfoFlags.READ;
  if (slot.size > 0 && slot.writable) f |= RegionInfoFlags.WRITE;
  if (canSendFds && slot.memfd !== undefined && slot.mmapAreas.length > 0) f |= RegionInfoFlags.MMAP;
  return f;
}

/** Releases region memory and ioeventfds (server close). */
export function releaseRegions(slots: readonly RegionSlot[]): void {
  for (const s of slots) {
    s.mapping?.unmap();
    if (s.memfd !== undefined) {
      try {
        closeFd(s.memfd);
      } catch {
        // already closed
      }
    }
    for (const io of s.ioEventFds) io.efd.close();
  }
}
