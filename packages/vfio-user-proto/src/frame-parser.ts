import { commandName } from "./command.js";
import { isProtoError, ProtoError } from "./errors.js";
import { decodeHeader, HEADER_SIZE, type Header, msgSizeAt } from "./header.js";

/** One whole frame cut out of the stream, with the file descriptors that arrived with it. */
export interface Frame {
  readonly header: Header;
  /**
   * The whole frame (header + payload), `header.msgSize` bytes. A view of the chunk you pushed when the frame lay
   * inside one chunk (zero-copy), else a fresh array.
   */
  readonly bytes: Uint8Array;
  /** `bytes` after the 16-byte header (a view). */
  readonly payload: Uint8Array;
  /** File descriptors that belong to this frame (see {@link FrameParser}); the caller now owns them. */
  readonly fds: readonly number[];
}

/**
 * libvfio-user's limit for one incoming message: 1 MiB of data + 16 (access head) + 16 (header). The parser's
 * default maximum, usable before VERSION is negotiated.
 */
export const DEFAULT_MAX_MESSAGE_SIZE = 1048576 + 16 + 16;

/**
 * The largest frame to accept once `max_data_xfer_size` is known: data + 16 (header) + 16 (largest data-message
 * head). Messages without a data limit of their own (e.g. DMA logging reports) must fit in this too.
 */
export function maxMessageSizeFor(maxDataXferSize: number): number {
  return maxDataXferSize + HEADER_SIZE + 16;
}

const NO_FDS: readonly number[] = Object.freeze([]);

function makeFrame(header: Header, bytes: Uint8Array, fds: readonly number[]): Frame {
  return { header, bytes, payload: bytes.subarray(HEADER_SIZE), fds };
}

/**
 * The {@link Frame} (without fds) of the whole frame starting at `at` of `chunk`: for the odd frame of a chunk read in
 * place (see {@link FrameParser.inPlaceLength}) that goes the general way. Views of the chunk, no copy.
 */
export function frameAt(chunk: Uint8Array, at: number): Frame {
  const header = decodeHeader(chunk.subarray(at));
  return makeFrame(header, chunk.subarray(at, at + header.msgSize), NO_FDS);
}

interface FdBatch {
  /** Absolute stream offset of the byte whose frame owns these fds. */
  readonly owner: number;
  readonly fds: readonly number[];
}

/**
 * Incremental framing for one direction of one socket: push the chunks you read (with the fds that came with them),
 * pull whole frames. No events, no per-message allocation beyond the frame itself.
 *
 * **File descriptors** (the kernel semantics of SOCK_STREAM `recvmsg`, see the OS-primitives package): fds received
 * with a chunk belong to the LAST frame that starts within that chunk; if no frame starts in it, to the frame in
 * progress (for an empty chunk: the frame that the next byte belongs to). Equivalently: to the frame containing the
 * chunk's last byte.
 *
 * **Errors**: a header with `msg_size` < 16 (`BadHeader`) or above {@link maxMessageSize} (`TooLarge`) makes the
 * parser terminal: frames before it were still delivered; from then on every `next()` throws and every `push()`
 * returns that error. The parser never drops fds: call {@link takeFds} after an error or when closing and close
 * what it returns.
 *
 * **Buffers**: frames may be views of the chunks you pushed. Do not reuse a chunk's memory while frames cut from it
 * are in use (push a copy if your transport reuses its receive buffer).
 *
 * ```ts
 * const err = parser.push(chunk, fds);
 * for (let f = parser.next(); f !== undefined; f = parser.next()) handle(f); // throws the ProtoError once terminal
 * // or: const err = parser.drain(handle);
 * ```
 *
 * **In place** (no Frame object per message): when {@link inPlaceLength} says a chunk starts with whole frames, read
 * them straight from the chunk (`readHeaderAt`, `readRegionAccessAt`, `frameAt` for the odd one) and push only the
 * rest:
 *
 * ```ts
 * const n = parser.inPlaceLength(chunk, fds);
 * for (let at = 0; at < n; at += msgSizeAt(view, at)) handleInPlace(chunk, at);
 * if (n < chunk.length) parser.push(n === 0 ? chunk : chunk.subarray(n), fds); // then next() as usual
 * ```
 */
export class FrameParser {
  private readonly chunks: Uint8Array[] = [];
  private chunkHead = 0;
  /** Bytes of chunks[chunkHead] already consumed. */
  private headOffset = 0;
  private buffered = 0;
  /** Absolute offset of the first unconsumed byte (the start of the next frame). */
  private streamPos = 0;
  /** Absolute count of bytes pushed. */
  private received = 0;
  private readonly batches: FdBatch[] = [];
  private batchHead = 0;
  private pending: Header | undefined;
  private failure: ProtoError | undefined;
  private max: number;
  private readonly scratch = new Uint8Array(HEADER_SIZE);

  constructor(options?: { readonly maxMessageSize?: number }) {
    this.max = FrameParser.checkMax(options?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE);
  }

  private static checkMax(n: number): number {
    if (!Number.isInteger(n) || n < HEADER_SIZE || n > 0xffffffff) {
      throw new ProtoError("OutOfRange", `maxMessageSize ${n} must be an integer in 16..2^32-1`);
    }
    return n;
  }

  /** Largest `msg_size` accepted. Set it after VERSION, e.g. to {@link maxMessageSizeFor}(max_data_xfer_size). */
  get maxMessageSize(): number {
    return this.max;
  }

  set maxMessageSize(n: number) {
    this.max = FrameParser.checkMax(n);
  }

  /** The framing error that made the parser terminal, if any. */
  get error(): ProtoError | undefined {
    return this.failure;
  }

  /** Bytes pushed but not yet returned in a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Number of fds held (pushed, not yet handed out with a frame or by {@link takeFds}). */
  get heldFdCount(): number {
    let n = 0;
    for (let i = this.batchHead; i < this.batches.length; i++) n += (this.batches[i] as FdBatch).fds.length;
    return n;
  }

  /**
   * Appends a chunk read from the socket, with the fds received with it. Returns the terminal error if the parser
   * has failed (the fds are then held for {@link takeFds}), else undefined.
   */
  push(chunk: Uint8Array, fds?: readonly number[]): ProtoError | undefined {
    const start = this.received;
    if (fds !== undefined && fds.length > 0) {
      // The frame containing the chunk's last byte (for an empty chunk: the byte that comes next).
      const owner = chunk.length > 0 ? start + chunk.length - 1 : start;
      this.batches.push({ owner, fds: fds.slice() });
    }
    if (this.failure !== undefined) return this.failure;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.received = start + chunk.length;
    }
    return undefined;
  }

  /**
   * How many leading bytes of `chunk` are whole frames that pass the size checks, when the chunk may be read in place:
   * the parser holds nothing (no buffered bytes, no fds, no error) and no fds came with the chunk (they would belong to
   * its last frame). 0 otherwise. Those bytes never reach the parser: read the frames from the chunk (each `msg_size`
   * long, see `msgSizeAt`) and {@link push} the rest, if any, where the parser judges it as usual (a bad size there
   * fails it, after the frames before it were handled).
   */
  inPlaceLength(chunk: Uint8Array, fds?: readonly number[]): number {
    if (chunk.length < HEADER_SIZE) return 0;
    return this.inPlaceEnd(new DataView(chunk.buffer, chunk.byteOffset, chunk.length), 0, chunk.length, fds);
  }

  /**
   * {@link inPlaceLength} for a chunk at [start, end) of a DataView the caller keeps (e.g. over a whole receive pool,
   * so that nothing is allocated per chunk): where its leading whole frames end (`start` when none may be read in
   * place).
   */
  inPlaceEnd(view: DataView, start: number, end: number, fds?: readonly number[]): number {
    if (this.buffered !== 0 || this.failure !== undefined || this.batchHead < this.batches.length) return start;
    if (fds !== undefined && fds.length > 0) return start;
    let at = start;
    while (end - at >= HEADER_SIZE) {
      const size = msgSizeAt(view, at);
      if (!this.sizeOk(size) || size > end - at) break;
      at += size;
    }
    return at;
  }

  private sizeOk(size: number): boolean {
    return size >= HEADER_SIZE && size <= this.max;
  }

  /**
   * The next whole frame, or undefined if more bytes are needed. Throws the terminal {@link ProtoError}
   * (`BadHeader`, `TooLarge`) once framing has failed, on this and every later call.
   */
  next(): Frame | undefined {
    if (this.failure !== undefined) throw this.failure;
    if (this.buffered < HEADER_SIZE) return undefined;
    let header = this.pending;
    if (header === undefined) {
      header = decodeHeader(this.peekHeader());
      if (!this.sizeOk(header.msgSize)) this.badSize(header);
      this.pending = header;
    }
    const size = header.msgSize;
    if (this.buffered < size) return undefined;
    this.pending = undefined;
    const bytes = this.take(size);
    const end = this.streamPos + size;
    this.streamPos = end;
    return makeFrame(header, bytes, this.fdsBefore(end));
  }

  /** A `msg_size` below the header or above the maximum: the parser fails for good. */
  private badSize(header: Header): never {
    const name = commandName(header.command);
    const opts = { command: header.command };
    if (header.msgSize < HEADER_SIZE)
      this.fail(new ProtoError("BadHeader", `${name}: msg_size ${header.msgSize} < 16`, opts));
    this.fail(new ProtoError("TooLarge", `${name}: msg_size ${header.msgSize} > maximum ${this.max}`, opts));
  }

  /**
   * Calls `onFrame` for every whole frame available now. Returns the terminal error if framing has failed (before or
   * during this call), else undefined. Exceptions thrown by `onFrame` propagate.
   */
  drain(onFrame: (frame: Frame) => void): ProtoError | undefined {
    if (this.failure !== undefined) return this.failure;
    for (;;) {
      let frame: Frame | undefined;
      try {
        frame = this.next();
      } catch (e) {
        if (isProtoError(e) && e === this.failure) return e;
        throw e;
      }
      if (frame === undefined) return undefined;
      onFrame(frame);
    }
  }

  /**
   * Removes and returns every fd still held: those of frames not yet complete and any pushed after an error. Call it
   * when the connection ends or after a framing error, and close them.
   */
  takeFds(): number[] {
    const out: number[] = [];
    for (let i = this.batchHead; i < this.batches.length; i++) out.push(...(this.batches[i] as FdBatch).fds);
    this.batches.length = 0;
    this.batchHead = 0;
    return out;
  }

  private fail(e: ProtoError): never {
    this.failure = e;
    throw e;
  }

  private fdsBefore(end: number): readonly number[] {
    const batches = this.batches;
    let i = this.batchHead;
    if (i >= batches.length || (batches[i] as FdBatch).owner >= end) return NO_FDS;
    const first = batches[i] as FdBatch;
    i++;
    let out: number[] | undefined;
    while (i < batches.length && (batches[i] as FdBatch).owner < end) {
      out ??= first.fds.slice();
      out.push(...(batches[i] as FdBatch).fds);
      i++;
    }
    if (i === batches.length) {
      batches.length = 0;
      this.batchHead = 0;
    } else {
      this.batchHead = i;
      if (i > 64 && i * 2 > batches.length) {
        batches.splice(0, i);
        this.batchHead = 0;
      }
    }
    return out ?? first.fds;
  }

  private peekHeader(): Uint8Array {
    const first = this.chunks[this.chunkHead] as Uint8Array;
    if (first.length - this.headOffset >= HEADER_SIZE)
      return first.subarray(this.headOffset, this.headOffset + HEADER_SIZE);
    let filled = 0;
    let ci = this.chunkHead;
    let off = this.headOffset;
    while (filled < HEADER_SIZE) {
      const c = this.chunks[ci] as Uint8Array;
      const n = Math.min(c.length - off, HEADER_SIZE - filled);
      this.scratch.set(c.subarray(off, off + n), filled);
      filled += n;
      ci++;
      off = 0;
    }
    return this.scratch;
  }

  /** Consumes `n` buffered bytes (n ≤ buffered): a view if they lie in one chunk, else a copy. */
  private take(n: number): Uint8Array {
    this.buffered -= n;
    const first = this.chunks[this.chunkHead] as Uint8Array;
    const avail = first.length - this.headOffset;
    if (avail >= n) {
      const out = first.subarray(this.headOffset, this.headOffset + n);
      this.headOffset += n;
      if (this.headOffset === first.length) this.dropHeadChunk();
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.chunkHead] as Uint8Array;
      const k = Math.min(c.length - this.headOffset, n - filled);
      out.set(c.subarray(this.headOffset, this.headOffset + k), filled);
      filled += k;
      this.headOffset += k;
      if (this.headOffset === c.length) this.dropHeadChunk();
    }
    return out;
  }

  private dropHeadChunk(): void {
    this.chunks[this.chunkHead] = EMPTY_CHUNK;
    this.chunkHead++;
    this.headOffset = 0;
    if (this.chunkHead === this.chunks.length) {
      this.chunks.length = 0;
      this.chunkHead = 0;
    } else if (this.chunkHead > 64 && this.chunkHead * 2 > this.chunks.length) {
      this.chunks.splice(0, this.chunkHead);
      this.chunkHead = 0;
    }
  }
}

const EMPTY_CHUNK = new Uint8Array(0);
