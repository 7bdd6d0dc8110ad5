// Emudev drivers by name, the devices made from devargs, and the providers they may be bound to.
import { type Devargs, parseDevargs, readArgs } from "./devargs.js";
import { type EmudevDevice, EmudevDeviceImpl } from "./device.js";
import type { EmudevDriver } from "./driver.js";
import { EmudevError } from "./errors.js";
import { type EmudevProvider, ProviderRegistry } from "./provider.js";

const DRIVER_NAME = /^[a-z][a-z0-9_]*[a-z_]$|^[a-z]$/;

export interface EmudevRegistryOptions {
  /**
   * Failures that cannot be thrown to a caller: a listener or a provider op that threw, the server's own reports.
   * Default: a process warning.
   */
  readonly onError?: (e: unknown) => void;
}

/** Drivers, providers and the devices made from them. Independent registries do not see each other. */
export class EmudevRegistry {
  private readonly drivers = new Map<string, EmudevDriver>();
  private readonly devices = new Map<string, EmudevDevice>();
  private readonly providerTable = new ProviderRegistry();
  private readonly onError: (e: unknown) => void;

  constructor(options: EmudevRegistryOptions = {}) {
    this.onError =
      options.onError ??
      ((e: unknown) => process.emitWarning(e instanceof Error ? e.message : String(e), "EmudevWarning"));
  }

  // biome-ignore lint/suspicious/noExplicitAny: a driver of any devargs schema
  registerDriver(driver: EmudevDriver<any>): void {
    if (typeof driver?.name !== "string" || !DRIVER_NAME.test(driver.name))
      throw new EmudevError(
        "InvalidValue",
        `driver name ${String(driver?.name)} must be lowercase letters, digits and _, not ending with a digit`,
      );
    if (typeof driver.create !== "function" || typeof driver.args !== "object")
      throw new EmudevError("InvalidValue", `driver ${driver.name} needs args and create`);
    if (Object.hasOwn(driver.args, "sock"))
      throw new EmudevError("InvalidValue", `driver ${driver.name}: the devargs key "sock" is emudev's own`);
    if (this.drivers.has(driver.name))
      throw new EmudevError("Duplicate", `driver ${driver.name} is already registered`);
    this.drivers.set(driver.name, driver);
  }

  /** Removes a driver (its devices stay). */
  unregisterDriver(name: string): void {
    this.drivers.delete(name);
  }

  driverNames(): readonly string[] {
    return [...this.drivers.keys()];
  }

  registerProvider(provider: EmudevProvider): void {
    this.providerTable.register(provider);
  }

  /** Removes a provider no device is attached to. */
  unregisterProvider(name: string): void {
    this.providerTable.unregister(name);
  }

  providerNames(): readonly string[] {
    return this.providerTable.names();
  }

  /**
   * Makes a device from devargs, e.g. "emu_iavf0,sock=/run/emu/iavf0.sock,queues=2": the driver is the name without
   * its instance number, `sock` (required) is where `start` serves it, the other keys are the driver's. The device is
   * "created": configure, then start it.
   */
  create(devargs: string | Devargs): EmudevDevice {
    const d = typeof devargs === "string" ? parseDevargs(devargs) : devargs;
    const driver = this.drivers.get(d.driver);
    if (driver === undefined)
      throw new EmudevError(
        "UnknownDriver",
        `no emudev driver "${d.driver}" for ${d.name} (registered: ${this.driverNames().join(", ") || "none"})`,
      );
    if (this.devices.has(d.name)) throw new EmudevError("Duplicate", `device ${d.name} already exists`);
    const sock = d.pairs.get("sock");
    if (sock === undefined) throw new EmudevError("Devargs", `devargs "${d.name}": missing key "sock" (socket path)`);
    const rest = new Map(d.pairs);
    rest.delete("sock");
    const args = readArgs({ ...d, pairs: rest }, driver.args);
    const dev = new EmudevDeviceImpl({
      name: d.name,
      driver: d.driver,
      socketPath: sock,
      providers: this.providerTable,
      onError: this.onError,
      onClosed: () => this.devices.delete(d.name),
    });
    dev.adopt(driver.create(dev.host(), args));
    this.devices.set(d.name, dev);
    return dev;
  }

  /** A device by name, or undefined. */
  device(name: string): EmudevDevice | undefined {
    return this.devices.get(name);
  }

  deviceNames(): readonly string[] {
    return [...this.devices.keys()];
  }

  /** Closes every device. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.devices.values()].map((d) => d.close()));
  }
}
