/**
 * PCI configuration-space register offsets and bit names (PCI Local Bus 3.0 / PCI Express Base), as plain
 * `const` objects. Offsets are from the start of config space unless a name says it is relative to a capability.
 * Config space is little-endian whatever the host.
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

/** Standard capability IDs (the byte at the capability's offset). */
export const PciCapId = {
  PM: 0x01,
  AGP: 0x02,
  VPD: 0x03,
  SLOTID: 0x04,
  MSI: 0x05,
  CHSWP: 0x06,
  PCIX: 0x07,
  HT: 0x08,
  VENDOR: 0x09,
  DBG: 0x0a,
  CCRC: 0x0b,
  SHPC: 0x0c,
  SSVID: 0x0d,
  AGP3: 0x0e,
  SECDEV: 0x0f,
  EXP: 0x10, // PCI Express
  MSIX: 0x11,
  SATA: 0x12,
  AF: 0x13,
  EA: 0x14,
  FPB: 0x15,
} as const;

/** Extended capability IDs (bits 0-15 of the 32-bit header at 0x100 and on). */
export const PciExtCapId = {
  ERR: 0x01, // Advanced Error Reporting
  VC: 0x02,
  DSN: 0x03, // Device Serial Number
  PWR: 0x04,
  RCLD: 0x05,
  RCILC: 0x06,
  RCEC: 0x07,
  MFVC: 0x08,
  VC9: 0x09,
  RCRB: 0x0a,
  VENDOR: 0x0b,
  CAC: 0x0c,
  ACS: 0x0d,
  ARI: 0x0e,
  ATS: 0x0f,
  SRIOV: 0x10,
  MRIOV: 0x11,
  MCAST: 0x12,
  PRI: 0x13,
  REBAR: 0x15,
  DPA: 0x16,
  TPH: 0x17,
  LTR: 0x18,
  SECPCI: 0x19,
  PMUX: 0x1a,
  PASID: 0x1b,
  DPC: 0x1d,
  L1SS: 0x1e,
  PTM: 0x1f,
  DVSEC: 0x23,
  DLF: 0x25,
  PL_16GT: 0x26,
} as const;

/** Extended capability header fields. */
export const PciExtCap = {
  ID_MASK: 0x0000ffff,
  VERSION_SHIFT: 16,
  VERSION_MASK: 0xf,
  NEXT_SHIFT: 20,
  NEXT_MASK: 0xffc, // low two bits reserved
} as const;

/** Power Management capability (offsets relative to the capability). */
export const PciPm = {
  PMC: 0x02, // u16, read-only
  PMCSR: 0x04, // u16
  PMCSR_BSE: 0x06, // u8
  DATA: 0x07, // u8
  SIZEOF: 8,
  PMC_VERSION_MASK: 0x0007,
  PMC_PME_CLOCK: 0x0008,
  PMC_DSI: 0x0020,
  PMC_AUX_CURRENT_MASK: 0x01c0,
  PMC_D1: 0x0200,
  PMC_D2: 0x0400,
  PMC_PME_SHIFT: 11, // 5 bits: PME# from D0, D1, D2, D3hot, D3cold
  PMC_PME_MASK: 0xf800,
  CSR_STATE_MASK: 0x0003, // D0..D3hot
  CSR_NO_SOFT_RESET: 0x0008,
  CSR_PME_ENABLE: 0x0100,
  CSR_DATA_SEL_MASK: 0x1e00,
  CSR_DATA_SCALE_MASK: 0x6000,
  CSR_PME_STATUS: 0x8000, // RW1C
} as const;

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

/** PCI Express capability, version 2 (offsets relative to the capability). */
export const PciExp = {
  FLAGS: 0x02, // u16 PCI Express Capabilities register
  DEVCAP: 0x04, // u32
  DEVCTL: 0x08, // u16
  DEVSTA: 0x0a, // u16
  LNKCAP: 0x0c, // u32
  LNKCTL: 0x10, // u16
  LNKSTA: 0x12, // u16
  SLTCAP: 0x14,
  SLTCTL: 0x18,
  SLTSTA: 0x1a,
  RTCTL: 0x1c,
  RTCAP: 0x1e,
  RTSTA: 0x20,
  DEVCAP2: 0x24, // u32
  DEVCTL2: 0x28, // u16
  DEVSTA2: 0x2a,
  LNKCAP2: 0x2c, // u32
  LNKCTL2: 0x30, // u16
  LNKSTA2: 0x32,
  SLTCAP2: 0x34,
  SLTCTL2: 0x38,
  SLTSTA2: 0x3a,
  SIZEOF_V2: 0x3c,
  /** Capability-register fields. */
  FLAGS_VERSION_MASK: 0x000f,
  FLAGS_TYPE_MASK: 0x00f0,
  FLAGS_TYPE_SHIFT: 4,
  FLAGS_SLOT: 0x0100,
  FLAGS_IRQ_MASK: 0x3e00,
  FLAGS_IRQ_SHIFT: 9,
  /** Device/port types (FLAGS bits 4-7). */
  TYPE_ENDPOINT: 0x0,
  TYPE_LEG_END: 0x1,
  TYPE_ROOT_PORT: 0x4,
  TYPE_UPSTREAM: 0x5,
  TYPE_DOWNSTREAM: 0x6,
  TYPE_PCI_BRIDGE: 0x7,
  TYPE_PCIE_BRIDGE: 0x8,
  TYPE_RC_END: 0x9,
  TYPE_RC_EC: 0xa,
  /** Device Capabilities. */
  DEVCAP_PAYLOAD_MASK: 0x00000007,
  DEVCAP_PHANTOM_MASK: 0x00000018,
  DEVCAP_EXT_TAG: 0x00000020,
  DEVCAP_L0S_MASK: 0x000001c0,
  DEVCAP_L1_MASK: 0x00000e00,
  DEVCAP_RBER: 0x00008000,
  DEVCAP_FLR: 0x10000000,
  /** Device Control. */
  DEVCTL_CERE: 0x0001,
  DEVCTL_NFERE: 0x0002,
  DEVCTL_FERE: 0x0004,
  DEVCTL_URRE: 0x0008,
  DEVCTL_RELAX_EN: 0x0010,
  DEVCTL_PAYLOAD_MASK: 0x00e0,
  DEVCTL_PAYLOAD_SHIFT: 5,
  DEVCTL_EXT_TAG: 0x0100,
  DEVCTL_PHANTOM: 0x0200,
  DEVCTL_AUX_PME: 0x0400,
  DEVCTL_NOSNOOP_EN: 0x0800,
  DEVCTL_READRQ_MASK: 0x7000,
  DEVCTL_READRQ_SHIFT: 12,
  DEVCTL_BCR_FLR: 0x8000, // Initiate Function Level Reset; always reads 0
  /** Device Status (error bits RW1C). */
  DEVSTA_CED: 0x0001,
  DEVSTA_NFED: 0x0002,
  DEVSTA_FED: 0x0004,
  DEVSTA_URD: 0x0008,
  DEVSTA_AUXPD: 0x0010,
  DEVSTA_TRPND: 0x0020,
  /** Link Capabilities. */
  LNKCAP_SLS_MASK: 0x0000000f, // max link speed (1 = 2.5 GT/s, 2 = 5, 3 = 8, 4 = 16, 5 = 32, 6 = 64)
  LNKCAP_MLW_MASK: 0x000003f0, // max link width
  LNKCAP_MLW_SHIFT: 4,
  LNKCAP_ASPMS_MASK: 0x00000c00,
  LNKCAP_ASPMS_SHIFT: 10,
  LNKCAP_PN_SHIFT: 24, // port number
  /** Link Control. */
  LNKCTL_ASPMC_MASK: 0x0003,
  LNKCTL_RCB: 0x0008,
  LNKCTL_CCC: 0x0040,
  LNKCTL_ES: 0x0080,
  /** Link Status. */
  LNKSTA_CLS_MASK: 0x000f,
  LNKSTA_NLW_MASK: 0x03f0,
  LNKSTA_NLW_SHIFT: 4,
  /** Link Capabilities 2: supported link speeds vector, bit n = speed n. */
  LNKCAP2_SLS_MASK: 0x000000fe,
  /** Device Control 2. */
  DEVCTL2_COMP_TIMEOUT_MASK: 0x000f,
  DEVCTL2_COMP_TMOUT_DIS: 0x0010,
  /** Link Control 2. */
  LNKCTL2_TLS_MASK: 0x000f,
} as const;

/** Link speeds (LNKCAP.SLS / LNKSTA.CLS encoding) in GT/s. */
export const PCIE_LINK_SPEEDS_GTS: readonly number[] = [0, 2.5, 5, 8, 16, 32, 64];
