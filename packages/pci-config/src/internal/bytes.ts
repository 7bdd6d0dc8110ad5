// Little-endian field access on config-space bytes (PCI config space is little-endian on every host).
// Reads past the end return 0 so a decoder of truncated or hostile bytes cannot throw.

export function rd8(b: Uint8Array, o: number): number {
  return o >= 0 && o < b.length ? (b[o] as number) : 0;
}

export function rd16(b: Uint8Array, o: number): number {
  return rd8(b, o) | (rd8(b, o + 1) << 8);
}

export function rd32(b: Uint8Array, o: number): number {
  return (rd16(b, o) | (rd16(b, o + 2) << 16)) >>> 0;
}

export function wr8(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
}

export function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

export function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

/** ORs `v` into the 16-bit field at `o`. */
export function or16(b: Uint8Array, o: number, v: number): void {
  wr16(b, o, rd16(b, o) | v);
}
