// Data-path providers (the seeds' vDPA drivers): registered by name with their attributes and ops; a device is bound
// to one at attach time, and the provider then sees the device only through the emudev API.
import type { MaybePromise } from "@emu/vfio-user-server";
import { EmudevError } from "./errors.js";
import type { EmudevResources } from "./resources.js";

/** What a provider can do (the seeds' `rte_vdpa_dev` attributes). */
export interface ProviderAttributes {
  /** Feature bits the provider supports: a bound device offers the guest only these of its own (`offeredFeatures`). */
  readonly features: bigint;
  /** Most queues it serves per device: a device with more is refused at attach. */
  readonly queueCount: number;
  /** Most devices bound to it at once. */
  readonly deviceCount: number;
}

/**
 * The ops a provider implements (the seeds' vDPA ops). Each gets the device's resources, never the driver. They are
 * called in the order the device changes; a thrown error or a rejected promise is reported to the registry's
 * `onError` and does not stop the device.
 */
export interface ProviderOps {
  /** The device was bound to this provider (`device.attach`). */
  attached?(dev: EmudevResources): MaybePromise<void>;
  /** The guest configured the device ("ready"): start serving its enabled queues. */
  deviceConfigured(dev: EmudevResources): MaybePromise<void>;
  /** The configuration is gone (not ready, stopped, closed or detached): stop touching queues and guest memory. */
  deviceClosed(dev: EmudevResources): MaybePromise<void>;
  /** A queue was enabled or disabled. */
  queueStateSet(dev: EmudevResources, queue: number, enabled: boolean): MaybePromise<void>;
  /** The guest negotiated these features. */
  featuresSet?(dev: EmudevResources, features: bigint): MaybePromise<void>;
  /** The device finished resuming from a migration stream: re-read queue state and guest memory. */
  migrationDone?(dev: EmudevResources): MaybePromise<void>;
  /**
   * Migration: `false` when the device leaves RUNNING/PRE_COPY for a stopped state (STOP, STOP_COPY, RESUMING) — stop
   * touching guest memory, raising interrupts and moving ring positions before returning (synchronously: the driver
   * saves its state right after); `true` when it runs again — serve the queues from the state as it is now. A stop
   * that cannot be made (a data-path thread did not let go in time) throws: the migration arc is refused, the device
   * runs on (`migrationRunning(true)` follows).
   */
  migrationRunning?(dev: EmudevResources, running: boolean): void;
  /**
   * Migration: the device is about to enter a state that saves or loads its state — PRE_COPY, STOP_COPY (the source)
   * or RESUMING (the destination) — before anything of it changes (a plain STOP, a VMM pausing the guest, is not one).
   * A provider whose data path cannot be migrated throws, with a message that says why: the arc is refused (the
   * client's request fails with EOPNOTSUPP, the message goes to the registry's `onError`) and the device runs on.
   */
  migrationTransfer?(dev: EmudevResources): void;
  /** The device is no longer bound (`detach` or `close`), after `deviceClosed` if it was configured. */
  detached?(dev: EmudevResources): MaybePromise<void>;
}

/** A data-path provider. */
export interface EmudevProvider {
  /** e.g. "iavf-dp-sw". */
  readonly name: string;
  readonly attributes: ProviderAttributes;
  readonly ops: ProviderOps;
}

/** Providers by name, and how many devices each serves. */
export class ProviderRegistry {
  private readonly providers = new Map<string, EmudevProvider>();
  private readonly bound = new Map<string, number>();

  register(p: EmudevProvider): void {
    if (typeof p?.name !== "string" || p.name === "")
      throw new EmudevError("InvalidValue", "a provider needs a non-empty name");
    const a = p.attributes;
    if (typeof a?.features !== "bigint" || !(a.queueCount >= 1) || !(a.deviceCount >= 1))
      throw new EmudevError("InvalidValue", `provider ${p.name}: features (bigint), queueCount and deviceCount >= 1`);
    if (typeof p.ops?.deviceConfigured !== "function" || typeof p.ops.deviceClosed !== "function")
      throw new EmudevError("InvalidValue", `provider ${p.name}: ops need deviceConfigured and deviceClosed`);
    if (typeof p.ops.queueStateSet !== "function")
      throw new EmudevError("InvalidValue", `provider ${p.name}: ops need queueStateSet`);
    if (this.providers.has(p.name)) throw new EmudevError("Duplicate", `provider ${p.name} is already registered`);
    this.providers.set(p.name, p);
  }

  /** Removes a provider no device is bound to. */
  unregister(name: string): void {
    if ((this.bound.get(name) ?? 0) > 0)
      throw new EmudevError("BadState", `provider ${name} still has ${this.bound.get(name)} device(s) attached`);
    this.providers.delete(name);
  }

  get(name: string): EmudevProvider {
    const p = this.providers.get(name);
    if (p === undefined)
      throw new EmudevError(
        "UnknownProvider",
        `no provider "${name}" (registered: ${[...this.providers.keys()].join(", ") || "none"})`,
      );
    return p;
  }

  names(): readonly string[] {
    return [...this.providers.keys()];
  }

  /** Takes one of the provider's device slots for a device with `queues` queues. */
  bind(name: string, device: string, queues: number): EmudevProvider {
    const p = this.get(name);
    const n = this.bound.get(name) ?? 0;
    if (n >= p.attributes.deviceCount)
      throw new EmudevError("ProviderLimit", `provider ${name} serves at most ${p.attributes.deviceCount} device(s)`);
    if (queues > p.attributes.queueCount)
      throw new EmudevError(
        "ProviderLimit",
        `provider ${name} serves at most ${p.attributes.queueCount} queues; ${device} has ${queues}`,
      );
    this.bound.set(name, n + 1);
    return p;
  }

  release(name: string): void {
    this.bound.set(name, Math.max(0, (this.bound.get(name) ?? 0) - 1));
  }
}
