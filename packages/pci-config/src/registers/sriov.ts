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
