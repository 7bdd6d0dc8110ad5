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
