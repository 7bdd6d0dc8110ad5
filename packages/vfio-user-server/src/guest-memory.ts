/** Guest memory as a device model reaches it (`DeviceContext.dma`). */

/** A DMA mapping as the device sees it in map/unmap notifications. */
export interface DmaRegionInfo {
  readonly iova: bigint;
  readonly size: bigint;
  readonly readable: boolean;
  readonly writable: boolean;
  /** true: fd-backed, mmapped by the server (direct access); false: served by DMA_READ/DMA_WRITE messages. */
  readonly direct: boolean;
}

/** A direct view of guest memory (fd-backed DMA). Its `bytes` read as empty once the mapping is gone. */
export interface DmaView {
  readonly iova: bigint;
  readonly bytes: Uint8Array;
  /** Done with the view (with write access: its pages are logged dirty again). */
  release(): void;
}

/** How one `dma.read`/`dma.write` reaches guest memory. */
export interface DmaAccessOptions {
  /**
   * - `"auto"` (default): directly where the client mapped the memory with an fd, with DMA_READ/DMA_WRITE messages
   *   where it did not;
   * - `"message"`: with DMA_READ/DMA_WRITE messages, fd or not — what libvfio-user's `vfu_sgl_read`/`vfu_sgl_write`
   *   always do. For a client that waits to see the device's accesses as messages (libvfio-user's sample client does),
   *   or that must serve them itself (e.g. to trace or check them). Slower: one round trip per `max_data_xfer_size`.
   *   The mapping's permissions and the table are checked as for a direct access; the writes are the client's own and
   *   not logged dirty.
   */
  readonly via?: "auto" | "message";
}

/**
 * A writer of guest memory outside this API (a data path in other threads writing through its own mappings of the
 * client's files) that keeps its own record of what it wrote, for DMA dirty logging.
 */
export interface DirtySource {
  /** Logging started (at `pageSize`: record writes from now on) or stopped (`undefined`: stop recording, forget). */
  logging(pageSize: bigint | undefined): void;
  /** Hands over what was written since the last call (`mark` each range once) and forgets it; before every report. */
  collect(mark: (iova: bigint, length: bigint) => void): void;
}

/** How a device reaches guest memory: one API whether the client passed an fd or not. */
export interface Dma {
  /**
   * Reads guest memory (directly when fd-backed, else with DMA_READ messages split to the client's limit; always
   * messages with `{ via: "message" }`). The bytes are the caller's: a buffer of their own (above 16 KiB read with one
   * message: a view of that reply's own buffer).
   */
  read(iova: bigint | number, length: number, options?: DmaAccessOptions): Promise<Uint8Array>;
  /**
   * Writes guest memory (directly when fd-backed, else with DMA_WRITE messages; always messages with
   * `{ via: "message" }`).
   */
  write(iova: bigint | number, data: Uint8Array, options?: DmaAccessOptions): Promise<void>;
  /**
   * A direct view of [iova, iova + length): only for fd-backed memory inside one mapping. Throws DmaError NotMapped,
   * NotDirect, Spans or Permission.
   */
  map(iova: bigint | number, length: number, access?: "r" | "rw"): DmaView;
  /** Marks a range written (for writes made through a view kept across a DMA_LOGGING_START). */
  markDirty(iova: bigint | number, length: number): void;
  /**
   * Adds a writer that records its own writes: told when DMA logging starts and stops (at once if it is on), asked
   * for what it wrote before every DMA_LOGGING_REPORT. Returns the removal.
   */
  addDirtySource(source: DirtySource): () => void;
  /** The mappings currently in the table. */
  regions(): readonly DmaRegionInfo[];
  /**
   * The file behind the fd-backed mapping that starts at `iova`: the client's fd (the server's copy) and the offset
   * of the mapping in it — for a data path in another thread that maps guest memory itself. The server owns the fd:
   * it is closed when the mapping goes, after the unmap notification (`onDmaUnmap`) returns. Undefined for
   * message-based memory or no such mapping.
   */
  file(iova: bigint): { readonly fd: number; readonly offset: bigint } | undefined;
}
