import { ProtoError } from "../errors.js";
import { LITTLE_ENDIAN } from "./byte-order.js";

const U64_MAX = (1n << 64n) - 1n;

/**
 * A growable little-endian byte writer. Each encode creates its own Writer (there is no module-level shared writer,
 * so encoders are reentrant). Integer writes check their range and throw `ProtoError("OutOfRange")`.
 */
export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;

  constructor(initialCapacity = 128) {
    this.buf = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): number {
    const at = this.pos;
    const need = at + n;
    if (need > this.buf.length) {
      let cap = Math.max(64, this.buf.length * 2); // never 0: a zero (or NaN-derived) initial capacity must not hang
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.pos = need;
    return at;
  }

  private static range(v: number, max: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new ProtoError(
        "OutOfRange",
        `${field} = ${v} does not fit its ${max === 0xffff ? "u16" : max === 0xff ? "u8" : "u32"} field`,
      );
    }
  }

  u8(v: number, field: string): void {
    Writer.range(v, 0xff, field);
    const at = this.ensure(1);
    this.buf[at] = v;
  }

  u16(v: number, field: string): void {
    Writer.range(v, 0xffff, field);
    const at = this.ensure(2);
    this.view.setUint16(at, v, LITTLE_ENDIAN);
  }

  u32(v: number, field: string): void {
    Writer.range(v, 0xffffffff, field);
    const at = this.ensure(4);
    this.view.setUint32(at, v, LITTLE_ENDIAN);
  }

  i32(v: number, field: string): void {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
      throw new ProtoError("OutOfRange", `${field} = ${v} does not fit its s32 field`);
    }
    const at = this.ensure(4);
    this.view.setInt32(at, v, LITTLE_ENDIAN);
  }

  u64(v: bigint, field: string): void {
    if (typeof v !== "bigint" || v < 0n || v > U64_MAX) {
      throw new ProtoError("OutOfRange", `${field} = ${String(v)} does not fit its u64 field`);
    }
    const at = this.ensure(8);
    this.view.setBigUint64(at, v, LITTLE_ENDIAN);
  }

  bytes(b: Uint8Array): void {
    const at = this.ensure(b.length);
    this.buf.set(b, at);
  }

  zeros(n: number): void {
    const at = this.ensure(n);
    this.buf.fill(0, at, this.pos);
  }

  // Note: always take the offset from ensure() before touching this.buf/this.view — ensure() may replace them.

  /** Overwrites a u32 written earlier (used to back-patch `msg_size`, `argsz`, `next`). */
  patchU32(at: number, v: number, field: string): void {
    Writer.range(v, 0xffffffff, field);
    this.view.setUint32(at, v, LITTLE_ENDIAN);
  }

  /** The bytes written so far (a view of the internal buffer; the writer must not be used afterwards). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
