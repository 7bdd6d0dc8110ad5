// What a data-path provider sees of an emudev device: its state, regions, queues, IRQs, doorbells, attributes, DMA
// table and events — resources without the lifecycle (the application's handle, EmudevDevice, adds that).
import type { RegionFileOffer } from "@emu/vfio-user-server";
import type { DmaTable } from "./dma-table.js";
import type { DoorbellInfo } from "./doorbells.js";
import type { DeviceInfo } from "./driver.js";
import type { EmudevEvents } from "./events.js";
import type { IrqInfo, IrqWatcher } from "./irqs.js";
import type { QueueInfo } from "./queues.js";

/** created → configured → started ⇄ stopped → closed (configure again from stopped; close from anywhere). */
export type EmudevState = "created" | "configured" | "started" | "stopped" | "closed";

/** A region of the running device. */
export interface RegionInfo {
  readonly index: number;
  /** The region's shared memory (regions described with `memory: true`), else undefined: trapped. */
  readonly memory: Uint8Array | undefined;
  /**
   * The memfd behind `memory`, for a data path in another thread that maps the region itself (the server owns it:
   * never close it; it changes with each `start`).
   */
  readonly fd: number | undefined;
  /** Where the region starts in `fd` (0 in the region's own memfd). */
  readonly offset: bigint;
  /** The offer (`offerRegionFile`) whose file the connected client maps, or undefined: the region's own memory. */
  readonly offer: RegionFileOffer | undefined;
}

/** What a data-path provider sees of a device: resources and events, no lifecycle. */
export interface EmudevResources extends EmudevEvents {
  /** e.g. "emu_iavf0". */
  readonly name: string;
  readonly driver: string;
  readonly socketPath: string;
  readonly info: DeviceInfo;
  readonly state: EmudevState;
  /** The driver said the guest configured the device (and it has not been undone since). */
  readonly ready: boolean;
  /** A client is connected. */
  readonly connected: boolean;
  /** The features the guest negotiated (0n until then). */
  readonly features: bigint;
  /** What the device may offer the guest: the driver's features, and of them only the bound provider's. */
  readonly offeredFeatures: bigint;
  readonly dma: DmaTable;
  queue(id: number): QueueInfo;
  queues(): readonly QueueInfo[];
  /** An interrupt vector (MSI-X); the device must be started. */
  irq(vector: number): IrqInfo;
  /**
   * Calls `listener` with the MSI-X vectors whose `irq(v).eventfd()` or `irq(v).masked()` may have changed: the
   * client assigned, replaced or removed eventfds (SET_IRQS), masked or unmasked vectors (SET_IRQS, the MSI-X table,
   * the function mask), enabled or disabled MSI-X, went away, or the device was reset. For a data path that hands the
   * client's eventfds to another party: the client's request is answered only once the promise the listener returns
   * settled (a failure is reported to `onError`, the reply sent all the same), so a VMM that takes an eventfd back
   * knows nobody signals it afterwards. Holds across `stop` and `start`; returns the unsubscribe function.
   */
  watchIrqs(listener: IrqWatcher): () => void;
  /** A memory doorbell; the device must be started. */
  doorbell(id: number): DoorbellInfo;
  doorbells(): readonly DoorbellInfo[];
  /** The regions the driver described; the device must be started. */
  regions(): readonly RegionInfo[];
  /**
   * Offers another file for the mmap areas of region `index` (one described with `memory: true`): the region's bytes
   * at `offset` in `fd`, e.g. another device's doorbell page, so the guest's stores reach it with no copy. The next
   * client to connect maps it (one connected keeps what it mapped); while that client is connected `regions()`,
   * `doorbell()` and the driver's region memory are that file. `undefined` withdraws the offer. The device must be
   * started; a file that cannot serve the region is `InvalidValue`.
   */
  offerRegionFile(index: number, offer: RegionFileOffer | undefined): void;
  attribute(name: string): unknown;
  /** Sets an attribute (the driver checks it); raises "attribute". */
  setAttribute(name: string, value: unknown): void;
  attributes(): readonly string[];
}
