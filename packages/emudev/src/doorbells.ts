// Doorbells: where the guest tells the device a queue has work. Memory doorbells live in a region backed by shared
// memory (a sparse-mmap area of a BAR): the guest's store lands there and the data path polls it, no message.
import { EmudevError } from "./errors.js";

/** A doorbell as the driver declares it: a range of a region described with `memory: true`. */
export interface DoorbellDescription {
  readonly id: number;
  readonly region: number;
  readonly offset: number;
  /** Bytes (1, 2, 4 or 8). */
  readonly size: 1 | 2 | 4 | 8;
}

/** A doorbell as a data path polls it (the seeds' `MEM` doorbell). */
export interface DoorbellInfo extends DoorbellDescription {
  readonly kind: "memory";
  /** The doorbell's bytes in the region's shared memory (little-endian); the guest's writes appear here. */
  readonly bytes: Uint8Array;
}

/** Resolves a declared doorbell against the region memory of a running device. */
export function doorbellInfo(d: DoorbellDescription, memory: Uint8Array | undefined): DoorbellInfo {
  if (memory === undefined)
    throw new EmudevError("UnknownResource", `doorbell ${d.id}: region ${d.region} has no shared memory`);
  if (!Number.isSafeInteger(d.offset) || d.offset < 0 || d.offset + d.size > memory.length)
    throw new EmudevError(
      "UnknownResource",
      `doorbell ${d.id}: ${d.offset}+${d.size} is outside region ${d.region} (${memory.length} bytes)`,
    );
  return { ...d, kind: "memory", bytes: memory.subarray(d.offset, d.offset + d.size) };
}
