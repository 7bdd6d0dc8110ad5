import type { PciConfigImage } from "./image.js";

/**
 * Applies a guest write to a config-space state (initially a copy of `image.bytes`): only bits in the write mask
 * change, and RW1C bits written as one are cleared. Bytes outside the space are ignored.
 */
export function applyConfigWrite(
  state: Uint8Array,
  image: Pick<PciConfigImage, "writeMask" | "w1cMask">,
  offset: number,
  data: Uint8Array,
): void {
  const wm = image.writeMask;
  const wc = image.w1cMask;
  const end = Math.min(state.length, offset + data.length);
  for (let o = Math.max(0, offset); o < end; o++) {
    const v = data[o - offset] as number;
    const m = wm[o] as number;
    state[o] = ((state[o] as number) & ~m & ~(v & (wc[o] as number))) | (v & m);
  }
}
