// Field encodings the PCI Express registers share: latency upper bounds and power limits.

/** Upper bounds of the L0s latency encodings (acceptable and exit latencies), ns. */
export const L0S_NS = [64, 128, 256, 512, 1000, 2000, 4000, Number.POSITIVE_INFINITY];
/** Upper bounds of the L1 latency encodings, ns. */
export const L1_NS = [1000, 2000, 4000, 8000, 16000, 32000, 64000, Number.POSITIVE_INFINITY];
const POWER_SCALES = [1, 0.1, 0.01, 0.001];

/**
 * A PCIe power limit (Slot Power Limit Value and Scale, in DEVCAP and SLTCAP) in watts: value × scale, with the
 * extended encodings of scale 1.0x (0xF0..0xFE = 250..600 W, 0xFF = greater than 600 W, returned as Infinity).
 */
export function pciePowerLimitWatts(value: number, scale: number): number {
  if (scale === 0 && value === 0xff) return Number.POSITIVE_INFINITY;
  const v = scale === 0 && value >= 0xf0 ? 250 + 25 * (value - 0xf0) : value;
  return v * (POWER_SCALES[scale & 3] as number);
}
