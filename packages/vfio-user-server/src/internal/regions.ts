import type { PciConfigImage } from "@emu/pci-config";
import { closeFd, EventFd, type Mapping, memfdCreate, mmap, pageSize } from "@emu/sys";
import { PCI_NUM_REGIONS, PciRegion, RegionInfoFlags } from "@emu/vfio-user-proto";
import type { IoEventFdDescription, MaybePromise, RegionArea, RegionDescription } from "../device.js";
import { VfioUserServerError } from "../errors.js";

/** A file offered for a region's mmap areas (`region-files.ts`), as the server holds it: its dup, mapped. */
export interface OfferedFile {
  /** What was offered: the caller's fd and the region's start in it. */
  readonly offer: { readonly fd: number; readonly offset: bigint };
  readonly fd: number;
  readonly mapping: Mapping;
  readonly memory: Uint8Array;
}

/** A range of a region the server handles itself (MSI-X table / PBA). */
interface TrapRange {
  readonly start: number;
  readonly end: number;
}

interface IoEventFdSlot {
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
  /**
   * The shared memory the connected client maps: the region's own memfd (the server's, mapped read-write), or a file
   * offered for it (`region-files.ts`) when that was in place as the client connected; `fileOffset` is the region's
   * start in that file (0 for the own memfd).
   */
  memfd: number | undefined;
  mapping: Mapping | undefined;
  memory: Uint8Array | undefined;
  fileOffset: bigint;
  /** The region's own shared memory, whatever is offered. */
  readonly own: {
    readonly memfd: number | undefined;
    readonly mapping: Mapping | undefined;
    readonly memory: Uint8Array | undefined;
  };
  /** Files offered for the mmap areas: the one for the next client, the one the connected client maps. */
  readonly files: { offered: OfferedFile | undefined; active: OfferedFile | undefined };
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
  const created: Resources[] = [];
  try {
    for (let index = 0; index < count; index++) {
      const r: Resources = { efds: [] };
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

type Resources = { memfd?: number; mapping?: Mapping; efds: EventFd[] };

/** A slot with no callbacks, no memory and no traps (config space, an absent region, a BAR without description). */
function emptySlot(index: number, size: number, isConfig = false): RegionSlot {
  return {
    index,
    size,
    sizeBig: BigInt(size),
    readable: size > 0,
    writable: size > 0,
    isConfig,
    memfd: undefined,
    mapping: undefined,
    memory: undefined,
    fileOffset: 0n,
    own: { memfd: undefined, mapping: undefined, memory: undefined },
    files: { offered: undefined, active: undefined },
    mmapAreas: [],
    mmapWhole: false,
    read: undefined,
    write: undefined,
    type: undefined,
    msixTable: undefined,
    msixPba: undefined,
    ioEventFds: [],
  };
}

/** The size of a region: BARs and ROM from config space, others from the description; undefined when absent. */
function regionSize(image: PciConfigImage, index: number, d: RegionDescription | undefined): number | undefined {
  let size: number;
  if (index <= PciRegion.BAR5) {
    const bar = image.bars[index];
    if (bar === undefined) {
      if (d !== undefined) invalid(`region ${index} is described but BAR${index} is not in the PCI description`);
      return undefined;
    }
    if (bar.size > BigInt(Number.MAX_SAFE_INTEGER)) invalid(`BAR${index} is too large to serve`);
    size = Number(bar.size);
  } else if (index === PciRegion.ROM) {
    if (image.rom === undefined) {
      if (d !== undefined) invalid("region 6 is described but the PCI description has no ROM");
      return undefined;
    }
    size = image.rom.size;
  } else {
    if (d === undefined) return undefined;
    if (d.size === undefined) invalid(`region ${index} needs a size`);
    size = d.size;
  }
  if (d?.size !== undefined && d.size !== size)
    invalid(`region ${index}: size ${d.size} differs from the PCI description (${size})`);
  if (!Number.isSafeInteger(size) || size < 0) invalid(`region ${index}: bad size ${size}`);
  return size;
}

/** The MSI-X table and PBA that lie in this BAR: the server's. */
function msixTraps(image: PciConfigImage, index: number): { table?: TrapRange; pba?: TrapRange } {
  const msix = image.msix;
  const traps: { table?: TrapRange; pba?: TrapRange } = {};
  if (msix && msix.tableBar === index)
    traps.table = { start: msix.tableOffset, end: msix.tableOffset + msix.tableSize * 16 };
  if (msix && msix.pbaBar === index) traps.pba = { start: msix.pbaOffset, end: msix.pbaOffset + msix.pbaSize };
  return traps;
}

/** Checks the mmap areas of a region with shared memory (sorted in place). */
function checkAreas(index: number, size: number, areas: RegionArea[], traps: readonly (TrapRange | undefined)[]): void {
  areas.sort((a, b) => a.offset - b.offset);
  let prevEnd = 0;
  for (const a of areas) {
    if (!Number.isSafeInteger(a.offset) || !Number.isSafeInteger(a.size) || a.size <= 0 || a.offset < 0)
      invalid(`region ${index}: bad mmap area`);
    if (a.offset % pageSize !== 0) invalid(`region ${index}: mmap area offset ${a.offset} not page aligned`);
    if (a.offset + a.size > size) invalid(`region ${index}: mmap area beyond the region`);
    if (a.offset < prevEnd) invalid(`region ${index}: mmap areas overlap`);
    prevEnd = a.offset + a.size;
    for (const t of traps) {
      if (t && a.offset < t.end && t.start < a.offset + a.size)
        invalid(`region ${index}: mmap area overlaps the MSI-X table or PBA`);
    }
  }
}

/** The shared memory of a region described with `memory: true` (recorded in `res` as soon as it exists). */
function sharedMemory(
  index: number,
  size: number,
  d: RegionDescription,
  res: Resources,
  traps: readonly (TrapRange | undefined)[],
): { memfd: number; mapping: Mapping; memory: Uint8Array; areas: RegionArea[] } {
  if (size === 0 || size > 2 ** 32) invalid(`region ${index}: shared memory must be 1 byte to 4 GiB`);
  const fileSize = Math.ceil(size / pageSize) * pageSize;
  // Size-sealed: the client gets this fd (GET_REGION_INFO) and could otherwise shrink it under our mapping (SIGBUS).
  const memfd = memfdCreate(`emu-region-${index}`, fileSize, { sealSize: true });
  res.memfd = memfd;
  const mapping = mmap(memfd, 0, fileSize, "rw");
  res.mapping = mapping;
  const memory = new Uint8Array(mapping.buffer, 0, size);
  const areas = (d.mmap ?? [{ offset: 0, size }]).map((a) => ({ offset: a.offset, size: a.size }));
  checkAreas(index, size, areas, traps);
  return { memfd, mapping, memory, areas };
}

/** The ioeventfds of a region's doorbells (recorded in `res` as they are created). */
function ioEventFdsOf(index: number, size: number, d: RegionDescription, res: Resources): IoEventFdSlot[] {
  const ioEventFds: IoEventFdSlot[] = [];
  for (const io of d.ioEventFds ?? []) {
    if (!Number.isSafeInteger(io.offset) || io.offset < 0 || io.offset + Math.max(1, io.size) > size)
      invalid(`region ${index}: ioeventfd at ${io.offset} outside the region`);
    if (![0, 1, 2, 4, 8].includes(io.size)) invalid(`region ${index}: ioeventfd size ${io.size}`);
    const efd = EventFd.create();
    res.efds.push(efd);
    ioEventFds.push({ desc: io, efd });
  }
  return ioEventFds;
}

function buildSlot(image: PciConfigImage, index: number, d: RegionDescription | undefined, res: Resources): RegionSlot {
  if (index === PciRegion.CONFIG) return emptySlot(index, image.size, true);
  const size = regionSize(image, index, d);
  if (size === undefined) return { ...emptySlot(index, 0), readable: false, writable: false };
  if (d === undefined) return { ...emptySlot(index, size), writable: index !== PciRegion.ROM };
  if (index >= PCI_NUM_REGIONS && d.type === undefined) invalid(`device-specific region ${index} needs a type`);
  const { table: msixTable, pba: msixPba } = msixTraps(image, index);
  let shared: ReturnType<typeof sharedMemory> | undefined;
  if (d.memory === true) shared = sharedMemory(index, size, d, res, [msixTable, msixPba]);
  else if (d.mmap !== undefined && d.mmap.length > 0) invalid(`region ${index}: mmap areas need memory: true`);
  const ioEventFds = ioEventFdsOf(index, size, d, res);
  const areas = shared?.areas ?? [];
  return {
    index,
    size,
    sizeBig: BigInt(size),
    readable: d.readable ?? true,
    writable: d.writable ?? index !== PciRegion.ROM,
    isConfig: false,
    memfd: shared?.memfd,
    mapping: shared?.mapping,
    memory: shared?.memory,
    fileOffset: 0n,
    own: { memfd: shared?.memfd, mapping: shared?.mapping, memory: shared?.memory },
    files: { offered: undefined, active: undefined },
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
