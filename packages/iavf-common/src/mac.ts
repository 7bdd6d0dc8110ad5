/** MAC addresses as text (`"02:00:00:00:00:01"`, lower case), the form every message of this package uses. */
import { IavfError } from "./errors.js";

const MAC_TEXT = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;

/** The 6 bytes at `at` of `bytes` as lower-case colon-separated text. */
export function formatMac(bytes: Uint8Array, at = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push((bytes[at + i] ?? 0).toString(16).padStart(2, "0"));
  return parts.join(":");
}

/** Writes `mac` (six hex pairs separated by colons) at `at` of `out`; throws an `OutOfRange` error otherwise. */
export function writeMac(out: Uint8Array, at: number, mac: string, opcode?: number): void {
  if (!MAC_TEXT.test(mac)) throw new IavfError("OutOfRange", `"${mac}" is not a MAC address`, opcode);
  const parts = mac.split(":");
  for (let i = 0; i < 6; i++) out[at + i] = Number.parseInt(parts[i] ?? "0", 16);
}
