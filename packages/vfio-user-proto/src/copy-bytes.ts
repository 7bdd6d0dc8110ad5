/**
 * `count` bytes of `src` from `from`, in a buffer of their own: for data read in place from a receive buffer that is
 * reused once the chunk is handled (a register's few bytes are copied without a call into the runtime).
 */
export function copyBytes(src: Uint8Array, from: number, count: number): Uint8Array {
  if (count > 64) return src.slice(from, from + count);
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = src[from + i] as number;
  return out;
}
