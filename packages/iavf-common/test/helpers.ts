/**
 * Hex bytes written by hand: whitespace is ignored and `#` starts a comment that runs to the end of the line.
 */
export function h(strings: TemplateStringsArray, ...values: string[]): Uint8Array {
  const text = String.raw({ raw: strings }, ...values);
  const hex = text
    .split("\n")
    .map((line) => line.replace(/#.*$/, ""))
    .join("")
    .replace(/\s+/g, "");
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`not hex: ${hex}`);
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** `n` zero bytes as hex, for padding and placeholder elements. */
export const zeros = (n: number): string => "00".repeat(n);
