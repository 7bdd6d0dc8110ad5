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
