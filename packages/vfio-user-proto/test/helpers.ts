import { type Frame, FrameParser } from "@emu/vfio-user-proto";

/**
 * Hex bytes written by hand: whitespace is ignored and `#` starts a comment that runs to the end of the line.
 * Interpolated values must be hex strings (see {@link ascii}).
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

/** The ASCII/UTF-8 bytes of a string, as hex for {@link h}. */
export function ascii(s: string): string {
  return toHex(new TextEncoder().encode(s));
}

export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface Chunk {
  readonly bytes: Uint8Array;
  readonly fds?: readonly number[];
}

/** Pushes every chunk (pulling after each push, like a socket handler) and returns all frames. Throws on errors. */
export function parseChunks(chunks: readonly Chunk[], parser = new FrameParser()): Frame[] {
  const frames: Frame[] = [];
  for (const c of chunks) {
    const err = parser.push(c.bytes, c.fds);
    if (err !== undefined) throw err;
    for (let f = parser.next(); f !== undefined; f = parser.next()) frames.push(f);
  }
  return frames;
}

/** Cuts `stream` at the given offsets (sorted, deduplicated, inside 1..len-1). */
export function cut(stream: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < stream.length))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(stream.subarray(prev, p));
    prev = p;
  }
  out.push(stream.subarray(prev));
  return out;
}

/**
 * Chunks a stream of frames the way a kernel AF_UNIX SOCK_STREAM recvmsg can deliver it: arbitrary cuts, except that
 * a read never continues past the end of a message that carried fds, and those fds arrive with the chunk holding the
 * message's first byte.
 */
export class KernelStream {
  readonly stream: Uint8Array;
  private readonly starts: number[] = [];
  private readonly forced: number[] = [];

  constructor(readonly frames: readonly { bytes: Uint8Array; fds: readonly number[] }[]) {
    this.stream = concat(frames.map((f) => f.bytes));
    let at = 0;
    for (const f of frames) {
      this.starts.push(at);
      at += f.bytes.length;
      if (f.fds.length > 0) this.forced.push(at);
    }
  }

  chunks(cuts: readonly number[]): Chunk[] {
    const pieces = cut(this.stream, [...cuts, ...this.forced]);
    const chunks: Chunk[] = [];
    let pos = 0;
    let fi = 0;
    for (const p of pieces) {
      const fds: number[] = [];
      while (fi < this.frames.length && (this.starts[fi] as number) < pos + p.length) {
        fds.push(...(this.frames[fi] as { fds: readonly number[] }).fds);
        fi++;
      }
      chunks.push(fds.length > 0 ? { bytes: p, fds } : { bytes: p });
      pos += p.length;
    }
    return chunks;
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A small deterministic PRNG (mulberry32) for reproducible random splits. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
