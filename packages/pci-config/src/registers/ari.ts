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
