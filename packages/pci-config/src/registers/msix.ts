/** MSI-X capability (offsets relative to the capability) and table-entry layout. */
export const PciMsix = {
  FLAGS: 0x02, // u16 Message Control
  TABLE: 0x04, // u32: BIR (bits 0-2) | offset
  PBA: 0x08, // u32: BIR | offset
  SIZEOF: 12,
  FLAGS_QSIZE: 0x07ff, // table size - 1
  FLAGS_MASKALL: 0x4000,
  FLAGS_ENABLE: 0x8000,
  BIR_MASK: 0x7,
  OFFSET_MASK: 0xfffffff8,
  ENTRY_SIZE: 16,
  ENTRY_LOWER_ADDR: 0x0,
  ENTRY_UPPER_ADDR: 0x4,
  ENTRY_DATA: 0x8,
  ENTRY_VECTOR_CTRL: 0xc,
  ENTRY_CTRL_MASKBIT: 0x1,
  MAX_VECTORS: 2048,
} as const;
