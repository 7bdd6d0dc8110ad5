// Byte-level mutation of one input, AFL-style: flip bits, overwrite bytes and little-endian words with boundary
// values, nudge words, insert, delete, duplicate, truncate, extend, splice from another input. Structure-aware callers
// choose what to protect (e.g. a header's size field) and fix lengths afterwards.
import type { Rng } from "./rng.js";

export interface MutateOptions {
  /** Mutations applied (default 1..4). */
  readonly count?: number;
  /** Leading bytes left alone (default 0). */
  readonly keep?: number;
  /** Inputs to splice from. */
  readonly donors?: readonly Uint8Array[];
  /** Size the result may grow to (default input length + 64). */
  readonly maxLength?: number;
}

type Op = (rng: Rng, b: Uint8Array, keep: number, o: MutateOptions, max: number) => Uint8Array;

const at = (rng: Rng, b: Uint8Array, keep: number, width: number): number =>
  b.length - keep < width ? -1 : keep + rng.int(b.length - keep - width + 1);

const flipBit: Op = (rng, b, keep) => {
  const i = at(rng, b, keep, 1);
  if (i >= 0) b[i] = (b[i] as number) ^ (1 << rng.int(8));
  return b;
};

const setByte: Op = (rng, b, keep) => {
  const i = at(rng, b, keep, 1);
  if (i >= 0) b[i] = rng.chance(0.5) ? rng.interesting8() : rng.u32();
  return b;
};

const setWord: Op = (rng, b, keep) => {
  const width = rng.pick([2, 4, 8] as const);
  const i = at(rng, b, keep, width);
  if (i < 0) return b;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (width === 2) v.setUint16(i, rng.interesting16(), true);
  else if (width === 4) v.setUint32(i, rng.interesting32(), true);
  else v.setBigUint64(i, rng.interesting64(), true);
  return b;
};

const nudgeWord: Op = (rng, b, keep) => {
  const i = at(rng, b, keep, 4);
  if (i < 0) return b;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setUint32(i, (v.getUint32(i, true) + rng.range(-35, 35)) >>> 0, true);
  return b;
};

const insert: Op = (rng, b, keep, _o, max) => {
  const n = Math.min(rng.range(1, 32), max - b.length);
  if (n <= 0) return b;
  const i = keep + rng.int(b.length - keep + 1);
  const out = new Uint8Array(b.length + n);
  out.set(b.subarray(0, i));
  out.set(rng.chance(0.5) ? rng.bytes(n) : new Uint8Array(n).fill(rng.interesting8()), i);
  out.set(b.subarray(i), i + n);
  return out;
};

const remove: Op = (rng, b, keep) => {
  if (b.length <= keep) return b;
  const i = keep + rng.int(b.length - keep);
  const n = rng.range(1, Math.min(32, b.length - i));
  const out = new Uint8Array(b.length - n);
  out.set(b.subarray(0, i));
  out.set(b.subarray(i + n), i);
  return out;
};

const duplicate: Op = (rng, b, keep, _o, max) => {
  if (b.length <= keep) return b;
  const i = keep + rng.int(b.length - keep);
  const n = Math.min(rng.range(1, Math.min(64, b.length - i)), max - b.length);
  if (n <= 0) return b;
  const out = new Uint8Array(b.length + n);
  out.set(b.subarray(0, i + n));
  out.set(b.subarray(i, i + n), i + n);
  out.set(b.subarray(i + n), i + 2 * n);
  return out;
};

const truncate: Op = (rng, b, keep) => (b.length <= keep ? b : b.slice(0, keep + rng.int(b.length - keep)));

const extend: Op = (rng, b, _keep, _o, max) => {
  const n = Math.min(rng.size(256), max - b.length);
  if (n <= 0) return b;
  const out = new Uint8Array(b.length + n);
  out.set(b);
  out.set(rng.bytes(n), b.length);
  return out;
};

const splice: Op = (rng, b, keep, o, max) => {
  const donors = o.donors;
  if (donors === undefined || donors.length === 0) return setWord(rng, b, keep, o, max);
  const d = rng.pick(donors);
  if (d.length === 0) return b;
  const from = rng.int(d.length);
  const n = rng.range(1, Math.min(64, d.length - from));
  const i = at(rng, b, keep, n);
  if (i < 0) return b;
  b.set(d.subarray(from, from + n), i);
  return b;
};

const OPS: readonly (readonly [number, Op])[] = [
  [4, flipBit],
  [3, setByte],
  [5, setWord],
  [2, nudgeWord],
  [1, insert],
  [1, remove],
  [1, duplicate],
  [1, truncate],
  [1, extend],
  [2, splice],
];

/** A mutated copy of `input` (the input is not changed). */
export function mutate(rng: Rng, input: Uint8Array, options: MutateOptions = {}): Uint8Array {
  const keep = Math.min(options.keep ?? 0, input.length);
  const max = options.maxLength ?? input.length + 64;
  let b: Uint8Array = input.slice();
  const n = options.count ?? rng.range(1, 4);
  for (let i = 0; i < n; i++) b = rng.weighted(OPS)(rng, b, keep, options, max);
  return b;
}
