// The Toeplitz hash of receive-side scaling: for every set bit i of the input (most significant bit of its first
// byte first), the 32 bits of the key starting at key bit i are XORed into the result. A table per key turns it into
// one lookup per input byte (the key's 32-bit window for each byte position and byte value).

/** Longest input hashed: IPv6 source and destination addresses and the two ports. */
export const MAX_HASH_INPUT = 36;

/** The 32 key bits starting at bit `bit` (zero past the key's end). */
function window(key: Uint8Array, bit: number): number {
  const b = bit >>> 3;
  const s = bit & 7;
  const w = (((key[b] ?? 0) << 24) | ((key[b + 1] ?? 0) << 16) | ((key[b + 2] ?? 0) << 8) | (key[b + 3] ?? 0)) >>> 0;
  return s === 0 ? w : ((w << s) | ((key[b + 4] ?? 0) >>> (8 - s))) >>> 0;
}

/** A key made into lookup tables: `hash` of up to MAX_HASH_INPUT bytes without allocating. */
export class Toeplitz {
  /** table[pos * 256 + byte]: the XOR of the windows of the byte's set bits at input position `pos`. */
  readonly table = new Uint32Array(MAX_HASH_INPUT * 256);

  constructor(key: Uint8Array) {
    this.setKey(key);
  }

  setKey(key: Uint8Array): void {
    const t = this.table;
    for (let pos = 0; pos < MAX_HASH_INPUT; pos++) {
      const w = new Uint32Array(8);
      for (let b = 0; b < 8; b++) w[b] = window(key, pos * 8 + b);
      for (let v = 0; v < 256; v++) {
        let h = 0;
        for (let b = 0; b < 8; b++) if ((v & (0x80 >>> b)) !== 0) h ^= w[b]!;
        t[pos * 256 + v] = h >>> 0;
      }
    }
  }

  /** The hash of bytes[a, a + alen) followed by bytes[b, b + blen) (blen may be 0); alen + blen ≤ 36. */
  hash(bytes: Uint8Array, a: number, alen: number, b = 0, blen = 0): number {
    const t = this.table;
    // IPv4 addresses and ports (what most frames hash) unrolled: about half the time of the loops below.
    if (alen === 8 && (blen === 4 || blen === 0)) {
      let h4 =
        t[bytes[a]!]! ^
        t[0x100 | bytes[a + 1]!]! ^
        t[0x200 | bytes[a + 2]!]! ^
        t[0x300 | bytes[a + 3]!]! ^
        t[0x400 | bytes[a + 4]!]! ^
        t[0x500 | bytes[a + 5]!]! ^
        t[0x600 | bytes[a + 6]!]! ^
        t[0x700 | bytes[a + 7]!]!;
      if (blen === 4)
        h4 ^= t[0x800 | bytes[b]!]! ^ t[0x900 | bytes[b + 1]!]! ^ t[0xa00 | bytes[b + 2]!]! ^ t[0xb00 | bytes[b + 3]!]!;
      return h4 >>> 0;
    }
    let h = 0;
    for (let i = 0; i < alen; i++) h ^= t[(i << 8) | bytes[a + i]!]!;
    for (let i = 0; i < blen; i++) h ^= t[((alen + i) << 8) | bytes[b + i]!]!;
    return h >>> 0;
  }
}
