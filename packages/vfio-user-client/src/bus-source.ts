import { pciClassName } from "@emu/pci-config";
import {
  type BusSource,
  type DeviceAddress,
  type DeviceDescriptor,
  pciIdsFromConfig,
  type VfioDevice,
} from "@emu/vfio-device";
import { PciRegion } from "@emu/vfio-user-proto";
import { VfioUserClient } from "./client.js";
import { invalid, isVfioUserClientError, VfioUserClientError } from "./errors.js";
import type { VfioUserConnectOptions } from "./negotiation.js";

export interface VfioUserBusSourceOptions {
  /** The sockets to list, as the application was told them (devargs, command line). */
  readonly sockets: readonly string[];
  /** Also open vfio-user addresses that are not in `sockets` (default false: only the listed ones). */
  readonly openAny?: boolean;
  /** Options for every connection (scan and open). */
  readonly connect?: VfioUserConnectOptions;
  /** Called for a socket that could not be scanned (the scan goes on without it). */
  readonly onScanError?: (socketPath: string, err: VfioUserClientError) => void;
}

/**
 * A `BusSource` for vfio-user devices: the sockets an application names. `scan()` connects to each, reads the IDs
 * and class from config space, and disconnects; `open()` connects and hands back the `VfioUserClient` as a
 * `VfioDevice`. The PCI bus of `@emu/mdev-pci` lists these next to its sysfs devices without depending on this package.
 */
export class VfioUserBusSource implements BusSource {
  readonly name = "vfio-user";
  private readonly sockets: readonly string[];
  private readonly options: VfioUserBusSourceOptions;

  constructor(options: VfioUserBusSourceOptions) {
    if (!Array.isArray(options?.sockets) || options.sockets.some((s) => typeof s !== "string" || s === ""))
      throw invalid("sockets must be an array of socket paths");
    this.sockets = [...options.sockets];
    this.options = options;
  }

  handles(address: DeviceAddress): boolean {
    return address.kind === "vfio-user" && (this.options.openAny === true || this.sockets.includes(address.socketPath));
  }

  async scan(): Promise<readonly DeviceDescriptor[]> {
    const found = await Promise.all(this.sockets.map((s) => this.describe(s)));
    return found.filter((d): d is DeviceDescriptor => d !== undefined);
  }

  private async describe(socketPath: string): Promise<DeviceDescriptor | undefined> {
    let client: VfioUserClient | undefined;
    try {
      client = await VfioUserClient.connect(socketPath, this.options.connect);
      const cfg = await client.regionRead(PciRegion.CONFIG, 0n, 64);
      const d = pciIdsFromConfig(cfg);
      if (!d.ok) throw new VfioUserClientError("Protocol", `config space of ${socketPath}: ${d.error.message}`);
      const ids = d.value;
      return {
        address: { kind: "vfio-user", socketPath },
        source: this.name,
        ...ids,
        description: pciClassName(ids.classCode),
      };
    } catch (e) {
      const err = isVfioUserClientError(e)
        ? e
        : new VfioUserClientError("Protocol", `scanning ${socketPath}: ${(e as Error).message}`, { cause: e });
      this.options.onScanError?.(socketPath, err);
      return undefined;
    } finally {
      await client?.close();
    }
  }

  async open(address: DeviceAddress): Promise<VfioDevice> {
    if (!this.handles(address))
      throw invalid(
        `the vfio-user source was not given ${address.kind === "vfio-user" ? address.socketPath : address.kind}`,
      );
    return VfioUserClient.connect((address as { socketPath: string }).socketPath, this.options.connect);
  }
}
