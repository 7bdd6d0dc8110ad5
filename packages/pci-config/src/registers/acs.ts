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
