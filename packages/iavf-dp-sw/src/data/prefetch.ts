// Descriptor prefetch. The guest writes its descriptors from another CPU, so the device's first read of each cache
// line of them is a miss; read one by one as a burst is worked through, the misses stall the thread in turn (a
// profile of guest RX showed the first read of each posted descriptor as the hottest line). Reading one word of each
// line up front, in a loop with nothing else to do, lets the CPU overlap those misses.

const LINE = 64;

/**
 * Reads one word of each 64-byte line of descriptors [from, from + count) of a ring (as words) of `len` descriptors
 * of `size` bytes; returns a value the caller keeps (so the reads are not optimised away).
 */
export function touchDescriptors(w: Uint32Array, from: number, count: number, len: number, size: number): number {
  const step = LINE / size;
  const words = size >>> 2;
  let acc = 0;
  for (let k = 0; k < count; k += step) {
    let d = from + k;
    if (d >= len) d -= len;
    acc ^= w[d * words]!;
  }
  return acc;
}
