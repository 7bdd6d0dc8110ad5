/**
 * BAR0 of the VF as the driver reaches it: 32-bit register reads and writes through `RegionIo` (a plain load or store
 * when the register lies in an mmapped sparse area, REGION_READ/REGION_WRITE — or pread/pwrite — otherwise).
 */
import { BAR0_SIZE, qrxTail, qtxTail } from "@emu/iavf-common";
import { RegionIo, type VfioDevice } from "@emu/vfio-device";
import { PciRegion } from "@emu/vfio-user-proto";
import { deviceFailure, IavfClientError } from "./errors.js";

/** A doorbell register inside a mapped file: mmap `size` bytes of `fd` at `offset`, the register is at byte `at`. */
export interface DoorbellFile {
  readonly fd: number;
  readonly offset: bigint;
  readonly size: number;
  readonly at: number;
}

/** BAR0 opened on a migration's destination (`Bar0.openOn`): made the BAR0, or let go, once the migration is over. */
export interface BarMove {
  /** The new device's doorbell file for the register at `offset` (`Bar0.doorbellFile` of the BAR0 to come). */
  doorbellFile(offset: number): DoorbellFile | undefined;
  commit(): void;
  abort(): void;
}

export class Bar0 {
  private closed = false;
  /** Bumped when BAR0 is another device's (a migration): doorbell writers find their register again. */
  private epoch = 0;

  private constructor(
    private io: RegionIo,
    /** Whether the first TX and RX tail doorbells are served from mapped memory (no message per write). */
    readonly doorbellsMapped: boolean,
  ) {}

  /**
   * Opens BAR0: checks it is readable, writable and at least 64 KiB, and (unless `map` is false) mmaps what the
   * device offers to map.
   */
  static async open(device: VfioDevice, map: boolean): Promise<Bar0> {
    let io: RegionIo;
    try {
      io = await RegionIo.open(device, PciRegion.BAR0, { map });
    } catch (e) {
      throw deviceFailure("cannot open BAR0", e);
    }
    const info = io.info;
    if (!info.readable || !info.writable || info.size < BigInt(BAR0_SIZE)) {
      io.close();
      throw new IavfClientError(
        "Unsupported",
        `BAR0 must be a readable and writable region of at least 0x${BAR0_SIZE.toString(16)} bytes (it is 0x${info.size.toString(16)}, flags 0x${info.flags.toString(16)})`,
      );
    }
    const mapped = io.isMapped(BigInt(qtxTail(0)), 4) && io.isMapped(BigInt(qrxTail(0)), 4);
    return new Bar0(io, mapped);
  }

  /**
   * Live migration, in two steps: BAR0 of `device` opened (same mapping choice; it must map the doorbells if this one
   * did) while the old device still runs, so that the switch itself costs no message; `commit()` makes it the BAR0
   * from then on (doorbell writers made before follow, the old device's areas are unmapped), `abort()` lets it go.
   */
  async openOn(device: VfioDevice): Promise<BarMove> {
    const next = await Bar0.open(device, this.doorbellsMapped);
    if (next.doorbellsMapped !== this.doorbellsMapped) {
      next.close();
      throw new IavfClientError("Unsupported", "the new device does not map the doorbell pages as the old one did");
    }
    return {
      doorbellFile: (offset) => next.doorbellFile(offset),
      commit: () => {
        const old = this.io;
        this.io = next.io;
        this.epoch++;
        old.close();
      },
      abort: () => next.close(),
    };
  }

  /** Whether the register at `offset` is a plain load/store into mapped memory. */
  isMapped(offset: number): boolean {
    return !this.closed && this.io.isMapped(BigInt(offset), 4);
  }

  async read(offset: number): Promise<number> {
    try {
      return await this.io.read32(BigInt(offset));
    } catch (e) {
      throw deviceFailure(`BAR0 read at 0x${offset.toString(16)}`, e);
    }
  }

  async write(offset: number, value: number): Promise<void> {
    try {
      await this.io.write32(BigInt(offset), value >>> 0);
    } catch (e) {
      throw deviceFailure(`BAR0 write at 0x${offset.toString(16)}`, e);
    }
  }

  /**
   * A doorbell writer for the register at `offset`: a plain store into the mapped area when the register is mapped
   * (the writer returns undefined, done), a region write otherwise (the writer returns its promise).
   */
  doorbell(offset: number): (value: number) => Promise<void> | undefined {
    let epoch = this.epoch;
    let word = this.mappedWord(offset);
    return (value) => {
      if (this.closed) throw new IavfClientError("Closed", "BAR0 is closed");
      if (epoch !== this.epoch) {
        epoch = this.epoch;
        word = this.mappedWord(offset);
      }
      if (word === undefined) return this.write(offset, value);
      // A sequentially consistent store: the descriptors written before it are visible to the device first.
      Atomics.store(word, 0, value >>> 0);
      return undefined;
    };
  }

  private mappedWord(offset: number): Uint32Array | undefined {
    const area = this.io.areas.find(
      (a) => a.bytes.length > 0 && BigInt(offset) >= a.offset && BigInt(offset + 4) <= a.offset + a.size,
    );
    if (area === undefined) return undefined;
    return new Uint32Array(area.bytes.buffer, area.bytes.byteOffset + (offset - Number(area.offset)), 1);
  }

  /**
   * Where the register at `offset` lives in a file, when it is in a mapped area whose file the device gave: the
   * area's fd and file offset, its size, and the register's byte offset in it (a worker thread maps it from there).
   */
  doorbellFile(offset: number): DoorbellFile | undefined {
    const area = this.io.areas.find(
      (a) => a.bytes.length > 0 && BigInt(offset) >= a.offset && BigInt(offset + 4) <= a.offset + a.size,
    );
    if (area?.file === undefined) return undefined;
    return { fd: area.file.fd, offset: area.file.offset, size: Number(area.size), at: offset - Number(area.offset) };
  }

  /** Unmaps the mapped areas (the device stays open). Idempotent. */
  close(): void {
    this.closed = true;
    this.io.close();
  }
}
