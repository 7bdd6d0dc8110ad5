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
