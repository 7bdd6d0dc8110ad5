import {
  type BusSource,
  type DeviceAddress,
  type DeviceDescriptor,
  formatAddress,
  sameAddress,
  type VfioDevice,
} from "@emu/vfio-device";
import type { DeviceSelection } from "./devargs.js";
import { isMdevPciError, MdevPciError } from "./errors.js";
import { readConfigIds } from "./internal/config-header.js";
import { matchesId, type PciDriver } from "./pci-driver.js";

/** IDs a source reports when it cannot know them without opening the device (mediated and vfio-user devices). */
export const UNKNOWN_VENDOR_ID = 0xffff;

export function isIdentified(d: DeviceDescriptor): boolean {
  return d.vendorId !== UNKNOWN_VENDOR_ID;
}

/** A source that can say, before opening, why a device it lists cannot be driven (e.g. bound to a kernel driver). */
export interface UsabilityAdvisor {
  whyUnusable(descriptor: DeviceDescriptor): string | undefined;
}

function isAdvisor(s: BusSource): s is BusSource & UsabilityAdvisor {
  return typeof (s as Partial<UsabilityAdvisor>).whyUnusable === "function";
}

/**
 * A source that lists what it could not read in its last scan without failing it (a device left out, a device's field
 * left unknown); the bus adds those to its scan's problems.
 */
export interface ScanProblemReporter {
  scanProblems(): readonly Error[];
}

function isReporter(s: BusSource): s is BusSource & ScanProblemReporter {
  return typeof (s as Partial<ScanProblemReporter>).scanProblems === "function";
}

/** A device on the bus, with what the selection made of it. */
export interface BusDevice {
  readonly descriptor: DeviceDescriptor;
  readonly selected: boolean;
  /** The allow-list entry's driver arguments. */
  readonly args: ReadonlyMap<string, string>;
}

export interface BusScan {
  readonly devices: readonly BusDevice[];
  /**
   * Sources that failed to scan, allow-listed addresses no source found, and what a source could not read while
   * scanning (see {@link ScanProblemReporter}).
   */
  readonly problems: readonly Error[];
}

/** A device a driver took. */
export interface AttachedDevice<Instance = unknown> {
  readonly descriptor: DeviceDescriptor;
  readonly driver: string;
  readonly device: VfioDevice;
  readonly instance: Instance;
}

export interface ProbeReport {
  readonly attached: readonly AttachedDevice[];
  /** Selected devices no driver took, or that cannot be driven, with the reason in words. */
  readonly skipped: ReadonlyArray<{ readonly descriptor: DeviceDescriptor; readonly reason: string }>;
  /** Devices whose open, identification or driver probe failed. */
  readonly failed: ReadonlyArray<{ readonly descriptor: DeviceDescriptor; readonly error: unknown }>;
  readonly problems: readonly Error[];
}

/** The name of the kernel sysfs source (host physical and mediated devices). */
export const SYSFS_SOURCE = "sysfs";

/**
 * The PCI bus: lists devices from sources (the kernel sysfs source for BDF and UUID devices, and any the application
 * registers, such as the vfio-user client's), selects them by address the way DPDK's `-a`/`-b`/`--no-pci` do, opens
 * them through the source that owns the address, and probes registered drivers by vendor/device id.
 */
export class PciBus {
  private readonly sourceList: BusSource[] = [];
  private readonly drivers: PciDriver<unknown>[] = [];
  private readonly attachedList: AttachedDevice[] = [];

  constructor(sources: readonly BusSource[] = []) {
    for (const s of sources) this.addSource(s);
  }

  get sources(): readonly BusSource[] {
    return this.sourceList;
  }

  addSource(source: BusSource): void {
    if (this.sourceList.some((s) => s.name === source.name)) {
      throw new MdevPciError("BadArgument", `a bus source named "${source.name}" is already registered`);
    }
    this.sourceList.push(source);
  }

  removeSource(name: string): void {
    const i = this.sourceList.findIndex((s) => s.name === name);
    if (i >= 0) this.sourceList.splice(i, 1);
  }

  /** Registers a driver; drivers are tried in registration order and the first whose ID table matches wins. */
  registerDriver<I>(driver: PciDriver<I>): void {
    if (this.drivers.some((d) => d.name === driver.name)) {
      throw new MdevPciError("BadArgument", `a driver named "${driver.name}" is already registered`);
    }
    this.drivers.push(driver as PciDriver<unknown>);
  }

  get attached(): readonly AttachedDevice[] {
    return this.attachedList;
  }

  /** Scans every source (the sysfs source is skipped under `noPci`) and marks what the selection takes. */
  async scan(selection: DeviceSelection = {}): Promise<BusScan> {
    if (selection.allow?.length && selection.block?.length) {
      throw new MdevPciError("BadArgument", "an allow-list and a block-list cannot be used at the same time");
    }
    const problems: Error[] = [];
    const found: DeviceDescriptor[] = [];
    for (const source of this.sourceList) {
      if (selection.noPci && source.name === SYSFS_SOURCE) continue;
      try {
        for (const d of await source.scan()) {
          if (!found.some((f) => sameAddress(f.address, d.address))) found.push(d);
        }
        if (isReporter(source)) problems.push(...source.scanProblems());
      } catch (e) {
        problems.push(
          e instanceof Error ? e : new MdevPciError("Kernel", `source "${source.name}" failed to scan: ${String(e)}`),
        );
      }
    }
    const devices: BusDevice[] = found.map((descriptor) => {
      const allowed = selection.allow?.find((a) => sameAddress(a.address, descriptor.address));
      const blocked = selection.block?.some((b) => sameAddress(b, descriptor.address)) ?? false;
      const selected = selection.allow ? allowed !== undefined : !blocked;
      return { descriptor, selected, args: allowed?.args ?? new Map() };
    });
    for (const a of selection.allow ?? []) {
      if (devices.some((d) => sameAddress(d.descriptor.address, a.address))) continue;
      const source = this.sourceFor(a.address, selection);
      if (source && a.address.kind === "vfio-user") {
        // Sockets need not be enumerable: an allow-listed one is taken as given and identified when opened.
        devices.push({
          descriptor: {
            address: a.address,
            source: source.name,
            vendorId: UNKNOWN_VENDOR_ID,
            deviceId: UNKNOWN_VENDOR_ID,
            classCode: 0xffffff,
          },
          selected: true,
          args: a.args,
        });
      } else {
        problems.push(
          new MdevPciError(
            "NoSuchDevice",
            `allow-listed device ${formatAddress(a.address)} was not found by any bus source`,
          ),
        );
      }
    }
    return { devices, problems };
  }

  /** Opens a device through the source that handles its address. */
  async open(address: DeviceAddress): Promise<VfioDevice> {
    const source = this.sourceFor(address, {});
    if (!source) {
      throw new MdevPciError(
        "NoSuchDevice",
        `no bus source handles ${formatAddress(address)} (sources: ${this.sourceList.map((s) => s.name).join(", ") || "none"})`,
      );
    }
    try {
      return await source.open(address);
    } catch (e) {
      throw openFailure(address, source.name, e);
    }
  }

  /**
   * Scans, then gives every selected device to the first driver whose ID table matches. Devices whose IDs the source
   * could not know (mediated, vfio-user) are opened and identified from their config space first.
   */
  async probe(selection: DeviceSelection = {}): Promise<ProbeReport> {
    const { devices, problems } = await this.scan(selection);
    const attached: AttachedDevice[] = [];
    const skipped: Array<{ descriptor: DeviceDescriptor; reason: string }> = [];
    const failed: Array<{ descriptor: DeviceDescriptor; error: unknown }> = [];
    for (const bd of devices) {
      if (!bd.selected) continue;
      let descriptor = bd.descriptor;
      if (this.attachedList.some((a) => sameAddress(a.descriptor.address, descriptor.address))) continue;
      const source = this.sourceList.find((s) => s.name === descriptor.source);
      const unusable = source && isAdvisor(source) ? source.whyUnusable(descriptor) : undefined;
      if (unusable !== undefined) {
        skipped.push({ descriptor, reason: unusable });
        continue;
      }
      if (isIdentified(descriptor) && !this.drivers.some((d) => d.idTable.some((m) => matchesId(descriptor, m)))) {
        skipped.push({ descriptor, reason: `no driver for ${idText(descriptor)}` });
        continue;
      }
      let device: VfioDevice | undefined;
      try {
        device = await (source ?? this).open(descriptor.address);
        if (!isIdentified(descriptor)) {
          descriptor = { ...descriptor, ...(await readConfigIds(device, formatAddress(descriptor.address))) };
        }
        const ids = descriptor;
        const driver = this.drivers.find((d) => d.idTable.some((m) => matchesId(ids, m)));
        if (!driver) {
          skipped.push({ descriptor, reason: `no driver for ${idText(descriptor)}` });
          await device.close();
          continue;
        }
        const instance = await driver.probe(device, { descriptor, args: bd.args });
        const a: AttachedDevice = { descriptor, driver: driver.name, device, instance };
        attached.push(a);
        this.attachedList.push(a);
      } catch (error) {
        failed.push({ descriptor, error });
        await device?.close().catch(() => undefined);
      }
    }
    return { attached, skipped, failed, problems };
  }

  /** Removes a driver from a device it took and closes the device. */
  async detach(address: DeviceAddress): Promise<void> {
    const i = this.attachedList.findIndex((a) => sameAddress(a.descriptor.address, address));
    if (i < 0) throw new MdevPciError("NoSuchDevice", `no driver is attached to ${formatAddress(address)}`);
    const [a] = this.attachedList.splice(i, 1);
    const driver = this.drivers.find((d) => d.name === a!.driver);
    try {
      await driver?.remove?.(a!.instance, a!.device);
    } finally {
      await a!.device.close();
    }
  }

  /** Detaches every device. */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (const a of [...this.attachedList].reverse()) {
      await this.detach(a.descriptor.address).catch((e: unknown) => errors.push(e));
    }
    if (errors.length > 0) throw errors[0];
  }

  private sourceFor(address: DeviceAddress, selection: DeviceSelection): BusSource | undefined {
    return this.sourceList.find((s) => !(selection.noPci && s.name === SYSFS_SOURCE) && s.handles(address));
  }
}

/**
 * A source's failure to open `address`, as the bus reports it: the address and the source named (a user who typed
 * the address learns where it was looked for), the source's error as the cause. An MdevPciError keeps its reason,
 * path and code; another source's error becomes reason "Source".
 */
function openFailure(address: DeviceAddress, source: string, e: unknown): MdevPciError {
  const why = e instanceof Error ? e.message : String(e);
  const own = isMdevPciError(e) ? e : undefined;
  return new MdevPciError(
    own?.reason ?? "Source",
    `cannot open ${formatAddress(address)} through the bus source "${source}": ${why}`,
    {
      cause: e,
      ...(own?.path === undefined ? {} : { path: own.path }),
      ...(own?.code === undefined ? {} : { code: own.code }),
    },
  );
}

const h4 = (n: number | undefined) => (n ?? 0).toString(16).padStart(4, "0");

function idText(d: DeviceDescriptor): string {
  return `${h4(d.vendorId)}:${h4(d.deviceId)} (${formatAddress(d.address)})`;
}
