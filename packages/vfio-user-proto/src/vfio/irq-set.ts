import { LITTLE_ENDIAN } from "../internal/byte-order.js";
import { Reader } from "../internal/reader.js";
import { Writer } from "../internal/writer.js";

/** `VFIO_IRQ_SET_*` flags: exactly one DATA_* and one ACTION_* bit per request. */
export const IrqSetFlags = {
  /** No data: act on every vector of start..start+count (count 0 + start 0 disables the whole index). */
  DATA_NONE: 1 << 0,
  /** `data` holds `count` bytes, one bool per vector. */
  DATA_BOOL: 1 << 1,
  /** `count` eventfds (vfio-user: in SCM_RIGHTS, none = de-assign; kernel: inline s32 array). */
  DATA_EVENTFD: 1 << 2,
  ACTION_MASK: 1 << 3,
  ACTION_UNMASK: 1 << 4,
  ACTION_TRIGGER: 1 << 5,
  DATA_TYPE_MASK: 0x7,
  ACTION_TYPE_MASK: 0x38,
} as const;

/** Size of `struct vfio_irq_set` without data. */
export const IRQ_SET_SIZE = 20;

/**
 * `struct vfio_irq_set`:
 *
 * | Offset | Size | Field |
 * |---|---|---|
 * | 0 | 4 | argsz (size of the request incl. data) |
 * | 4 | 4 | flags ({@link IrqSetFlags}) |
 * | 8 | 4 | index (IRQ type, {@link PciIrq}) |
 * | 12 | 4 | start |
 * | 16 | 4 | count |
 * | 20 | var | data |
 */
export interface IrqSet {
  readonly argsz: number;
  readonly flags: number;
  readonly index: number;
  readonly start: number;
  readonly count: number;
  /**
   * DATA_BOOL: `count` bytes, one bool per vector. Kernel DATA_EVENTFD: `count` s32 fds (see
   * {@link encodeEventfdData}). Absent otherwise. A view of the input when decoded.
   */
  readonly data?: Uint8Array;
}

/**
 * @internal Reads the struct. `inlineEventfds` selects the kernel rule (DATA_EVENTFD carries `count` s32 fds inline)
 * over the vfio-user one (fds travel in SCM_RIGHTS, no data).
 */
export function readIrqSet(r: Reader, inlineEventfds: boolean): IrqSet {
  const argsz = r.u32("argsz");
  if (argsz < IRQ_SET_SIZE) r.fail("BadArgsz", `argsz ${argsz} < ${IRQ_SET_SIZE}`);
  const flags = r.u32("flags");
  const index = r.u32("index");
  const start = r.u32("start");
  const count = r.u32("count");
  const rest = r.rest();
  const dataType = flags & IrqSetFlags.DATA_TYPE_MASK;
  if (dataType === IrqSetFlags.DATA_BOOL) {
    if (rest.length !== count) r.fail("CountMismatch", `DATA_BOOL with count ${count} but ${rest.length} data byte(s)`);
    return { argsz, flags, index, start, count, data: rest };
  }
  if (dataType === IrqSetFlags.DATA_EVENTFD && inlineEventfds && rest.length > 0) {
    if (rest.length !== count * 4)
      r.fail("CountMismatch", `DATA_EVENTFD with count ${count} but ${rest.length} data byte(s)`);
    return { argsz, flags, index, start, count, data: rest };
  }
  if (rest.length !== 0) r.fail("BadSize", `${rest.length} data byte(s) without DATA_BOOL`);
  return { argsz, flags, index, start, count };
}

/** @internal */
export function writeIrqSet(w: Writer, s: IrqSet): void {
  w.u32(s.argsz, "argsz");
  w.u32(s.flags, "flags");
  w.u32(s.index, "index");
  w.u32(s.start, "start");
  w.u32(s.count, "count");
  if (s.data !== undefined) w.bytes(s.data);
}

/** Encodes the struct followed by `data` (if any). `argsz` is written as given: 20 + data length. */
export function encodeIrqSet(set: IrqSet): Uint8Array {
  const w = new Writer(IRQ_SET_SIZE + (set.data?.length ?? 0));
  writeIrqSet(w, set);
  return w.finish();
}

/**
 * Decodes a kernel `vfio_irq_set` (DATA_EVENTFD may carry `count` inline s32 fds). For the vfio-user message use
 * {@link decodeDeviceSetIrqsRequest}. Throws `ProtoError` (`BadArgsz`, `CountMismatch`, `BadSize`, `Truncated`).
 */
export function decodeIrqSet(bytes: Uint8Array): IrqSet {
  return readIrqSet(new Reader(bytes, "vfio_irq_set"), true);
}

/** Kernel DATA_EVENTFD: the inline s32 array for `fds` (-1 de-assigns a vector). */
export function encodeEventfdData(fds: readonly number[]): Uint8Array {
  const w = new Writer(fds.length * 4);
  for (const fd of fds) w.i32(fd, "eventfd");
  return w.finish();
}

/** Kernel DATA_EVENTFD: the fds of an inline s32 array. */
export function decodeEventfdData(data: Uint8Array): number[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= data.length; i += 4) out.push(v.getInt32(i, LITTLE_ENDIAN));
  return out;
}
