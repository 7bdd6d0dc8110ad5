// The stand-in kernel's inner state: its errors (errno-coded like @emu/sys's), a region's lazily allocated bytes, an
// open device, the kinds of open files, and its eventfds.
import type { KernelEventFd } from "../vfio-kernel.js";
import type { StandInDevice, StandInRegion } from "./stand-in-device.js";

class StandInError extends Error {
  readonly _tag = "SysError";
  override readonly name = "SysError";
  constructor(
    readonly code: string,
    what: string,
  ) {
    super(`${code}: ${what}`);
  }
}

export const fail = (code: string, what: string): never => {
  throw new StandInError(code, what);
};

/** A region's bytes, allocated on first touch (a GPU aperture of hundreds of MiB costs nothing until used). */
export class LiveRegion {
  private bytes: Uint8Array | undefined;
  constructor(readonly spec: StandInRegion) {}
  get memory(): Uint8Array {
    if (!this.bytes) {
      this.bytes = new Uint8Array(Number(this.spec.size));
      if (this.spec.initial) this.bytes.set(this.spec.initial.subarray(0, this.bytes.length));
    }
    return this.bytes;
  }
}

export interface LiveDevice {
  readonly spec: StandInDevice;
  readonly regions: Map<number, LiveRegion>;
  /** vector → eventfd, per IRQ index. */
  readonly triggers: Map<number, Map<number, StandInEventFd>>;
  readonly masked: Map<number, Set<number>>;
  resets: number;
  opens: number;
}

export type OpenFile =
  | { kind: "container"; groups: Set<number>; iommu: number | undefined }
  | { kind: "group"; group: number; container: number | undefined }
  | { kind: "device"; device: LiveDevice; bound: boolean; attached: boolean; cdev: boolean }
  | { kind: "iommufd"; ioas: Set<number> }
  | { kind: "eventfd"; event: StandInEventFd };

export class StandInEventFd implements KernelEventFd {
  private counter = 0n;
  private listeners: Array<(n: bigint) => void> = [];
  private scheduled = false;
  closed = false;
  constructor(
    readonly fd: number,
    private readonly onClose: () => void,
  ) {}
  watch(listener: (count: bigint) => void): void {
    this.listeners.push(listener);
  }
  signal(n = 1n): void {
    if (this.closed) return;
    this.counter += n;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const c = this.counter;
      if (c === 0n || this.closed || this.listeners.length === 0) return;
      this.counter = 0n;
      for (const l of this.listeners) l(c);
    });
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}
