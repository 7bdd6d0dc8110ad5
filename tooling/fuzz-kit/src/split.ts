// How a stream of bytes is cut into sends: whole, at random points, byte by byte, or inside a header. A stream peer
// must find the same messages whichever way the bytes arrive.
import type { Rng } from "./rng.js";

export type SplitStyle = "whole" | "random" | "bytes" | "header";

/** The style of one send, weighted toward the cheap ones (byte by byte is a syscall per byte). */
export function splitStyle(rng: Rng): SplitStyle {
  return rng.weighted<SplitStyle>([
    [73, "whole"],
    [20, "random"],
    [6, "header"],
    [1, "bytes"],
  ]);
}

/**
 * The lengths of the pieces `length` bytes are sent in (they sum to `length`; none is empty). "header" cuts inside the
 * first `headerSize` bytes (the other side must wait for the rest of a header); "bytes" is capped at `maxBytewise`
 * pieces of one byte, the rest going whole.
 */
export function splitLengths(rng: Rng, length: number, style: SplitStyle, headerSize = 16, maxBytewise = 20): number[] {
  if (length <= 1 || style === "whole") return [length];
  if (style === "bytes") {
    const n = Math.min(length, maxBytewise);
    const out = new Array<number>(n).fill(1);
    if (length > n) out.push(length - n);
    return out;
  }
  if (style === "header") {
    const cut = rng.range(1, Math.min(headerSize, length) - 1 || 1);
    return cut >= length ? [length] : [cut, length - cut];
  }
  const pieces = rng.range(2, Math.min(8, length));
  const points = new Set<number>();
  while (points.size < pieces - 1) points.add(rng.range(1, length - 1));
  const sorted = [...points].sort((x, y) => x - y);
  const out: number[] = [];
  let prev = 0;
  for (const p of sorted) {
    out.push(p - prev);
    prev = p;
  }
  out.push(length - prev);
  return out;
}
