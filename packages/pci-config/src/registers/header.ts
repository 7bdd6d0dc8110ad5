/**
 * PCI configuration-space register offsets and bit names (PCI Local Bus 3.0 / PCI Express Base), as plain
 * `const` objects: the sizes of config space and the type-0 header with its COMMAND, STATUS, BAR and ROM bits.
 * Offsets are from the start of config space. Config space is little-endian whatever the host.
 */

/** Size of conventional config space and of PCI Express (extended) config space. */
export const PCI_CONFIG_SPACE_SIZE = 256;
export const PCIE_CONFIG_SPACE_SIZE = 4096;
/** Standard capabilities live between the end of the header and 0xff; extended ones from 0x100. */
export const PCI_STD_HEADER_SIZE = 0x40;
export const PCI_EXT_CAP_START = 0x100;

/** Type-0 (endpoint) header. */
export const PciHeader = {
  VENDOR_ID: 0x00, // u16
  DEVICE_ID: 0x02, // u16
  COMMAND: 0x04, // u16
  STATUS: 0x06, // u16
  REVISION_ID: 0x08, // u8
  CLASS_PROG: 0x09, // u8: programming interface
  CLASS_DEVICE: 0x0a, // u8: sub-class
  CLASS_BASE: 0x0b, // u8: base class
  CACHE_LINE_SIZE: 0x0c, // u8
  LATENCY_TIMER: 0x0d, // u8
  HEADER_TYPE: 0x0e, // u8: bits 0-6 layout, bit 7 multi-function
  BIST: 0x0f, // u8
  BAR0: 0x10, // 6 x u32 (0x10..0x27)
  CARDBUS_CIS: 0x28, // u32
  SUBSYSTEM_VENDOR_ID: 0x2c, // u16
  SUBSYSTEM_ID: 0x2e, // u16
  ROM_ADDRESS: 0x30, // u32
  CAPABILITY_LIST: 0x34, // u8
  INTERRUPT_LINE: 0x3c, // u8
  INTERRUPT_PIN: 0x3d, // u8: 0 none, 1..4 = INTA#..INTD#
  MIN_GNT: 0x3e, // u8
  MAX_LAT: 0x3f, // u8
} as const;

/** Offset of BAR `index` (0..5) in a type-0 header. */
export function barOffset(index: number): number {
  return PciHeader.BAR0 + 4 * index;
}

export const PciHeaderType = {
  LAYOUT_MASK: 0x7f,
  NORMAL: 0x00,
  BRIDGE: 0x01,
  CARDBUS: 0x02,
  MULTI_FUNCTION: 0x80,
} as const;

/** COMMAND register bits. */
export const PciCommand = {
  IO: 0x0001,
  MEMORY: 0x0002,
  MASTER: 0x0004, // bus master
  SPECIAL: 0x0008,
  INVALIDATE: 0x0010,
  VGA_PALETTE: 0x0020,
  PARITY: 0x0040,
  WAIT: 0x0080,
  SERR: 0x0100,
  FAST_BACK: 0x0200,
  INTX_DISABLE: 0x0400,
} as const;

/** STATUS register bits (the error bits are RW1C). */
export const PciStatus = {
  IMM_READY: 0x0001,
  INTERRUPT: 0x0008, // INTx asserted (read-only)
  CAP_LIST: 0x0010,
  MHZ66: 0x0020,
  FAST_BACK: 0x0080,
  MASTER_DATA_PARITY: 0x0100,
  DEVSEL_MASK: 0x0600,
  SIG_TARGET_ABORT: 0x0800,
  REC_TARGET_ABORT: 0x1000,
  REC_MASTER_ABORT: 0x2000,
  SIG_SYSTEM_ERROR: 0x4000,
  DETECTED_PARITY: 0x8000,
  /** Every RW1C error bit. */
  ERROR_BITS: 0xf900,
} as const;

/** Base Address Register low bits. */
export const PciBar = {
  SPACE_IO: 0x1,
  MEM_TYPE_MASK: 0x6,
  MEM_TYPE_32: 0x0,
  MEM_TYPE_1M: 0x2, // legacy "below 1 MiB"
  MEM_TYPE_64: 0x4,
  MEM_PREFETCH: 0x8,
  MEM_ADDRESS_MASK: 0xfffffff0,
  IO_ADDRESS_MASK: 0xfffffffc,
} as const;

/** Expansion ROM base address register. */
export const PciRom = {
  ENABLE: 0x1,
  ADDRESS_MASK: 0xfffff800,
  MIN_SIZE: 2048,
} as const;
