import { ProtoError } from "../errors.js";
import { LITTLE_ENDIAN } from "./byte-order.js";

/**
 * A bounds-checked cursor over a byte view. Every read past the end throws a `ProtoError("Truncated")` naming the
 * field and the structure. Byte reads return subarray views (no copy).
 */
export class Reader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Name of the structure being read, for error messages (e.g. "DMA_MAP request"). */
  readonly context: string;
  readonly command: number | undefined;
  pos = 0;

  constructor(bytes: Uint8Array, context: string, command?: number) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.context = context;
    this.command = command;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  fail(reason: ConstructorParameters<typeof ProtoError>[0], message: string): never {
    throw new ProtoError(
      reason,
      `${this.context}: ${message}`,
      this.command === undefined ? undefined : { command: this.command },
    );
  }

  private need(n: number, field: string): number {
    const at = this.pos;
    if (this.bytes.length - at < n) {
      this.fail("Truncated", `${field} needs ${n} byte(s) at offset ${at}, ${this.bytes.length - at} left`);
    }
    this.pos = at + n;
    return at;
  }

  u16(field: string): number {
    return this.view.getUint16(this.need(2, field), LITTLE_ENDIAN);
  }

  u32(field: string): number {
    return this.view.getUint32(this.need(4, field), LITTLE_ENDIAN);
  }

  i32(field: string): number {
    return this.view.getInt32(this.need(4, field), LITTLE_ENDIAN);
  }

  u64(field: string): bigint {
    return this.view.getBigUint64(this.need(8, field), LITTLE_ENDIAN);
  }

  /** A view of the next `n` bytes. */
  bytesView(n: number, field: string): Uint8Array {
    const at = this.need(n, field);
    return this.bytes.subarray(at, at + n);
  }

  /** A view of everything not read yet. */
  rest(): Uint8Array {
    const at = this.pos;
    this.pos = this.bytes.length;
    return this.bytes.subarray(at);
  }

  /** Fails with `BadSize` if bytes are left over. */
  end(): void {
    if (this.pos !== this.bytes.length) {
      this.fail("BadSize", `${this.bytes.length - this.pos} unexpected byte(s) after offset ${this.pos}`);
    }
  }
}
