import type { DeviceAddress } from "./address.js";
import type { FileRange, RegionInfo, RegionMapping } from "./region.js";

/** vfio_device_info, decoded. */
export interface DeviceInfo {
  /** The raw VFIO_DEVICE_FLAGS_* word. */
  readonly flags: number;
  /** VFIO_DEVICE_FLAGS_RESET: the device accepts reset(). */
  readonly resettable: boolean;
  /** VFIO_DEVICE_FLAGS_PCI. */
  readonly pci: boolean;
  readonly numRegions: number;
  readonly numIrqs: number;
}

/** vfio_irq_info, decoded. */
export interface IrqInfo {
  readonly index: number;
  /** The raw VFIO_IRQ_INFO_* word. */
  readonly flags: number;
  readonly count: number;
  readonly eventfd: boolean;
  readonly maskable: boolean;
  readonly automasked: boolean;
  readonly noresize: boolean;
}

/** What a SET_IRQS carries: VFIO_IRQ_SET_DATA_NONE / _BOOL / _EVENTFD. */
export type IrqData =
  | { readonly kind: "none" }
  | { readonly kind: "bool"; readonly values: readonly boolean[] }
  /** One fd per vector, or -1 to de-assign that vector; an empty list de-assigns all `count` vectors. */
  | { readonly kind: "eventfd"; readonly fds: readonly number[] };

/** vfio_irq_set, as a request: one action on vectors start..start+count-1 of an IRQ index. */
export interface SetIrqsRequest {
  readonly index: number;
  readonly action: "mask" | "unmask" | "trigger";
  readonly start: number;
  readonly count: number;
  readonly data: IrqData;
}

/** Interrupts delivered through eventfds the implementation created; `disable()` tears them down. */
export interface IrqBinding {
  readonly index: number;
  readonly start: number;
  readonly count: number;
  disable(): Promise<void>;
}

export type InterruptListener = (vector: number, count: bigint) => void;

/** Memory of ours that the device may reach by DMA at `iova`. */
export interface DmaBuffer {
  readonly iova: bigint;
  readonly size: bigint;
  /** Our view of the memory (a window of at most 4 GiB: sizes above it are refused by implementations). */
  readonly bytes: Uint8Array;
  readonly readable: boolean;
  readonly writable: boolean;
  /**
   * The file holding the memory, when it is file-backed and the implementation can say (the caller's file given to
   * `dmaMap`, or a memfd it keeps open while mapped): another thread of this process may mmap it.
   */
  readonly file?: FileRange;
}

/** What `dmaMap` is asked for: the device's access, and optionally the caller's own memory. */
export interface DmaMapAccess {
  readonly read?: boolean;
  readonly write?: boolean;
  /**
   * Map this file range (the caller's memfd, e.g. a packet-buffer pool) instead of allocating memory: the device then
   * reaches the caller's memory itself, zero copy. The fd stays the caller's and must outlive the mapping and hold
   * `size` bytes from `offset` (default 0, page aligned). An implementation that cannot map a given file rejects with
   * "Unsupported".
   */
  readonly file?: { readonly fd: number; readonly offset?: bigint };
}

/**
 * A VFIO device as its consumer sees it, whatever carries it: a vfio-user socket (`@emu/vfio-user-client`) or the
 * kernel's VFIO device fd (`@emu/mdev-pci`). Drivers are written against this interface only.
 *
 * Region indices and flag words are VFIO's (see `@emu/vfio-user-proto` for the constants). Every method rejects with
 * a tagged error; bad arguments never crash.
 */
export interface VfioDevice {
  readonly address: DeviceAddress;
  getInfo(): Promise<DeviceInfo>;
  /** Region info with its capability chain decoded (implementations retry with a larger argsz as needed). */
  getRegionInfo(index: number): Promise<RegionInfo>;
  /** The slow path: a read through the transport (REGION_READ message, or pread on the device fd). */
  regionRead(index: number, offset: bigint, length: number): Promise<Uint8Array>;
  /** The slow path: a write through the transport (REGION_WRITE message, or pwrite on the device fd). */
  regionWrite(index: number, offset: bigint, data: Uint8Array): Promise<void>;
  /** mmaps the mappable areas of a region (see `mappableAreas`); a region with none gives a mapping without areas. */
  mapRegion(index: number): Promise<RegionMapping>;
  getIrqInfo(index: number): Promise<IrqInfo>;
  /** The raw SET_IRQS: eventfds in `data` stay the caller's (implementations send or register copies). */
  setIrqs(request: SetIrqsRequest): Promise<void>;
  /**
   * Creates one eventfd per vector, assigns them with ACTION_TRIGGER and calls `listener` when the device signals
   * one; `disable()` (or `disableIrqs`) de-assigns and closes them.
   */
  enableIrqs(index: number, start: number, count: number, listener: InterruptListener): Promise<IrqBinding>;
  /** De-assigns every vector of an IRQ index (count 0, DATA_NONE, ACTION_TRIGGER). */
  disableIrqs(index: number): Promise<void>;
  /** Allocates shareable memory (or takes `access.file`) and makes it reachable by the device at `iova`. */
  dmaMap(iova: bigint, size: bigint, access?: DmaMapAccess): Promise<DmaBuffer>;
  dmaUnmap(iova: bigint, size: bigint): Promise<void>;
  reset(): Promise<void>;
  /** Releases mappings, eventfds and the transport. Idempotent. */
  close(): Promise<void>;
}
