/**
 * The VF capability flags (`vf_cap_flags`) a VF asks for in GET_VF_RESOURCES and the PF grants in its reply.
 * Bit values are those of modern Linux and DPDK (see the README for the DPDK 21.02 CRC collision).
 */
export const VfCap = {
  OFFLOAD_L2: 0x0000_0001,
  OFFLOAD_RDMA: 0x0000_0002,
  OFFLOAD_RSVD: 0x0000_0004,
  /** RSS through admin-queue commands 0x0B02/0x0B03. */
  OFFLOAD_RSS_AQ: 0x0000_0008,
  /** RSS through the VFQF_* registers. */
  OFFLOAD_RSS_REG: 0x0000_0010,
  OFFLOAD_WB_ON_ITR: 0x0000_0020,
  OFFLOAD_REQ_QUEUES: 0x0000_0040,
  /** Link speed in Mbps in LINK_CHANGE events. */
  CAP_ADV_LINK_SPEED: 0x0000_0080,
  /** DPDK 21.02 defined OFFLOAD_CRC with this value, which collides with CAP_ADV_LINK_SPEED. */
  OFFLOAD_CRC_DPDK_21_02: 0x0000_0080,
  OFFLOAD_INLINE_IPSEC_CRYPTO: 0x0000_0100,
  LARGE_NUM_QPAIRS: 0x0000_0200,
  OFFLOAD_CRC: 0x0000_0400,
  /** Linux only. */
  OFFLOAD_TC_U32: 0x0000_0800,
  /** DPDK only (bits 12..14). */
  OFFLOAD_QGRPS: 0x0000_1000,
  OFFLOAD_FLOW_STEER_TO_QGRP: 0x0000_2000,
  OFFLOAD_FSUB_PF: 0x0000_4000,
  OFFLOAD_VLAN_V2: 0x0000_8000,
  OFFLOAD_VLAN: 0x0001_0000,
  OFFLOAD_RX_POLLING: 0x0002_0000,
  OFFLOAD_RSS_PCTYPE_V2: 0x0004_0000,
  /** RSS through virtchnl opcodes 23..26. */
  OFFLOAD_RSS_PF: 0x0008_0000,
  OFFLOAD_ENCAP: 0x0010_0000,
  OFFLOAD_ENCAP_CSUM: 0x0020_0000,
  OFFLOAD_RX_ENCAP_CSUM: 0x0040_0000,
  OFFLOAD_ADQ: 0x0080_0000,
  OFFLOAD_ADQ_V2: 0x0100_0000,
  OFFLOAD_USO: 0x0200_0000,
  OFFLOAD_RX_FLEX_DESC: 0x0400_0000,
  OFFLOAD_ADV_RSS_PF: 0x0800_0000,
  OFFLOAD_FDIR_PF: 0x1000_0000,
  OFFLOAD_QOS: 0x2000_0000,
  CAP_DCF: 0x4000_0000,
  CAP_PTP: 0x8000_0000,
} as const;

/** What a PF assumes a 1.0 VF (no capability word) wants. */
export const VF_V10_ASSUMED_CAPS = VfCap.OFFLOAD_L2 | VfCap.OFFLOAD_RSS_REG | VfCap.OFFLOAD_VLAN;

/** Base-mode offloads (`VF_BASE_MODE_OFFLOADS`). */
export const VF_BASE_MODE_OFFLOADS = VfCap.OFFLOAD_L2 | VfCap.OFFLOAD_VLAN | VfCap.OFFLOAD_RSS_PF;

/**
 * The capabilities a small emulated PF can grant without owing any extra message: L2, RSS through virtchnl,
 * write-back on ITR, Mbps link speeds and VLAN filters. Grant `requested & PF_MINIMAL_CAPS`.
 */
export const PF_MINIMAL_CAPS =
  VfCap.OFFLOAD_L2 | VfCap.OFFLOAD_RSS_PF | VfCap.OFFLOAD_WB_ON_ITR | VfCap.CAP_ADV_LINK_SPEED | VfCap.OFFLOAD_VLAN;

/** The RSS key and LUT sizes a PF granting RSS_PF reports (what Linux assumes; VPP needs a key of at least 52). */
export const RSS_KEY_SIZE = 52;
export const RSS_LUT_SIZE = 64;

/** The names of the flags set in `caps` (unnamed bits as `"BIT_<n>"`), for logs and tests. */
export function vfCapNames(caps: number): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const mask = 2 ** bit;
    if (Math.floor(caps / mask) % 2 === 0) continue;
    const name = Object.entries(VfCap).find(([n, v]) => v === mask && n !== "OFFLOAD_CRC_DPDK_21_02")?.[0];
    names.push(name ?? `BIT_${bit}`);
  }
  return names;
}
