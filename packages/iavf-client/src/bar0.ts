/**
 * BAR0 of the VF as the driver reaches it: 32-bit register reads and writes through `RegionIo` (a plain load or store
 * when the register lies in an mmapped sparse area, REGION_READ/REGION_WRITE — or pread/pwrite — otherwise).
 */
import { BAR0_SIZE, qrxTail, qtxTail } from "@emu/iavf-common";
import { RegionIo, type VfioDevice } from "@emu/vfio-device";
import { PciRegion } from "@emu/vfio-user-proto";
import { deviceFailure, IavfClientError } from "./errors.js";

export class Bar0 {
  private closed = false;

  private constructor(
    private readonly io: RegionIo,
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
    const area = this.io.areas.find(
      (a) => a.bytes.length > 0 && BigInt(offset) >= a.offset && BigInt(offset + 4) <= a.offset + a.size,
    );
    if (area === undefined) return (value) => this.write(offset, value);
    const view = new DataView(area.bytes.buffer, area.bytes.byteOffset, area.bytes.byteLength);
    const at = offset - Number(area.offset);
    return (value) => {
      if (this.closed) throw new IavfClientError("Closed", "BAR0 is closed");
      view.setUint32(at, value >>> 0, true);
      return undefined;
    };
  }

  /** Unmaps the mapped areas (the device stays open). Idempotent. */
  close(): void {
    this.closed = true;
    this.io.close();
  }
}
