import { MdevPciError } from "./errors.js";

const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ANY_CASE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Whether `text` is a UUID exactly as sysfs names an mdev (lower case, 8-4-4-4-12). */
export function isCanonicalUuid(text: string): boolean {
  return CANONICAL.test(text);
}

/**
 * A UUID as a user may type it (any case, surrounding blanks) in the kernel's canonical lower-case form; anything
 * else is a BadUuid error that shows what was given.
 */
export function parseUuid(text: string): string {
  const s = text.trim();
  if (!ANY_CASE.test(s)) {
    throw new MdevPciError(
      "BadUuid",
      `${JSON.stringify(text)} is not a UUID (expected 8-4-4-4-12 hex digits, e.g. 83b8f4f2-509f-382f-3c1e-e6bfe0fa1001)`,
    );
  }
  return s.toLowerCase();
}

/** A random (version 4) UUID, for creating an mdev when the caller gives none. */
export function randomUuid(): string {
  return globalThis.crypto.randomUUID();
}
