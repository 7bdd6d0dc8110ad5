// Seeded randomness: every choice a fuzz run makes comes from one of these, so a seed replays a run, and a session's
// own stream (`Rng.derive(seed, session)`) replays one session without the ones before it.

/** splitmix32: spreads a seed over the state words. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff] as const;
const INTERESTING_16 = [0, 1, 0x7fff, 0x8000, 0xffff, 0x1000, 16, 0x100] as const;
const INTERESTING_32 = [
  0, 1, 2, 4, 8, 15, 16, 17, 24, 32, 0xff, 0x1000, 0xfff, 0x1001, 0x10000, 0x100000, 0x100010, 0x7fffffff, 0x80000000,
  0xfffffff0, 0xffffffff,
] as const;
const INTERESTING_64 = [
  0n,
  1n,
  0x1000n,
  0xfffn,
  0x100000000n,
  0xffffffffn,
  1n << 43n, // 8 TiB: libvfio-user's MAX_DMA_SIZE
  (1n << 63n) - 1n,
  1n << 63n,
  (1n << 64n) - 0x1000n,
  (1n << 64n) - 1n,
] as const;

/** sfc32: small, fast, and good enough for choosing test inputs (not for anything secret). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const st = { s: seed | 0 };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st) | 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** An independent stream for `seed` and the given indexes (e.g. a session number). */
  static derive(seed: number, ...stream: number[]): Rng {
    let s = seed | 0;
    for (const n of stream) {
      const st = { s: (s ^ Math.imul(n + 1, 0x27d4eb2d)) | 0 };
      s = splitmix32(st) ^ splitmix32(st);
    }
    return new Rng(s);
  }

  /** An independent stream seeded from this one (for choices made in an order this stream does not control). */
  fork(): Rng {
    return new Rng(this.u32());
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [0, n) (n ≤ 2^32). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** One of `choices`, each with its weight. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of choices) total += w;
    let r = this.float() * total;
    for (const [w, v] of choices) {
      r -= w;
      if (r < 0) return v;
    }
    return (choices[choices.length - 1] as readonly [number, T])[1];
  }

  /** A size spread over orders of magnitude: as likely in 1..9 as in 10..99, up to `max`. */
  size(max: number): number {
    const digits = Math.log10(max + 1);
    return Math.min(max, Math.floor(10 ** (this.float() * digits)));
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const v = this.u32();
      out[i] = v;
      out[i + 1] = v >>> 8;
      out[i + 2] = v >>> 16;
      out[i + 3] = v >>> 24;
    }
    for (; i < n; i++) out[i] = this.u32();
    return out;
  }

  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }

  /** Boundary values that break parsers: 0, 1, powers of two and their neighbours, the type's maximum. */
  interesting8(): number {
    return this.pick(INTERESTING_8);
  }

  interesting16(): number {
    return this.pick(INTERESTING_16);
  }

  interesting32(): number {
    return this.pick(INTERESTING_32);
  }

  interesting64(): bigint {
    return this.pick(INTERESTING_64);
  }

  /** A u32 field: `plausible` but for a share `odd` (default 0.4) of boundary values, anything, or near misses. */
  field32(plausible: number, odd = 0.4): number {
    if (!this.chance(odd)) return plausible;
    return this.weighted<() => number>([
      [2, () => this.interesting32()],
      [1, () => this.u32()],
      [1, () => (plausible + this.range(-16, 16)) >>> 0],
    ])();
  }

  /** A u64 field, as `field32`. */
  field64(plausible: bigint, odd = 0.4): bigint {
    if (!this.chance(odd)) return plausible;
    return this.weighted<() => bigint>([
      [2, () => this.interesting64()],
      [1, () => this.u64()],
      [1, () => BigInt.asUintN(64, plausible + BigInt(this.range(-4096, 4096)))],
    ])();
  }
}
