// The VFQF_* registers (HENA, HKEY, HLUT) as views of the RSS state: one storage, as on hardware. Linux's iavf sets RSS
// through them when RSS_PF is not granted; whatever set the state (registers, virtchnl, the PF's default after a
// reset), the registers read it back.
import { vfqfHena, vfqfHkey, vfqfHlut } from "@emu/iavf-common";
import type { NicState } from "./nic-state.js";

/** A little-endian 32-bit word of `bytes` at `at`. */
function word(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16) | ((bytes[at + 3] ?? 0) << 24)) >>> 0
  );
}

/** The value a read of `offset` gives, or undefined: not an RSS register. */
export function readRssRegister(state: NicState, offset: number): number | undefined {
  if (offset === vfqfHena(0)) return Number(state.rssHena & 0xffff_ffffn);
  if (offset === vfqfHena(1)) return Number(state.rssHena >> 32n);
  if (offset >= vfqfHkey(0) && offset < vfqfHkey(13)) return word(state.rssKey, offset - vfqfHkey(0));
  if (offset >= vfqfHlut(0) && offset < vfqfHlut(16)) return word(state.rssLut, offset - vfqfHlut(0));
  return undefined;
}

/**
 * Takes a write the register file has stored (`reg` reads it back) into the RSS state; LUT entries are reduced to the
 * VF's queue pairs. True when `offset` was an RSS register (the state changed).
 */
export function writeRssRegister(
  state: NicState,
  offset: number,
  reg: (offset: number) => number,
  queuePairs: number,
): boolean {
  const bytes = (o: number) => [0, 1, 2, 3].map((b) => (reg(o) >>> (8 * b)) & 0xff);
  if (offset === vfqfHena(0) || offset === vfqfHena(1)) {
    state.rssHena = (BigInt(reg(vfqfHena(1))) << 32n) | BigInt(reg(vfqfHena(0)));
  } else if (offset >= vfqfHkey(0) && offset < vfqfHkey(13)) {
    state.rssKey.set(bytes(offset), offset - vfqfHkey(0));
  } else if (offset >= vfqfHlut(0) && offset < vfqfHlut(16)) {
    state.rssLut.set(
      bytes(offset).map((q) => q % queuePairs),
      offset - vfqfHlut(0),
    );
  } else return false;
  return true;
}
