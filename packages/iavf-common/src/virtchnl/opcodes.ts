/** virtchnl opcodes (`enum virtchnl_ops`, carried in the descriptor's cookie_high); identical in Linux and DPDK. */
export const VirtchnlOp = {
  UNKNOWN: 0,
  VERSION: 1,
  RESET_VF: 2,
  GET_VF_RESOURCES: 3,
  CONFIG_TX_QUEUE: 4,
  CONFIG_RX_QUEUE: 5,
  CONFIG_VSI_QUEUES: 6,
  CONFIG_IRQ_MAP: 7,
  ENABLE_QUEUES: 8,
  DISABLE_QUEUES: 9,
  ADD_ETH_ADDR: 10,
  DEL_ETH_ADDR: 11,
  ADD_VLAN: 12,
  DEL_VLAN: 13,
  CONFIG_PROMISCUOUS_MODE: 14,
  GET_STATS: 15,
  RSVD: 16,
  /** PF → VF only. */
  EVENT: 17,
  CONFIG_RSS_HFUNC: 18,
  CONFIG_RSS_KEY: 23,
  CONFIG_RSS_LUT: 24,
  /** Renamed GET_RSS_HASHCFG_CAPS in recent Linux (same number). */
  GET_RSS_HENA_CAPS: 25,
  /** Renamed SET_RSS_HASHCFG in recent Linux (same number). */
  SET_RSS_HENA: 26,
  ENABLE_VLAN_STRIPPING: 27,
  DISABLE_VLAN_STRIPPING: 28,
  REQUEST_QUEUES: 29,
  ENABLE_CHANNELS: 30,
  DISABLE_CHANNELS: 31,
  ADD_CLOUD_FILTER: 32,
  DEL_CLOUD_FILTER: 33,
  GET_SUPPORTED_RXDIDS: 44,
  ADD_RSS_CFG: 45,
  DEL_RSS_CFG: 46,
  ADD_FDIR_FILTER: 47,
  DEL_FDIR_FILTER: 48,
  GET_MAX_RSS_QREGION: 50,
  GET_OFFLOAD_VLAN_V2_CAPS: 51,
  ADD_VLAN_V2: 52,
  DEL_VLAN_V2: 53,
  ENABLE_VLAN_STRIPPING_V2: 54,
  DISABLE_VLAN_STRIPPING_V2: 55,
  ENABLE_VLAN_INSERTION_V2: 56,
  DISABLE_VLAN_INSERTION_V2: 57,
  ENABLE_VLAN_FILTERING_V2: 58,
  DISABLE_VLAN_FILTERING_V2: 59,
  PTP_GET_CAPS: 60,
  PTP_GET_TIME: 61,
  GET_QOS_CAPS: 66,
  ENABLE_QUEUES_V2: 107,
  DISABLE_QUEUES_V2: 108,
  MAP_QUEUE_VECTOR: 111,
  CONFIG_QUEUE_BW: 112,
  CONFIG_QUANTA: 113,
} as const;

/** The name of a virtchnl opcode (`"CONFIG_VSI_QUEUES"`), or `"OP_<n>"` for one this package does not name. */
export function virtchnlOpName(opcode: number): string {
  for (const [name, value] of Object.entries(VirtchnlOp)) if (value === opcode) return name;
  return `OP_${opcode}`;
}

/** The virtchnl version this package speaks (1.1); a 1.0 VF sends GET_VF_RESOURCES without a capability word. */
export const VIRTCHNL_VERSION_MAJOR = 1;
export const VIRTCHNL_VERSION_MINOR = 1;
export const VIRTCHNL_VERSION_MINOR_NO_VF_CAPS = 0;
