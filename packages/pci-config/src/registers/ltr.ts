/** Latency Tolerance Reporting extended capability: two latency registers, value (10 bits) and scale (3 bits). */
export const PciLtr = {
  MAX_SNOOP: 0x04, // u16
  MAX_NOSNOOP: 0x06, // u16
  VALUE_MASK: 0x03ff,
  SCALE_MASK: 0x1c00, // the value is in units of 2^(5 * scale) ns
  SCALE_SHIFT: 10,
} as const;
