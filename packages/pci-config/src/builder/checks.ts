import { PciConfigError } from "../errors.js";

// Checks of a description: each failure throws PciConfigError ("InvalidDescription").

export function invalid(message: string): never {
  throw new PciConfigError("InvalidDescription", message);
}

export function isPow2(n: bigint): boolean {
  return n > 0n && (n & (n - 1n)) === 0n;
}

export function checkInt(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) invalid(`${name} must be an integer in ${min}..${max}, got ${v}`);
}
