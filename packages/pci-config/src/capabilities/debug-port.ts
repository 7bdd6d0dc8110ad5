import type { CapabilityBase } from "./base.js";

/** Debug port (EHCI). */
export interface DecodedDebugPort extends CapabilityBase {
  readonly kind: "debug-port";
  /** The BAR (1..6 as the EHCI spec numbers them) and the offset of the debug port's registers in it. */
  readonly bar: number;
  readonly barOffset: number;
}

export function decodeDebugPort(base: CapabilityBase): DecodedDebugPort {
  const word = base.word;
  return { ...base, kind: "debug-port", bar: word >> 13, barOffset: word & 0x1fff };
}
