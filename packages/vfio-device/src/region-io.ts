import { LITTLE_ENDIAN } from "@emu/vfio-user-proto/wire";
import type { VfioDevice } from "./device.js";
import { VfioDeviceError } from "./errors.js";
import type { MappedArea, RegionInfo, RegionMapping } from "./region.js";

/** A piece of an access: served from a mapped area (`area` set) or by the device's slow path. */
interface Segment {
  readonly offset: bigint; // within the region
  readonly length: number;
  readonly area: MappedArea | undefined;
}

/**
 * Region access that takes the mapped memory when an access falls inside an mmapped area and the device's slow
 * path (REGION_READ/WRITE, pread/pwrite) for the gaps, with bounds checks: the seeds' MMIO read/write helper,
 * shared by every VfioDevice implementation.
 */
export class RegionIo {
  private closed = false;

  private constructor(
    readonly device: VfioDevice,
    readonly info: RegionInfo,
    private readonly mapping: RegionMapping | undefined,
  ) {}

  /** Reads the region info and, unless `map` is false, mmaps what may be mapped. */
  static async open(device: VfioDevice, index: number, options?: { readonly map?: boolean }): Promise<RegionIo> {
    const info = await device.getRegionInfo(index);
    const mapping = options?.map === false || !info.mmappable ? undefined : await device.mapRegion(index);
    return new RegionIo(device, info, mapping);
  }

  /** The mapped areas (empty when nothing is mapped). */
  get areas(): readonly MappedArea[] {
    return this.mapping?.areas ?? [];
  }

  /** Whether [offset, offset+length) is served entirely from mapped memory. */
  isMapped(offset: bigint, length: number): boolean {
    const segs = this.segments(offset, length);
    return segs.every((s) => s.area !== undefined);
  }

  async read(offset: bigint, length: number): Promise<Uint8Array> {
    const segments = this.segments(offset, length);
    const out = new Uint8Array(length);
    let at = 0;
    for (const seg of segments) {
      if (seg.area) {
        const start = Number(seg.offset - seg.area.offset);
        out.set(seg.area.bytes.subarray(start, start + seg.length), at);
      } else {
        const got = await this.device.regionRead(this.info.index, seg.offset, seg.length);
        if (got.length !== seg.length) {
          throw new VfioDeviceError("Io", `short read: ${got.length} of ${seg.length} bytes at ${seg.offset}`);
        }
        out.set(got, at);
      }
      at += seg.length;
    }
    return out;
  }

  async write(offset: bigint, data: Uint8Array): Promise<void> {
    let at = 0;
    for (const seg of this.segments(offset, data.length)) {
      const piece = data.subarray(at, at + seg.length);
      if (seg.area) {
        seg.area.bytes.set(piece, Number(seg.offset - seg.area.offset));
      } else {
        await this.device.regionWrite(this.info.index, seg.offset, piece);
      }
      at += seg.length;
    }
  }

  async read8(offset: bigint): Promise<number> {
    return this.view(await this.read(offset, 1)).getUint8(0);
  }
  async read16(offset: bigint): Promise<number> {
    return this.view(await this.read(offset, 2)).getUint16(0, LITTLE_ENDIAN);
  }
  async read32(offset: bigint): Promise<number> {
    const direct = this.mappedView(offset, 4);
    if (direct) return direct.view.getUint32(direct.at, LITTLE_ENDIAN);
    return this.view(await this.read(offset, 4)).getUint32(0, LITTLE_ENDIAN);
  }
  async read64(offset: bigint): Promise<bigint> {
    return this.view(await this.read(offset, 8)).getBigUint64(0, LITTLE_ENDIAN);
  }
  async write8(offset: bigint, value: number): Promise<void> {
    await this.write(offset, Uint8Array.of(value & 0xff));
  }
  async write16(offset: bigint, value: number): Promise<void> {
    const b = new Uint8Array(2);
    this.view(b).setUint16(0, value, LITTLE_ENDIAN);
    await this.write(offset, b);
  }
  async write32(offset: bigint, value: number): Promise<void> {
    const direct = this.mappedView(offset, 4);
    if (direct) {
      direct.view.setUint32(direct.at, value >>> 0, LITTLE_ENDIAN);
      return;
    }
    const b = new Uint8Array(4);
    this.view(b).setUint32(0, value >>> 0, LITTLE_ENDIAN);
    await this.write(offset, b);
  }
  async write64(offset: bigint, value: bigint): Promise<void> {
    const b = new Uint8Array(8);
    this.view(b).setBigUint64(0, BigInt.asUintN(64, value), LITTLE_ENDIAN);
    await this.write(offset, b);
  }

  /** Unmaps what `open` mapped. Idempotent; the device itself stays open. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mapping?.unmap();
  }

  private view(b: Uint8Array): DataView {
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /** A DataView over the mapped area holding [offset, offset+length), when one area holds all of it. */
  private mappedView(offset: bigint, length: number): { view: DataView; at: number } | undefined {
    const segs = this.segments(offset, length);
    const only = segs[0];
    if (segs.length !== 1 || only === undefined || only.area === undefined) return undefined;
    const b = only.area.bytes;
    return { view: new DataView(b.buffer, b.byteOffset, b.byteLength), at: Number(offset - only.area.offset) };
  }

  /** Splits an access into mapped and unmapped pieces, after checking it lies inside the region. */
  private segments(offset: bigint, length: number): Segment[] {
    if (this.closed) throw new VfioDeviceError("Closed", `region ${this.info.index} accessor is closed`);
    if (typeof offset !== "bigint" || offset < 0n) {
      throw new VfioDeviceError("OutOfBounds", `region ${this.info.index}: bad offset ${String(offset)}`);
    }
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new VfioDeviceError("OutOfBounds", `region ${this.info.index}: bad length ${String(length)}`);
    }
    const end = offset + BigInt(length);
    if (end > this.info.size) {
      throw new VfioDeviceError(
        "OutOfBounds",
        `region ${this.info.index}: access [0x${offset.toString(16)}, 0x${end.toString(16)}) is outside its 0x${this.info.size.toString(16)} bytes`,
      );
    }
    const out: Segment[] = [];
    let at = offset;
    const areas = this.mapping?.areas ?? [];
    while (at < end) {
      const inside = areas.find((a) => a.bytes.length > 0 && at >= a.offset && at < a.offset + a.size);
      if (inside) {
        const stop = minBig(end, inside.offset + inside.size);
        out.push({ offset: at, length: Number(stop - at), area: inside });
        at = stop;
      } else {
        // The gap runs to the next mapped area or to the end of the access.
        let stop = end;
        for (const a of areas) if (a.bytes.length > 0 && a.offset > at && a.offset < stop) stop = a.offset;
        out.push({ offset: at, length: Number(stop - at), area: undefined });
        at = stop;
      }
    }
    return out;
  }
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
