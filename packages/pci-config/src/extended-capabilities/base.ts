import { PciExtCapId } from "../registers/capability-ids.js";

/** What every decoded extended capability has. */
export interface ExtendedCapabilityBase {
  readonly id: number;
  /** Short identifier: the `PciExtCapId` key ("ERR", "DSN", ...) or `ext cap 0xNNNN`. */
  readonly name: string;
  /** What lspci calls it ("Advanced Error Reporting", ...); undefined for ids lspci does not know. */
  readonly title: string | undefined;
  readonly version: number;
  readonly offset: number;
  readonly next: number;
}

const EXT_CAP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(PciExtCapId).map(([k, v]) => [v, k]));

/** Name of an extended capability id ("ERR", "DSN", ...) or `ext cap 0xNNNN`. */
export function extendedCapabilityName(id: number): string {
  return EXT_CAP_NAMES[id] ?? `ext cap 0x${id.toString(16).padStart(4, "0")}`;
}
