/**
 * Constants of `VFIO_DEVICE_FEATURE` (`<linux/vfio.h>`) that vfio-user's DEVICE_FEATURE reuses: the feature indices,
 * the op bits of the flags word, migration states and migration capability flags.
 */

/** Feature indices (bits 0–15 of the flags word) defined for vfio-user. */
export const DeviceFeature = {
  MIGRATION: 1,
  MIG_DEVICE_STATE: 2,
  DMA_LOGGING_START: 6,
  DMA_LOGGING_STOP: 7,
  DMA_LOGGING_REPORT: 8,
} as const;
export type DeviceFeature = (typeof DeviceFeature)[keyof typeof DeviceFeature];

/** Bits of the DEVICE_FEATURE flags word. */
export const DeviceFeatureFlags = {
  /** Bits 0–15: the feature index. */
  MASK: 0xffff,
  GET: 1 << 16,
  SET: 1 << 17,
  /** Succeeds only if the feature (and every op also named) is supported; carries no data. */
  PROBE: 1 << 18,
} as const;

/** `enum vfio_device_mig_state`, the `device_state` of MIG_DEVICE_STATE. */
export const MigrationState = {
  ERROR: 0,
  STOP: 1,
  RUNNING: 2,
  STOP_COPY: 3,
  RESUMING: 4,
  /** Not used by vfio-user. */
  RUNNING_P2P: 5,
  PRE_COPY: 6,
  /** Not used by vfio-user. */
  PRE_COPY_P2P: 7,
} as const;
export type MigrationState = (typeof MigrationState)[keyof typeof MigrationState];

/** The u64 `flags` returned by GET MIGRATION. */
export const MigrationFlags = {
  STOP_COPY: 1n << 0n,
  P2P: 1n << 1n,
  PRE_COPY: 1n << 2n,
} as const;

/** Builds a DEVICE_FEATURE flags word from a feature index and op bits. */
export function deviceFeatureFlags(feature: number, ops: number): number {
  return ((feature & DeviceFeatureFlags.MASK) | ops) >>> 0;
}
