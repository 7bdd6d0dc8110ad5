import { Reader } from "../internal/reader.js";
import { Writer } from "../internal/writer.js";

/** `VFIO_IRQ_INFO_*` flags. */
export const IrqInfoFlags = {
  /** The server can signal this IRQ through an eventfd. */
  EVENTFD: 1 << 0,
  /** MASK/UNMASK actions are supported. */
  MASKABLE: 1 << 1,
  /** The IRQ masks itself when triggered; the client must UNMASK it. */
  AUTOMASKED: 1 << 2,
  /** Vectors are set up as a whole; new sub-indices need the whole type disabled first. */
  NORESIZE: 1 << 3,
} as const;

/** Size of `struct vfio_irq_info`. */
export const IRQ_INFO_SIZE = 16;

/**
 * `struct vfio_irq_info` (16 bytes): argsz u32 @0, flags u32 @4 ({@link IrqInfoFlags}), index u32 @8, count u32 @12.
 */
export interface IrqInfo {
  readonly argsz: number;
  readonly flags: number;
  readonly index: number;
  /** Number of vectors of this IRQ type. */
  readonly count: number;
}

/** @internal */
export function readIrqInfo(r: Reader): IrqInfo {
  return { argsz: r.u32("argsz"), flags: r.u32("flags"), index: r.u32("index"), count: r.u32("count") };
}

/** @internal */
export function writeIrqInfo(w: Writer, i: IrqInfo): void {
  w.u32(i.argsz, "argsz");
  w.u32(i.flags, "flags");
  w.u32(i.index, "index");
  w.u32(i.count, "count");
}

/** Encodes the 16-byte `vfio_irq_info`. */
export function encodeIrqInfo(info: IrqInfo): Uint8Array {
  const w = new Writer(IRQ_INFO_SIZE);
  writeIrqInfo(w, info);
  return w.finish();
}

/** Decodes the 16-byte struct (longer input accepted). Throws {@link ProtoError}. */
export function decodeIrqInfo(bytes: Uint8Array): IrqInfo {
  return readIrqInfo(new Reader(bytes, "vfio_irq_info"));
}
