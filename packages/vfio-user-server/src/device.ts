import type { PciDeviceDescription } from "@emu/pci-config";
import type { MigrationState } from "@emu/vfio-user-proto";
import type { DeviceContext } from "./context.js";
import type { DmaRegionInfo } from "./guest-memory.js";

/** Something a callback may return synchronously (the fast path) or as a promise. */
export type MaybePromise<T> = T | Promise<T>;

/** A part of a region (offset relative to the region start). */
export interface RegionArea {
  readonly offset: number;
  readonly size: number;
}

/**
 * An ioeventfd the server creates for a doorbell and hands to the client with GET_REGION_IO_FDS; a client (or KVM
 * behind it) signals it instead of sending REGION_WRITE. `onSignal` gets the eventfd counter.
 */
export interface IoEventFdDescription {
  readonly offset: number;
  /** Access size it matches: 1, 2, 4, 8, or 0 for any. */
  readonly size: 0 | 1 | 2 | 4 | 8;
  /** Only writes of this value signal it (KVM_IOEVENTFD_FLAG_DATAMATCH). */
  readonly datamatch?: bigint;
  onSignal(count: bigint): void;
}

/**
 * A region of the device. For BARs (0-5) and the ROM (6) the size comes from the PCI description; config space (7)
 * is the server's and cannot be described here; VGA (8) and device-specific regions (>= 9) give their own size.
 *
 * How a REGION_READ/WRITE is served: it is cut at the boundaries of the MSI-X table, the PBA and the `mmap` areas,
 * and each piece goes to
 * 1. the server's MSI-X emulation, inside the table or PBA of a BAR;
 * 2. the shared memory, inside an `mmap` area (with `memory`), as the client sees it through its mapping;
 * 3. the `read`/`write` callback, if there is one;
 * 4. the shared memory, with `memory`;
 * 5. nothing: reads return zeros and writes are dropped.
 */
export interface RegionDescription {
  /** Required for indices >= 8; must equal the BAR/ROM size for 0-6 if given. */
  readonly size?: number;
  /** Default true. */
  readonly readable?: boolean;
  /** Default true (false for the ROM). */
  readonly writable?: boolean;
  /**
   * Back the region with shared memory (a memfd the server creates): the device reaches it as
   * `ctx.regions.memory(index)`, and the client may mmap the `mmap` areas. Default false.
   */
  readonly memory?: boolean;
  /**
   * Page-aligned areas the client may mmap (needs `memory`); default: the whole region when `memory` is set. They may
   * not overlap a BAR's MSI-X table or PBA (the server must see those accesses).
   */
  readonly mmap?: readonly RegionArea[];
  /** Trapped reads: return `length` bytes. */
  read?(offset: number, length: number): MaybePromise<Uint8Array>;
  /** Trapped writes. `data` is only valid during the call (copy it to keep it). */
  write?(offset: number, data: Uint8Array): MaybePromise<void>;
  /** VFIO_REGION_INFO_CAP_TYPE for device-specific regions (>= 9). */
  readonly type?: { readonly type: number; readonly subtype: number };
  /** Doorbells offered as ioeventfds (GET_REGION_IO_FDS). */
  readonly ioEventFds?: readonly IoEventFdDescription[];
}

/** Interrupt vectors per IRQ index. Defaults come from the PCI description. */
export interface IrqCounts {
  /** Default 1 when the PCI description has an interrupt pin, else 0. */
  readonly intx?: number;
  /** Default: the MSI capability's vector count (0 without it). */
  readonly msi?: number;
  /** Default: the MSI-X table size (0 without it). */
  readonly msix?: number;
  /** Default 1. */
  readonly err?: number;
  /** Default 1. */
  readonly req?: number;
}

/** Migration (VFIO migration v2 over DEVICE_FEATURE and MIG_DATA_READ/WRITE). */
export interface MigrationCallbacks {
  /** PRE_COPY (and its arcs) supported. Default false: STOP_COPY only. */
  readonly preCopy?: boolean;
  /**
   * One direct arc of the state machine (the server walks a multi-arc request arc by arc, shortest path, never
   * through a saving state). Must be complete when it returns. Throwing fails the request with EIO (or the errno of
   * a `DeviceError`) and leaves the state at the last completed arc.
   */
  transition(from: MigrationState, to: MigrationState): MaybePromise<void>;
  /**
   * A client asked for `target` (from `from`, another state), before any arc is walked: throw to refuse the whole
   * request with nothing changed (EIO, or the errno of a `DeviceError`) — e.g. a device that cannot be migrated refuses
   * STOP_COPY here, where refusing its second arc would leave it stopped by the first (RUNNING → STOP).
   */
  request?(from: MigrationState, target: MigrationState): MaybePromise<void>;
  /** Saving states: up to `max` bytes of the migration stream; fewer (or none) = no more data for now. */
  read(max: number): MaybePromise<Uint8Array>;
  /** RESUMING: consume a chunk of the stream (all of it, or throw). */
  write(data: Uint8Array): MaybePromise<void>;
}

/** Why the device is being reset. */
export type ResetReason = "client" | "flr";

/**
 * A device model: data (config space, regions, IRQ counts) and callbacks. The server owns everything
 * protocol-shaped; a device author never sees a message.
 */
export interface DeviceModel {
  /** PCI config space (region 7), built with @emu/pci-config. */
  readonly pci: PciDeviceDescription;
  /** Regions by index. BARs of the PCI description without an entry here read zeros. */
  readonly regions?: Readonly<Record<number, RegionDescription>>;
  readonly irqs?: IrqCounts;
  /** DEVICE_RESET and PCIe function-level reset (the server resets config space and MSI-X state itself). */
  reset?(reason: ResetReason): MaybePromise<void>;
  readonly migration?: MigrationCallbacks;
  /** A client mapped guest memory (after the server mapped it; the device may use it at once). */
  onDmaMap?(region: DmaRegionInfo): void;
  /** A mapping goes away (before the server unmaps it): stop using it. Also called for each mapping on disconnect. */
  onDmaUnmap?(region: DmaRegionInfo): void;
  /** A client finished VERSION negotiation. */
  onConnect?(): void;
  /** The client went away; its DMA mappings and IRQ eventfds are gone, the device state is kept. */
  onDisconnect?(): void;
  /** A config-space write was applied (after BAR sizing, masks, MSI/MSI-X bookkeeping). */
  onConfigWrite?(offset: number, data: Uint8Array): void;
}

/** A device model, or a factory that gets the context (interrupts, DMA, region memory) first. */
export type DeviceModelSource = DeviceModel | ((ctx: DeviceContext) => DeviceModel);
