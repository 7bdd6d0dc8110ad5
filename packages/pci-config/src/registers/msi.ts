/** MSI capability (offsets relative to the capability). Layout depends on 64BIT and MASKBIT. */
export const PciMsi = {
  FLAGS: 0x02, // u16 Message Control
  ADDRESS_LO: 0x04, // u32
  ADDRESS_HI: 0x08, // u32, 64-bit only
  DATA_32: 0x08, // u16
  DATA_64: 0x0c,
  MASK_32: 0x0c, // u32, per-vector masking only
  MASK_64: 0x10,
  PENDING_32: 0x10, // u32
  PENDING_64: 0x14,
  FLAGS_ENABLE: 0x0001,
  FLAGS_QMASK: 0x000e, // Multiple Message Capable, log2 of vectors
  FLAGS_QSIZE: 0x0070, // Multiple Message Enable, log2 of vectors
  FLAGS_64BIT: 0x0080,
  FLAGS_MASKBIT: 0x0100,
} as const;

/** Size in bytes of an MSI capability with the given layout. */
export function msiCapabilitySize(address64: boolean, perVectorMask: boolean): number {
  return (address64 ? 14 : 10) + (perVectorMask ? 10 : 0);
}
