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
