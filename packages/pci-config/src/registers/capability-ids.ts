// Capability IDs of the standard and extended capability lists, and the extended capability header's fields.

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
