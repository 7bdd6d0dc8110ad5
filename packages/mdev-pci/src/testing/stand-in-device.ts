/** One region of a stand-in device, with the offset its driver reports (never derived from the index). */
export interface StandInRegion {
  readonly index: number;
  readonly offset: bigint;
  readonly size: bigint;
  /** VFIO_REGION_INFO_FLAG_* (READ 1, WRITE 2, MMAP 4; CAPS is added when capabilities are given). */
  readonly flags: number;
  readonly sparseAreas?: ReadonlyArray<{ readonly offset: bigint; readonly size: bigint }>;
  readonly type?: { readonly type: number; readonly subtype: number };
  readonly msixMappable?: boolean;
  /** Initial contents (e.g. a config header); the rest reads as zero. */
  readonly initial?: Uint8Array;
}

export interface StandInIrq {
  readonly index: number;
  readonly flags: number;
  readonly count: number;
}

/** Register behaviour: return bytes (read) or true (write) to answer; undefined/false falls back to plain memory. */
export interface StandInBehaviour {
  read?(region: number, offset: bigint, length: number): Uint8Array | undefined;
  write?(region: number, offset: bigint, data: Uint8Array): boolean;
}

export interface StandInDevice {
  /** The device name: a BDF for a physical function, the lower-case UUID for an mdev. */
  readonly name: string;
  readonly group: number;
  /** The cdev name (`vfioN`), when the device has one. */
  readonly cdev?: string;
  /** VFIO_DEVICE_FLAGS_* */
  readonly flags: number;
  readonly numRegions: number;
  readonly numIrqs: number;
  readonly regions: readonly StandInRegion[];
  readonly irqs: readonly StandInIrq[];
  readonly behaviour?: StandInBehaviour;
}

export interface StandInOptions {
  readonly devices: readonly StandInDevice[];
  readonly devRoot?: string;
  /** Offer /dev/iommu and /dev/vfio/devices/vfioN (the cdev flow). Default true. */
  readonly cdev?: boolean;
  /** Groups whose GET_STATUS is not VIABLE (a member not bound to vfio-pci). */
  readonly nonViableGroups?: readonly number[];
  /** The architecture whose ioctl numbers the stand-in answers (default: this process's). */
  readonly arch?: string;
}

/** A DMA mapping the stand-in IOMMU holds: device-visible `iova` backed by our `bytes`. */
export interface StandInDmaMapping {
  readonly iova: bigint;
  readonly size: bigint;
  readonly bytes: Uint8Array;
  readonly readable: boolean;
  readonly writable: boolean;
}
