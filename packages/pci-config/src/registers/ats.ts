/** Address Translation Service extended capability. */
export const PciAts = {
  CAP: 0x04, // u16
  CTRL: 0x06, // u16
  CAP_IQD_MASK: 0x001f, // invalidate queue depth
  CTRL_STU_MASK: 0x001f, // smallest translation unit
  CTRL_ENABLE: 0x8000,
} as const;
