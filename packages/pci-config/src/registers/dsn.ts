/** Device Serial Number extended capability: a 64-bit serial number in two dwords, low first. */
export const PciDsn = {
  LOW: 0x04,
  HIGH: 0x08,
  SIZEOF: 0x0c,
} as const;
