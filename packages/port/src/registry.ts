// Port drivers by name, the ports made from devargs, and the services an application offers drivers.
import type { Devargs } from "@emu/emudev";
import { parsePortDevargs, readPortArgs } from "./devargs.js";
import type { PortDriver, PortHost, ServiceKey } from "./driver.js";
import { PortError } from "./errors.js";
import { Port } from "./port.js";

const DRIVER_NAME = /^[a-z][a-z0-9_]*[a-z_]$|^[a-z]$/;

/** Drivers, the ports made from them, and services (`provide`) drivers may ask for. */
export class PortRegistry {
  readonly #drivers = new Map<string, PortDriver>();
  readonly #ports = new Map<string, Port>();
  readonly #services = new Map<string, unknown>();

  /** Registers drivers, e.g. `new PortRegistry(builtinPortDrivers)`. */
  constructor(drivers: Iterable<PortDriver> = []) {
    for (const d of drivers) this.registerDriver(d);
  }

  // biome-ignore lint/suspicious/noExplicitAny: a driver of any devargs schema
  registerDriver(driver: PortDriver<any>): void {
    if (typeof driver?.name !== "string" || !DRIVER_NAME.test(driver.name))
      throw new PortError(
        "InvalidValue",
        `port driver name ${String(driver?.name)} must be lowercase letters, digits and _, not ending with a digit`,
      );
    if (typeof driver.create !== "function" || typeof driver.args !== "object")
      throw new PortError("InvalidValue", `port driver ${driver.name} needs args and create`);
    if (this.#drivers.has(driver.name))
      throw new PortError("Duplicate", `port driver ${driver.name} is already registered`);
    this.#drivers.set(driver.name, driver);
  }

  unregisterDriver(name: string): void {
    this.#drivers.delete(name);
  }

  hasDriver(name: string): boolean {
    return this.#drivers.has(name);
  }

  driverNames(): readonly string[] {
    return [...this.#drivers.keys()];
  }

  /** Offers a service to drivers (`PortHost.service(key)`), e.g. the application's EmudevRegistry. */
  provide<T>(key: ServiceKey<T>, value: T): void {
    this.#services.set(key.id, value);
  }

  /** Makes a port from devargs, e.g. "net_pcap0,rx_pcap=in.pcap". It is stopped and not configured. */
  async create(devargs: string | Devargs): Promise<Port> {
    const d = typeof devargs === "string" ? parsePortDevargs(devargs) : devargs;
    const driver = this.#drivers.get(d.driver);
    if (driver === undefined)
      throw new PortError(
        "UnknownDriver",
        `no port driver "${d.driver}" for ${d.name} (registered: ${this.driverNames().join(", ") || "none"})`,
      );
    if (this.#ports.has(d.name)) throw new PortError("Duplicate", `port ${d.name} already exists`);
    const args = readPortArgs(d, driver.args);
    const rest = [...d.pairs].map(([k, v]) => `${k}=${v}`).join(",");
    const host: PortHost = {
      name: d.name,
      devargs: rest,
      port: (name) => this.#ports.get(name),
      service: <T>(key: ServiceKey<T>) => this.#services.get(key.id) as T | undefined,
    };
    this.#ports.set(d.name, placeholder); // reserve the name while an asynchronous create runs
    try {
      const control = await driver.create(host, args);
      const port = new Port(d.name, d.driver, rest, control, () => this.#ports.delete(d.name));
      this.#ports.set(d.name, port);
      return port;
    } catch (e) {
      this.#ports.delete(d.name);
      throw e;
    }
  }

  /** A port by name (not one still being created). */
  port(name: string): Port | undefined {
    const p = this.#ports.get(name);
    return p === placeholder ? undefined : p;
  }

  ports(): readonly Port[] {
    return [...this.#ports.values()].filter((p) => p !== placeholder);
  }

  /** Closes every port. */
  async closeAll(): Promise<void> {
    await Promise.all(this.ports().map((p) => p.close()));
  }
}

const placeholder = Object.create(null) as Port;
