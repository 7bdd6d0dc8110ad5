// The small formatting helpers every part of the lspci view uses.

export const hex = (n: number | bigint, w: number): string => n.toString(16).padStart(w, "0");
export const pm = (b: boolean): string => (b ? "+" : "-");

/** lspci's `[size=...]`: the largest of K/M/G/T that divides the size. */
export function showSize(x: bigint): string {
  if (x === 0n) return "";
  const suffix = ["", "K", "M", "G", "T"];
  let i = 0;
  while (i < suffix.length - 1 && x % 1024n === 0n) {
    x /= 1024n;
    i++;
  }
  return ` [size=${x}${suffix[i]}]`;
}
