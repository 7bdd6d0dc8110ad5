// The contract of an emudev driver: the device personality (a vfio-user device model), its resources, and what the
// driver is given to report the guest's configuration (the driver-facing side of a device).
import type { DeviceContext, DeviceModel } from "@emu/vfio-user-server";
import type { AttributeDescription } from "./attributes.js";
import type { ArgsOf, DevargsSchema } from "./devargs.js";
import type { DmaTable } from "./dma-table.js";
import type { DoorbellDescription } from "./doorbells.js";
import type { IrqInfo } from "./irqs.js";
import type { QueueInfo, QueueUpdate } from "./queues.js";

/** What a driver instance is given: its device's driver-facing side. */
export interface DriverHost {
  /** The device name, e.g. "emu_iavf0". */
  readonly name: string;
  /** Guest memory (valid while the device is started). */
  readonly dma: DmaTable;
  /** Updates a queue from what the guest programmed; enabling/disabling raises "queueState" and the provider's op. */
  setQueue(id: number, update: QueueUpdate): QueueInfo;
  queue(id: number): QueueInfo;
  /** An interrupt vector (MSI-X by default). */
  irq(vector: number): IrqInfo;
  /** The guest configured the device: raises "ready" and the provider's `deviceConfigured`. */
  ready(): void;
  /** The configuration is gone (e.g. the guest started a reset): raises "notReady" and the provider's `deviceClosed`. */
  notReady(): void;
  /** The device was reset from inside (the driver's own reset register): queues are disabled, "reset" raised. */
  reset(): void;
  /**
   * What to offer the guest: `info.features`, and of them only those of the bound provider (all of them while none is
   * bound). A provider attached later learns the negotiated ones in `featuresSet`.
   */
  offeredFeatures(): bigint;
  /** The guest negotiated these features (the driver keeps them within what it offered): the provider's `featuresSet`. */
  setFeatures(features: bigint): void;
  /** An attribute changed inside the driver (e.g. "link"): raises "attribute". */
  attributeChanged(name: string): void;
}

/** The device's static description (the seeds' device info). */
export interface DeviceInfo {
  /** What kind of device, e.g. "iavf" or "counter". */
  readonly type: string;
  /** Queues the device has (the data path's queue ids are 0..queueCount-1). */
  readonly queueCount: number;
  /** Feature bits the device offers (driver-defined meaning); 0n when it has none. */
  readonly features: bigint;
}

/** One device made by a driver. */
export interface DriverInstance {
  readonly info: DeviceInfo;
  /**
   * The vfio-user device model, built when the device starts (`ctx` is the server's device context). emudev wraps
   * `reset`, `onDmaMap`/`onDmaUnmap`, `onConnect`/`onDisconnect` and migration to raise its events; the driver's own
   * callbacks still run first.
   */
  model(ctx: DeviceContext): DeviceModel;
  readonly doorbells?: readonly DoorbellDescription[];
  readonly attributes?: Readonly<Record<string, AttributeDescription>>;
  /** `device.configure(config)`: driver-specific settings applied before start. Throw to refuse them. */
  configure?(config: Readonly<Record<string, unknown>>): void;
  /** The device stopped (its socket closed) or was closed: release what `model` made. */
  stopped?(): void;
  /**
   * A provider was attached (its name, after its `attached` op) or detached (undefined, after its `detached` op): a
   * data path exists or not, e.g. a NIC's link can follow it.
   */
  providerChanged?(provider: string | undefined): void;
}

/** An emudev driver: devices named `<name><n>` are made by it from devargs. */
export interface EmudevDriver<S extends DevargsSchema = DevargsSchema> {
  /** e.g. "emu_iavf": lowercase letters, digits, `_`, not ending with a digit. */
  readonly name: string;
  /** The devargs keys it accepts besides `sock` (emudev's own: the socket path). */
  readonly args: S;
  create(host: DriverHost, args: ArgsOf<S>): DriverInstance;
}
