import type { MigrationState } from "@emu/vfio-user-proto";
import type { Dma } from "./guest-memory.js";

/** A file offered for a region's mmap areas: the region's bytes are at `offset` in `fd` (the caller's; the server dups it). */
export interface RegionFileOffer {
  readonly fd: number;
  readonly offset: bigint;
}

/** What became of a trigger. */
export type TriggerResult = "delivered" | "pending" | "dropped";

/**
 * Told that `vectors` (ascending) of IRQ `index` may now be delivered elsewhere or not at all: see
 * `DeviceIrqs.onChange`. A promise returned holds the client's reply until it settles.
 */
export type IrqChangeListener = (index: number, vectors: readonly number[]) => void | Promise<void>;

/** Interrupts as the device raises them. */
export interface DeviceIrqs {
  /**
   * Raises `vector` of `index` (default: the active kind — MSI-X if the client enabled it, else MSI, else INTx).
   * Delivered through the client's eventfd when unmasked; left pending (MSI-X PBA bit, MSI pending bit, or
   * internally) while masked and delivered on unmask; dropped when unmasked without an eventfd.
   * Throws VfioUserServerError "BadVector" for a vector the device does not have.
   */
  trigger(vector: number, index?: number): TriggerResult;
  /** The effective mask of a vector (SET_IRQS mask, MSI-X table/function mask, MSI mask bit, INTX_DISABLE). */
  masked(vector: number, index: number): boolean;
  pending(vector: number, index: number): boolean;
  /**
   * The trigger eventfd the client assigned to `vector` of `index` with SET_IRQS, or undefined (none assigned, or no
   * client). For a data path that signals interrupts from another thread: writing it delivers the interrupt at once,
   * bypassing masks and pending bits (check `masked` first). The server owns the fd: it stays valid until the client
   * assigns another one to the vector, de-assigns it or goes away — ask again after SET_IRQS, a reset or a reconnect.
   * Throws VfioUserServerError "BadVector" for a vector the device does not have.
   */
  eventfd(vector: number, index: number): number | undefined;
  /** The IRQ index `trigger(vector)` uses now. */
  activeIndex(): number;
  /**
   * Calls `listener` when what decides a vector's delivery may have changed: its trigger eventfd assigned, replaced
   * or removed (SET_IRQS), its effective mask (SET_IRQS MASK/UNMASK, an MSI-X table mask bit, the MSI-X function
   * mask, an MSI mask bit, INTX_DISABLE), MSI or MSI-X enabled or disabled, the client gone, a device reset. For a
   * data path that hands the client's eventfds to someone else (`eventfd`): it re-reads `eventfd` and `masked` of
   * those vectors. When the change is a client's request (SET_IRQS, a write of the table or config space, a reset),
   * the reply waits for the promise the listener returns, so the client knows the data path followed — and no later
   * message of that client is handled before. A listener's failure is reported (the server's `onError`), the reply
   * sent all the same. INTx's automask and resample unmask (the delivery itself) are not reported. Returns the
   * unsubscribe function.
   */
  onChange(listener: IrqChangeListener): () => void;
}

/** The device's view of its own config space (region 7). */
export interface DeviceConfig {
  /** A copy of [offset, offset + length). */
  read(offset: number, length: number): Uint8Array;
  readonly command: number;
  readonly busMaster: boolean;
  readonly msiEnabled: boolean;
  readonly msixEnabled: boolean;
  /** The programmed base address of a BAR, or undefined if the BAR is not implemented. */
  barAddress(index: number): bigint | undefined;
}

/** What a device model gets from the server: interrupts, guest memory, its own region memory and config space. */
export interface DeviceContext {
  readonly irq: DeviceIrqs;
  /** Guest memory: one API for fd-backed (direct) and message-based (DMA_READ/DMA_WRITE) mappings. */
  readonly dma: Dma;
  readonly config: DeviceConfig;
  /** The shared memory of a region described with `memory: true` (what the client mmaps), else undefined. */
  regionMemory(index: number): Uint8Array | undefined;
  /**
   * The memfd behind `regionMemory(index)`, for a data path in another thread that maps the region itself. The server
   * owns it (do not close it); it stays open while the server runs.
   */
  regionMemfd(index: number): number | undefined;
  /**
   * Offers another file for the mmap areas of region `index` (a region with `memory: true`): the region's bytes at
   * `offset` (page aligned) in `fd` — e.g. another device's doorbell page, so that the client's stores reach it
   * directly. The server dups the fd and maps it; undefined withdraws the offer. It takes effect when a client
   * connects (a client keeps what it mapped): that client is sent the file with DEVICE_GET_REGION_INFO, and
   * `regionMemory`, `regionMemfd` and REGION_READ/WRITE of the areas are that file until the next client connects.
   * Throws VfioUserServerError "InvalidFile" (no such region or no shared memory, a bad fd or offset, a short file).
   */
  offerRegionFile(index: number, offer: RegionFileOffer | undefined): void;
  /** The offer whose file the connected client maps for region `index` (undefined: the region's own memory). */
  regionFileOffer(index: number): RegionFileOffer | undefined;
  readonly migrationState: MigrationState;
  /** A client is connected and finished VERSION negotiation. */
  readonly connected: boolean;
}
