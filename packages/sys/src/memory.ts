import { SysArgumentError } from "./errors.js";
import { type MappingHandle, native } from "./internal/native.js";

/** The system page size: mmap offsets must be multiples of it. */
export const pageSize: number = native.pageSize;

/** Largest single mapping (Node 20 refuses ArrayBuffers above 4 GiB): use `mmapWindows` beyond it. */
export const MAX_MAPPING_LENGTH = 2 ** 32;

/** Protection of a mapping: `"r"` = PROT_READ, `"rw"` = PROT_READ | PROT_WRITE. */
export type MapAccess = "r" | "rw";

/**
 * A MAP_SHARED mapping of an fd, exposed as an external ArrayBuffer. The mapping does not own the fd (closing the fd
 * keeps the mapping valid). `unmap()` unmaps at once and detaches `buffer`, so every view of it then has length 0;
 * a mapping never unmapped is unmapped when its buffer is garbage collected.
 * An "r" mapping is PROT_READ: writing through it is a SIGSEGV, as in C.
 */
export interface Mapping {
  readonly buffer: ArrayBuffer;
  readonly length: number;
  /** The mapping's virtual address in this process (what kernel VFIO_IOMMU_MAP_DMA calls vaddr). */
  readonly address: bigint;
  readonly offset: bigint;
  readonly fd: number;
  readonly access: MapAccess;
  readonly mapped: boolean;
  /** munmap now and detach `buffer` (idempotent). */
  unmap(): void;
}

class FdMapping implements Mapping {
  readonly buffer: ArrayBuffer;
  readonly length: number;
  readonly address: bigint;
  readonly offset: bigint;
  readonly fd: number;
  readonly access: MapAccess;
  #handle: MappingHandle | undefined;

  constructor(
    buffer: ArrayBuffer,
    handle: MappingHandle,
    address: bigint,
    fd: number,
    offset: bigint,
    access: MapAccess,
  ) {
    this.buffer = buffer;
    this.#handle = handle;
    this.address = address;
    this.length = buffer.byteLength;
    this.fd = fd;
    this.offset = offset;
    this.access = access;
  }

  get mapped(): boolean {
    return this.#handle !== undefined && this.buffer.byteLength !== 0;
  }

  unmap(): void {
    const h = this.#handle;
    if (h === undefined || this.buffer.byteLength === 0) return;
    this.#handle = undefined; // the native side may free its record during the detach: never call it twice
    native.unmap(h, this.buffer);
  }
}

function toBigint(v: number | bigint, what: string): bigint {
  if (typeof v === "bigint") {
    if (v < 0n) throw new SysArgumentError(`${what} must not be negative`);
    return v;
  }
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
    throw new SysArgumentError(`${what} must be a non-negative integer (a safe-integer number or a bigint)`);
  return BigInt(v);
}

function checkAccess(access: unknown): asserts access is MapAccess {
  if (access !== "r" && access !== "rw") throw new SysArgumentError(`access must be "r" or "rw"`);
}

/** Options of {@link memfdCreate}. */
export interface MemfdOptions {
  /**
   * Seal the size once set (F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_SEAL): whoever gets the fd (a peer it is passed to)
   * cannot shrink the file under a mapping of it, which would make touching the lost pages a SIGBUS. Default false.
   */
  readonly sealSize?: boolean;
}

/** memfd_create(name, MFD_CLOEXEC), then ftruncate to `size` when given. Returns the fd (yours to close). */
export function memfdCreate(name: string, size: number | bigint = 0, options: MemfdOptions = {}): number {
  return native.memfdCreate(name, toBigint(size, "size"), options.sealSize === true);
}

/** ftruncate(2) to `size` bytes (number or bigint). */
export function ftruncate(fd: number, size: number | bigint): void {
  native.ftruncate(fd, toBigint(size, "size"));
}

/** st_size of the fd, as a bigint. */
export function fileSize(fd: number): bigint {
  return native.fileSize(fd);
}

/**
 * Maps `length` bytes (1 to 4 GiB) of `fd` from `offset` (a multiple of `pageSize`; bigint for offsets beyond
 * 2^53) with MAP_SHARED. For a regular file (a memfd too) the range must lie within the file: touching a page beyond
 * its end would raise SIGBUS. A file shrunk after mapping has the same hazard (seal memfds you share).
 */
export function mmap(fd: number, offset: number | bigint, length: number, access: MapAccess = "rw"): Mapping {
  checkAccess(access);
  const off = toBigint(offset, "offset");
  if (off % BigInt(pageSize) !== 0n)
    throw new SysArgumentError(`offset ${off} is not a multiple of the page size (${pageSize})`);
  if (typeof length !== "number" || !Number.isInteger(length) || length <= 0 || length > MAX_MAPPING_LENGTH)
    throw new SysArgumentError(`length must be an integer from 1 to ${MAX_MAPPING_LENGTH} (use mmapWindows above)`);
  const [buffer, handle, address] = native.mmap(fd, off, length, access === "rw");
  return new FdMapping(buffer, handle, address, fd, off, access);
}

/**
 * Maps a region of any size as consecutive windows of at most `windowSize` bytes (default and maximum 4 GiB, a
 * multiple of `pageSize`): window i covers [offset + i*windowSize, ...). All or nothing: on an error the windows
 * already mapped are unmapped.
 */
export function mmapWindows(
  fd: number,
  offset: number | bigint,
  length: number | bigint,
  access: MapAccess = "rw",
  windowSize: number = MAX_MAPPING_LENGTH,
): Mapping[] {
  checkAccess(access);
  const off = toBigint(offset, "offset");
  const len = toBigint(length, "length");
  if (len === 0n) throw new SysArgumentError("length must be at least 1");
  if (
    typeof windowSize !== "number" ||
    !Number.isInteger(windowSize) ||
    windowSize <= 0 ||
    windowSize > MAX_MAPPING_LENGTH ||
    windowSize % pageSize !== 0
  )
    throw new SysArgumentError(
      `windowSize must be a multiple of ${pageSize} from ${pageSize} to ${MAX_MAPPING_LENGTH}`,
    );
  const win = BigInt(windowSize);
  const out: Mapping[] = [];
  try {
    for (let at = 0n; at < len; at += win) {
      const n = len - at < win ? len - at : win;
      out.push(mmap(fd, off + at, Number(n), access));
    }
  } catch (e) {
    for (const m of out) m.unmap();
    throw e;
  }
  return out;
}
