import { PciCapId } from "../registers/capability-ids.js";

// What every standard capability decoder shares: the decoded header, the function's identity, the length check.

/** What every decoded standard capability has. */
export interface CapabilityBase {
  readonly id: number;
  /** Short identifier: the `PciCapId` key ("PM", "MSI", "EXP", ...) or `cap 0xNN`. */
  readonly name: string;
  /** What lspci calls it ("Power Management", "Express", ...); undefined for ids lspci does not know. */
  readonly title: string | undefined;
  readonly offset: number;
  /** Next pointer as read (low two bits ignored). */
  readonly next: number;
  /** The 16 bits after the id and next bytes (the capability-specific "flags" word lspci passes around). */
  readonly word: number;
}

/** The function's identity, for capabilities whose layout depends on it (virtio vendor capabilities). */
export interface CapabilityContext {
  readonly vendorId: number;
  readonly deviceId: number;
}

/** Reports the capability as running past config space when `length` bytes from its start do not fit. */
export type RequireLength = (length: number) => void;

const CAP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(PciCapId).map(([k, v]) => [v, k]));

/** Name of a standard capability id ("MSI", "EXP", ...) or `cap 0xNN`. */
export function capabilityName(id: number): string {
  return CAP_NAMES[id] ?? `cap 0x${id.toString(16).padStart(2, "0")}`;
}
