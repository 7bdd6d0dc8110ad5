// MAC addresses as ports show them: 6 bytes, printed upper-case with colons as testpmd does.
import { randomFillSync } from "node:crypto";

/** "8A:EE:A0:15:C5:D7" */
export function formatMac(mac: Uint8Array): string {
  let s = "";
  for (let i = 0; i < 6; i++) s += (i ? ":" : "") + (mac[i] ?? 0).toString(16).padStart(2, "0").toUpperCase();
  return s;
}

/** A random locally administered unicast address (what a software port without a given MAC uses). */
export function randomMac(): Uint8Array {
  const m = new Uint8Array(6);
  randomFillSync(m);
  m[0] = ((m[0] ?? 0) & 0xfe) | 0x02;
  return m;
}
