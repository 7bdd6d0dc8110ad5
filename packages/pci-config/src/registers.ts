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
  NULL: 0x00,
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
  LNR: 0x1c,
  DPC: 0x1d,
  L1SS: 0x1e,
  PTM: 0x1f,
  MPCIE: 0x20,
  FRS: 0x21,
  RTR: 0x22,
  DVSEC: 0x23,
  VF_REBAR: 0x24,
  DLF: 0x25,
  PL_16GT: 0x26,
  LMR: 0x27,
  HIER_ID: 0x28,
  NPEM: 0x29,
  DOE: 0x2e,
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
  BSE_B2_B3: 0x40, // PMCSR_BSE: a bridge entering D3hot puts its bus in B2 (1) or B3 (0)
  BSE_BPCC_EN: 0x80, // PMCSR_BSE: bus power/clock control enabled
  CSR_STATE_MASK: 0x0003, // D0..D3hot
  CSR_NO_SOFT_RESET: 0x0008,
  CSR_PME_ENABLE: 0x0100,
  CSR_DATA_SEL_MASK: 0x1e00,
  CSR_DATA_SEL_SHIFT: 9,
  CSR_DATA_SCALE_MASK: 0x6000,
  CSR_DATA_SCALE_SHIFT: 13,
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
  DEVCAP_PHANTOM_SHIFT: 3,
  DEVCAP_L0S_MASK: 0x000001c0, // endpoint L0s acceptable latency
  DEVCAP_L0S_SHIFT: 6,
  DEVCAP_L1_MASK: 0x00000e00, // endpoint L1 acceptable latency
  DEVCAP_L1_SHIFT: 9,
  DEVCAP_ATN_BUT: 0x00001000, // attention button present (PCIe 1.0 only)
  DEVCAP_ATN_IND: 0x00002000, // attention indicator present (PCIe 1.0 only)
  DEVCAP_PWR_IND: 0x00004000, // power indicator present (PCIe 1.0 only)
  DEVCAP_RBER: 0x00008000, // role-based error reporting
  DEVCAP_PWR_VAL_MASK: 0x03fc0000, // captured slot power limit value
  DEVCAP_PWR_VAL_SHIFT: 18,
  DEVCAP_PWR_SCL_MASK: 0x0c000000, // captured slot power limit scale
  DEVCAP_PWR_SCL_SHIFT: 26,
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
  LNKCAP_L0SEL_MASK: 0x00007000, // L0s exit latency
  LNKCAP_L0SEL_SHIFT: 12,
  LNKCAP_L1EL_MASK: 0x00038000, // L1 exit latency
  LNKCAP_L1EL_SHIFT: 15,
  LNKCAP_CLKPM: 0x00040000, // clock power management
  LNKCAP_SDERC: 0x00080000, // surprise down error reporting capable
  LNKCAP_DLLLARC: 0x00100000, // data link layer link active reporting capable
  LNKCAP_LBNC: 0x00200000, // link bandwidth notification capability
  LNKCAP_AOC: 0x00400000, // ASPM optionality compliance
  LNKCAP_PN_SHIFT: 24, // port number
  /** Link Control. */
  LNKCTL_ASPMC_MASK: 0x0003,
  LNKCTL_RCB: 0x0008,
  LNKCTL_LD: 0x0010, // link disable
  LNKCTL_RL: 0x0020, // retrain link (always reads 0)
  LNKCTL_CCC: 0x0040,
  LNKCTL_ES: 0x0080,
  LNKCTL_CLKREQ_EN: 0x0100, // enable clock power management
  LNKCTL_HAWD: 0x0200, // hardware autonomous width disable
  LNKCTL_LBMIE: 0x0400, // link bandwidth management interrupt enable
  LNKCTL_LABIE: 0x0800, // link autonomous bandwidth interrupt enable
  /** Link Status. */
  LNKSTA_CLS_MASK: 0x000f,
  LNKSTA_NLW_MASK: 0x03f0,
  LNKSTA_NLW_SHIFT: 4,
  LNKSTA_TRERR: 0x0400, // training error (obsolete since PCIe 1.1)
  LNKSTA_LT: 0x0800, // link training
  LNKSTA_SLC: 0x1000, // slot clock configuration
  LNKSTA_DLLLA: 0x2000, // data link layer link active
  LNKSTA_LBMS: 0x4000, // link bandwidth management status (RW1C)
  LNKSTA_LABS: 0x8000, // link autonomous bandwidth status (RW1C)
  /** Slot Capabilities. */
  SLTCAP_ABP: 0x00000001, // attention button present
  SLTCAP_PCP: 0x00000002, // power controller present
  SLTCAP_MRLSP: 0x00000004, // MRL sensor present
  SLTCAP_AIP: 0x00000008, // attention indicator present
  SLTCAP_PIP: 0x00000010, // power indicator present
  SLTCAP_HPS: 0x00000020, // hot-plug surprise
  SLTCAP_HPC: 0x00000040, // hot-plug capable
  SLTCAP_SPLV_MASK: 0x00007f80, // slot power limit value
  SLTCAP_SPLV_SHIFT: 7,
  SLTCAP_SPLS_MASK: 0x00018000, // slot power limit scale
  SLTCAP_SPLS_SHIFT: 15,
  SLTCAP_EIP: 0x00020000, // electromechanical interlock present
  SLTCAP_NCCS: 0x00040000, // no command completed support
  SLTCAP_PSN_SHIFT: 19, // physical slot number (13 bits)
  /** Slot Control. */
  SLTCTL_ABPE: 0x0001,
  SLTCTL_PFDE: 0x0002,
  SLTCTL_MRLSCE: 0x0004,
  SLTCTL_PDCE: 0x0008,
  SLTCTL_CCIE: 0x0010,
  SLTCTL_HPIE: 0x0020,
  SLTCTL_AIC_MASK: 0x00c0, // attention indicator control
  SLTCTL_AIC_SHIFT: 6,
  SLTCTL_PIC_MASK: 0x0300, // power indicator control
  SLTCTL_PIC_SHIFT: 8,
  SLTCTL_PCC: 0x0400, // power controller control (1 = off)
  SLTCTL_EIC: 0x0800, // electromechanical interlock control
  SLTCTL_DLLSCE: 0x1000, // data link layer state changed enable
  /** Slot Status. */
  SLTSTA_ABP: 0x0001,
  SLTSTA_PFD: 0x0002,
  SLTSTA_MRLSC: 0x0004,
  SLTSTA_PDC: 0x0008,
  SLTSTA_CC: 0x0010,
  SLTSTA_MRLSS: 0x0020, // MRL sensor state
  SLTSTA_PDS: 0x0040, // presence detect state
  SLTSTA_EIS: 0x0080, // electromechanical interlock status
  SLTSTA_DLLSC: 0x0100, // data link layer state changed
  /** Root Control / Capabilities / Status. */
  RTCTL_SECEE: 0x0001,
  RTCTL_SENFEE: 0x0002,
  RTCTL_SEFEE: 0x0004,
  RTCTL_PMEIE: 0x0008,
  RTCTL_CRSSVE: 0x0010,
  RTCAP_CRSSV: 0x0001,
  RTSTA_PME_RID_MASK: 0x0000ffff,
  RTSTA_PME_STATUS: 0x00010000,
  RTSTA_PME_PENDING: 0x00020000,
  /** Device Capabilities 2. */
  DEVCAP2_CTO_RANGES_MASK: 0x0000000f, // completion timeout ranges supported
  DEVCAP2_CTO_DIS: 0x00000010, // completion timeout disable supported
  DEVCAP2_ARI: 0x00000020, // ARI forwarding supported
  DEVCAP2_ATOMIC_ROUTE: 0x00000040,
  DEVCAP2_ATOMIC_COMP32: 0x00000080,
  DEVCAP2_ATOMIC_COMP64: 0x00000100,
  DEVCAP2_ATOMIC_COMP128: 0x00000200, // 128-bit CAS completer
  DEVCAP2_NROPRPRP: 0x00000400, // no RO-enabled PR-PR passing
  DEVCAP2_LTR: 0x00000800,
  DEVCAP2_TPH_COMP_MASK: 0x00003000,
  DEVCAP2_TPH_COMP_SHIFT: 12,
  DEVCAP2_LN_CLS_MASK: 0x0000c000, // LN system cache line size
  DEVCAP2_LN_CLS_SHIFT: 14,
  DEVCAP2_10BIT_TAG_COMP: 0x00010000,
  DEVCAP2_10BIT_TAG_REQ: 0x00020000,
  DEVCAP2_OBFF_MASK: 0x000c0000,
  DEVCAP2_OBFF_SHIFT: 18,
  DEVCAP2_EXT_FMT: 0x00100000, // extended fmt field supported
  DEVCAP2_EE_PREFIX: 0x00200000, // end-end TLP prefix supported
  DEVCAP2_EE_PREFIX_MAX_MASK: 0x00c00000, // max end-end TLP prefixes (0 = 4)
  DEVCAP2_EE_PREFIX_MAX_SHIFT: 22,
  DEVCAP2_EPR_MASK: 0x03000000, // emergency power reduction supported
  DEVCAP2_EPR_SHIFT: 24,
  DEVCAP2_EPR_INIT: 0x04000000, // emergency power reduction initialization required
  DEVCAP2_FRS: 0x80000000, // FRS supported
  /** Device Control 2. */
  DEVCTL2_COMP_TIMEOUT_MASK: 0x000f,
  DEVCTL2_COMP_TMOUT_DIS: 0x0010,
  DEVCTL2_ARI: 0x0020,
  DEVCTL2_ATOMIC_REQ: 0x0040, // AtomicOp requester enable
  DEVCTL2_ATOMIC_EGRESS_BLOCK: 0x0080,
  DEVCTL2_IDO_REQ_EN: 0x0100,
  DEVCTL2_IDO_CMP_EN: 0x0200,
  DEVCTL2_LTR_EN: 0x0400,
  DEVCTL2_EPR_REQ: 0x0800, // emergency power reduction request
  DEVCTL2_10BIT_TAG_REQ_EN: 0x1000,
  DEVCTL2_OBFF_MASK: 0x6000,
  DEVCTL2_OBFF_SHIFT: 13,
  DEVCTL2_EE_PREFIX_BLOCK: 0x8000,
  /** Link Capabilities 2: supported link speeds vector, bit n = speed n. */
  LNKCAP2_SLS_MASK: 0x000000fe,
  LNKCAP2_SLS_SHIFT: 1,
  LNKCAP2_CROSSLINK: 0x00000100,
  LNKCAP2_RETIMER: 0x00800000, // retimer presence detect supported
  LNKCAP2_2RETIMERS: 0x01000000, // two retimers presence detect supported
  LNKCAP2_DRS: 0x80000000, // device readiness status supported
  /** Link Control 2. */
  LNKCTL2_TLS_MASK: 0x000f,
  LNKCTL2_ENTER_COMP: 0x0010, // enter compliance
  LNKCTL2_HASD: 0x0020, // hardware autonomous speed disable
  LNKCTL2_SEL_DEEMPH: 0x0040, // selectable de-emphasis (downstream ports)
  LNKCTL2_TX_MARGIN_MASK: 0x0380,
  LNKCTL2_TX_MARGIN_SHIFT: 7,
  LNKCTL2_ENTER_MOD_COMP: 0x0400, // enter modified compliance
  LNKCTL2_COMP_SOS: 0x0800,
  LNKCTL2_COMP_PRESET_MASK: 0xf000, // compliance preset/de-emphasis
  LNKCTL2_COMP_PRESET_SHIFT: 12,
  /** Link Status 2. */
  LNKSTA2_DEEMPH: 0x0001, // current de-emphasis level (1 = -3.5 dB)
  LNKSTA2_EQ_COMPLETE: 0x0002,
  LNKSTA2_EQ_PHASE1: 0x0004,
  LNKSTA2_EQ_PHASE2: 0x0008,
  LNKSTA2_EQ_PHASE3: 0x0010,
  LNKSTA2_EQ_REQUEST: 0x0020,
  LNKSTA2_RETIMER: 0x0040, // retimer presence detected
  LNKSTA2_2RETIMERS: 0x0080,
  LNKSTA2_CROSSLINK_MASK: 0x0300, // crosslink resolution
  LNKSTA2_CROSSLINK_SHIFT: 8,
  LNKSTA2_COMPONENT_MASK: 0x7000, // downstream component presence
  LNKSTA2_COMPONENT_SHIFT: 12,
  LNKSTA2_DRS_RCVD: 0x8000, // DRS message received
} as const;

/** Link speeds (LNKCAP.SLS / LNKSTA.CLS encoding) in GT/s. */
export const PCIE_LINK_SPEEDS_GTS: readonly number[] = [0, 2.5, 5, 8, 16, 32, 64];

/** Advanced Error Reporting extended capability (offsets relative to the capability). */
export const PciErr = {
  UNCOR_STATUS: 0x04, // u32, RW1C
  UNCOR_MASK: 0x08, // u32
  UNCOR_SEVER: 0x0c, // u32
  COR_STATUS: 0x10, // u32, RW1C
  COR_MASK: 0x14, // u32
  CAP: 0x18, // u32 Advanced Error Capabilities and Control
  HEADER_LOG: 0x1c, // 4 x u32
  ROOT_COMMAND: 0x2c, // u32, root ports and event collectors
  ROOT_STATUS: 0x30, // u32
  ROOT_COR_SRC: 0x34, // u16 ERR_COR source id
  ROOT_SRC: 0x36, // u16 ERR_FATAL/NONFATAL source id
  SIZEOF: 0x38,
  SIZEOF_ENDPOINT: 0x2c,
  /** Uncorrectable error bits (status, mask and severity registers). */
  UNC_DLP: 0x00000010, // data link protocol
  UNC_SDES: 0x00000020, // surprise down
  UNC_POISON_TLP: 0x00001000,
  UNC_FCP: 0x00002000, // flow control protocol
  UNC_COMP_TIME: 0x00004000, // completion timeout
  UNC_COMP_ABORT: 0x00008000, // completer abort
  UNC_UNX_COMP: 0x00010000, // unexpected completion
  UNC_RX_OVER: 0x00020000, // receiver overflow
  UNC_MALF_TLP: 0x00040000, // malformed TLP
  UNC_ECRC: 0x00080000,
  UNC_UNSUP: 0x00100000, // unsupported request
  UNC_ACS_VIOL: 0x00200000,
  /** Correctable error bits (status and mask registers). */
  COR_RCVR: 0x00000001, // receiver error
  COR_BAD_TLP: 0x00000040,
  COR_BAD_DLLP: 0x00000080,
  COR_REP_ROLL: 0x00000100, // REPLAY_NUM rollover
  COR_REP_TIMER: 0x00001000, // replay timer timeout
  COR_ADV_NFAT: 0x00002000, // advisory non-fatal
  /** Capabilities and Control. */
  CAP_FEP_MASK: 0x0000001f, // first error pointer
  CAP_ECRC_GENC: 0x00000020,
  CAP_ECRC_GENE: 0x00000040,
  CAP_ECRC_CHKC: 0x00000080,
  CAP_ECRC_CHKE: 0x00000100,
  CAP_MULT_HDRC: 0x00000200,
  CAP_MULT_HDRE: 0x00000400,
  CAP_TLP_PFX: 0x00000800, // TLP prefix log present
  CAP_HDR_LOG: 0x00001000, // completion timeout prefix/header log capable
  /** Root Error Command / Status. */
  ROOT_CMD_COR_EN: 0x00000001,
  ROOT_CMD_NONFATAL_EN: 0x00000002,
  ROOT_CMD_FATAL_EN: 0x00000004,
  ROOT_COR_RCV: 0x00000001,
  ROOT_MULTI_COR_RCV: 0x00000002,
  ROOT_UNCOR_RCV: 0x00000004,
  ROOT_MULTI_UNCOR_RCV: 0x00000008,
  ROOT_FIRST_FATAL: 0x00000010,
  ROOT_NONFATAL_RCV: 0x00000020,
  ROOT_FATAL_RCV: 0x00000040,
  ROOT_MSG_NUM_SHIFT: 27, // 5 bits: advanced error interrupt message number
} as const;

/** Device Serial Number extended capability: a 64-bit serial number in two dwords, low first. */
export const PciDsn = {
  LOW: 0x04,
  HIGH: 0x08,
  SIZEOF: 0x0c,
} as const;

/** Alternative Routing-ID Interpretation extended capability. */
export const PciAri = {
  CAP: 0x04, // u16
  CTRL: 0x06, // u16
  SIZEOF: 0x08,
  CAP_MFVC: 0x0001, // MFVC function groups capability
  CAP_ACS: 0x0002, // ACS function groups capability
  CAP_NFN_SHIFT: 8, // next function number (8 bits)
  CTRL_MFVC: 0x0001,
  CTRL_ACS: 0x0002,
  CTRL_FG_MASK: 0x0070, // function group
  CTRL_FG_SHIFT: 4,
} as const;

/** Single Root I/O Virtualization extended capability. */
export const PciSriov = {
  CAP: 0x04, // u32
  CTRL: 0x08, // u16
  STATUS: 0x0a, // u16
  INITIAL_VF: 0x0c, // u16
  TOTAL_VF: 0x0e, // u16
  NUM_VF: 0x10, // u16
  FUNC_LINK: 0x12, // u8 function dependency link
  VF_OFFSET: 0x14, // u16 first VF offset
  VF_STRIDE: 0x16, // u16
  VF_DID: 0x1a, // u16 VF device id
  SUP_PGSIZE: 0x1c, // u32 supported page sizes
  SYS_PGSIZE: 0x20, // u32 system page size
  BAR0: 0x24, // 6 x u32 VF BARs
  MIGRATION: 0x3c, // u32 VF migration state array offset | BIR
  SIZEOF: 0x40,
  CAP_VFM: 0x00000001, // VF migration capable
  CAP_VF_10BIT_TAG_REQ: 0x00000004,
  CAP_IMN_SHIFT: 21, // VF migration interrupt message number (11 bits)
  CTRL_VFE: 0x0001, // VF enable
  CTRL_VFM: 0x0002, // VF migration enable
  CTRL_INTR: 0x0004, // VF migration interrupt enable
  CTRL_MSE: 0x0008, // VF memory space enable
  CTRL_ARI: 0x0010, // ARI capable hierarchy
  CTRL_VF_10BIT_TAG_REQ_EN: 0x0020,
  STATUS_VFM: 0x0001, // VF migration status
  MIGRATION_BIR_MASK: 0x7,
  MIGRATION_OFFSET_MASK: 0xfffffff8,
} as const;

/** Access Control Services extended capability (capability and control registers share their bit layout). */
export const PciAcs = {
  CAP: 0x04, // u16
  CTRL: 0x06, // u16
  SV: 0x0001, // source validation
  TB: 0x0002, // translation blocking
  RR: 0x0004, // P2P request redirect
  CR: 0x0008, // P2P completion redirect
  UF: 0x0010, // upstream forwarding
  EC: 0x0020, // P2P egress control
  DT: 0x0040, // direct translated P2P
  CAP_ECVS_SHIFT: 8, // egress control vector size
} as const;

/** Address Translation Service extended capability. */
export const PciAts = {
  CAP: 0x04, // u16
  CTRL: 0x06, // u16
  CAP_IQD_MASK: 0x001f, // invalidate queue depth
  CTRL_STU_MASK: 0x001f, // smallest translation unit
  CTRL_ENABLE: 0x8000,
} as const;

/** Page Request Interface extended capability. */
export const PciPri = {
  CTRL: 0x04, // u16
  STATUS: 0x06, // u16
  MAX_REQ: 0x08, // u32 outstanding page request capacity
  ALLOC_REQ: 0x0c, // u32 outstanding page request allocation
  CTRL_ENABLE: 0x0001,
  CTRL_RESET: 0x0002,
  STATUS_RF: 0x0001, // response failure
  STATUS_UPRGI: 0x0002, // unexpected page request group index
  STATUS_STOPPED: 0x0100,
} as const;

/** Process Address Space ID extended capability. */
export const PciPasid = {
  CAP: 0x04, // u16
  CTRL: 0x06, // u16
  CAP_EXEC: 0x0002,
  CAP_PRIV: 0x0004,
  CAP_WIDTH_MASK: 0x1f00, // max PASID width
  CAP_WIDTH_SHIFT: 8,
  CTRL_ENABLE: 0x0001,
  CTRL_EXEC: 0x0002,
  CTRL_PRIV: 0x0004,
} as const;

/** Latency Tolerance Reporting extended capability: two latency registers, value (10 bits) and scale (3 bits). */
export const PciLtr = {
  MAX_SNOOP: 0x04, // u16
  MAX_NOSNOOP: 0x06, // u16
  VALUE_MASK: 0x03ff,
  SCALE_MASK: 0x1c00, // the value is in units of 2^(5 * scale) ns
  SCALE_SHIFT: 10,
} as const;
