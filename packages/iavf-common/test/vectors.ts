/**
 * Byte-exact virtchnl payloads written by hand from the struct layouts (doc §4.5, checked against DPDK's virtchnl.h),
 * one field per line, little-endian. These bytes are NOT produced by the encoder under test.
 * `legacy: true` marks the length the encoder sends; `false` marks the exact length, which only decodes.
 */
import type { VirtchnlDirection, VirtchnlMessage } from "@emu/iavf-common";
import { h, zeros } from "./helpers.js";

export interface Vector {
  readonly name: string;
  readonly opcode: number;
  readonly direction: VirtchnlDirection;
  readonly bytes: Uint8Array;
  readonly message: VirtchnlMessage;
  /** True when encodeVirtchnl(message) must give exactly these bytes. */
  readonly encodes: boolean;
}

const qpair = {
  txq: { vsiId: 0, queueId: 0, ringLen: 512, headwbEnabled: 0, dmaRingAddr: 0x100000n, dmaHeadwbAddr: 0n },
  rxq: {
    vsiId: 0,
    queueId: 0,
    ringLen: 512,
    hdrSize: 0,
    splithdrEnabled: 0,
    databufferSize: 2048,
    maxPktSize: 1518,
    crcDisable: 0,
    rxdid: 1,
    flags: 0,
    dmaRingAddr: 0x200000n,
    rxSplitPos: 0,
  },
};
const QPAIR_HEX = `
  0000               # txq.vsi_id 0
  0000               # txq.queue_id 0
  0002               # txq.ring_len 512
  0000               # txq.headwb_enabled 0
  0000100000000000   # txq.dma_ring_addr 0x100000
  0000000000000000   # txq.dma_headwb_addr 0
  0000               # rxq.vsi_id 0
  0000               # rxq.queue_id 0
  00020000           # rxq.ring_len 512 (u32)
  0000               # rxq.hdr_size 0
  0000               # rxq.splithdr_enabled 0
  00080000           # rxq.databuffer_size 2048
  ee050000           # rxq.max_pkt_size 1518
  00                 # rxq.crc_disable 0
  01                 # rxq.rxdid 1 (32-byte legacy)
  00                 # rxq.flags 0
  00                 # rxq.pad
  0000200000000000   # rxq.dma_ring_addr 0x200000
  00000000           # rxq.rx_split_pos 0
  00000000           # rxq.pad2
`;

const caps = 0x000900a1; // L2 | WB_ON_ITR | ADV_LINK_SPEED | VLAN | RSS_PF
const vfResources = {
  kind: "GetVfResourcesReply",
  numQueuePairs: 4,
  maxVectors: 17,
  maxMtu: 1500,
  capabilities: caps,
  rssKeySize: 52,
  rssLutSize: 64,
  vsis: [{ vsiId: 0, numQueuePairs: 4, vsiType: 6, qsetHandle: 0, defaultMac: "02:00:00:00:00:01" }],
} as const;
const VF_RESOURCES_HEX = `
  0100               # num_vsis 1
  0400               # num_queue_pairs 4
  1100               # max_vectors 17
  dc05               # max_mtu 1500
  a1000900           # vf_cap_flags L2|WB_ON_ITR|ADV_LINK_SPEED|VLAN|RSS_PF
  34000000           # rss_key_size 52
  40000000           # rss_lut_size 64
  0000               # vsi_res[0].vsi_id 0
  0400               # vsi_res[0].num_queue_pairs 4
  06000000           # vsi_res[0].vsi_type 6 (SRIOV)
  0000               # vsi_res[0].qset_handle 0
  020000000001       # vsi_res[0].default_mac_addr 02:00:00:00:00:01
`;

export const vectors: readonly Vector[] = [
  {
    name: "VERSION request 1.1",
    opcode: 1,
    direction: "request",
    bytes: h`
      01000000         # major 1
      01000000         # minor 1
    `,
    message: { kind: "VersionRequest", major: 1, minor: 1 },
    encodes: true,
  },
  {
    name: "VERSION reply 1.1",
    opcode: 1,
    direction: "reply",
    bytes: h`01000000 01000000  # major 1, minor 1`,
    message: { kind: "VersionReply", major: 1, minor: 1 },
    encodes: true,
  },
  { name: "RESET_VF", opcode: 2, direction: "request", bytes: h``, message: { kind: "ResetVf" }, encodes: true },
  {
    name: "GET_VF_RESOURCES request (1.1: capability word)",
    opcode: 3,
    direction: "request",
    bytes: h`a1000900  # caps L2|WB_ON_ITR|ADV_LINK_SPEED|VLAN|RSS_PF`,
    message: { kind: "GetVfResourcesRequest", capabilities: caps },
    encodes: true,
  },
  {
    name: "GET_VF_RESOURCES request (1.0: empty)",
    opcode: 3,
    direction: "request",
    bytes: h``,
    message: { kind: "GetVfResourcesRequest" },
    encodes: true,
  },
  {
    name: "GET_VF_RESOURCES reply, legacy length 36 + 16·1",
    opcode: 3,
    direction: "reply",
    bytes: h`${VF_RESOURCES_HEX} ${zeros(16)} # placeholder vsi_res[1]`,
    message: vfResources,
    encodes: true,
  },
  {
    name: "GET_VF_RESOURCES reply, exact length 20 + 16·1",
    opcode: 3,
    direction: "reply",
    bytes: h`${VF_RESOURCES_HEX}`,
    message: vfResources,
    encodes: false,
  },
  {
    name: "CONFIG_TX_QUEUE",
    opcode: 4,
    direction: "request",
    bytes: h`
      0000 0300 0001 0000   # vsi_id 0, queue_id 3, ring_len 256, headwb_enabled 0
      00f0ffffff7f0000      # dma_ring_addr 0x7fff_fffff000
      0000000000000000      # dma_headwb_addr 0
    `,
    message: {
      kind: "ConfigTxQueue",
      txq: { vsiId: 0, queueId: 3, ringLen: 256, headwbEnabled: 0, dmaRingAddr: 0x7ffffffff000n, dmaHeadwbAddr: 0n },
    },
    encodes: true,
  },
  {
    name: "CONFIG_VSI_QUEUES, 1 pair, legacy length 72 + 64·1",
    opcode: 6,
    direction: "request",
    bytes: h`
      0000               # vsi_id 0
      0100               # num_queue_pairs 1
      00000000           # pad
      ${QPAIR_HEX}
      ${zeros(64)}       # placeholder qpair[1]
    `,
    message: { kind: "ConfigVsiQueues", vsiId: 0, queuePairs: [qpair] },
    encodes: true,
  },
  {
    name: "CONFIG_VSI_QUEUES, 1 pair, exact length 8 + 64·1",
    opcode: 6,
    direction: "request",
    bytes: h`0000 0100 00000000 ${QPAIR_HEX}`,
    message: { kind: "ConfigVsiQueues", vsiId: 0, queuePairs: [qpair] },
    encodes: false,
  },
  {
    name: "CONFIG_IRQ_MAP, Linux style (queue vector 1, then vector 0), legacy length 14 + 12·2",
    opcode: 7,
    direction: "request",
    bytes: h`
      0200                          # num_vectors 2
      0000 0100 0100 0100 0000 0100 # vsi 0, vector 1, rxq_map 0x1, txq_map 0x1, rxitr 0, txitr 1
      0000 0000 0000 0000 0000 0000 # vsi 0, vector 0, no queues
      ${zeros(12)}                  # placeholder vecmap[2]
    `,
    message: {
      kind: "ConfigIrqMap",
      vectors: [
        { vsiId: 0, vectorId: 1, rxqMap: 1, txqMap: 1, rxitrIdx: 0, txitrIdx: 1 },
        { vsiId: 0, vectorId: 0, rxqMap: 0, txqMap: 0, rxitrIdx: 0, txitrIdx: 0 },
      ],
    },
    encodes: true,
  },
  {
    name: "ENABLE_QUEUES, 4 pairs at once",
    opcode: 8,
    direction: "request",
    bytes: h`
      0000               # vsi_id 0
      0000               # pad
      0f000000           # rx_queues 0b1111
      0f000000           # tx_queues 0b1111
    `,
    message: { kind: "EnableQueues", vsiId: 0, rxQueues: 0xf, txQueues: 0xf },
    encodes: true,
  },
  {
    name: "DISABLE_QUEUES, one TX queue (DPDK per-queue)",
    opcode: 9,
    direction: "request",
    bytes: h`0000 0000 00000000 04000000  # vsi 0, rx none, tx queue 2`,
    message: { kind: "DisableQueues", vsiId: 0, rxQueues: 0, txQueues: 4 },
    encodes: true,
  },
  {
    name: "ADD_ETH_ADDR, primary MAC, legacy length 12 + 8·1",
    opcode: 10,
    direction: "request",
    bytes: h`
      0000               # vsi_id 0
      0100               # num_elements 1
      020000000001       # addr 02:00:00:00:00:01
      01                 # type PRIMARY
      00                 # pad
      ${zeros(8)}        # placeholder list[1]
    `,
    message: { kind: "AddEthAddr", vsiId: 0, addresses: [{ mac: "02:00:00:00:00:01", type: 1 }] },
    encodes: true,
  },
  {
    name: "DEL_ETH_ADDR, exact length 4 + 8·1",
    opcode: 11,
    direction: "request",
    bytes: h`0000 0100 01005e0000fb 02 00  # vsi 0, 1 element, 01:00:5e:00:00:fb EXTRA`,
    message: { kind: "DelEthAddr", vsiId: 0, addresses: [{ mac: "01:00:5e:00:00:fb", type: 2 }] },
    encodes: false,
  },
  {
    name: "ADD_VLAN, one id, legacy length 6 + 2·1",
    opcode: 12,
    direction: "request",
    bytes: h`
      0000               # vsi_id 0
      0100               # num_elements 1
      6400               # vlan_id 100
      0000               # placeholder vlan_id[1]
    `,
    message: { kind: "AddVlan", vsiId: 0, vlanIds: [100] },
    encodes: true,
  },
  {
    name: "CONFIG_PROMISCUOUS_MODE unicast + multicast",
    opcode: 14,
    direction: "request",
    bytes: h`0000 0300  # vsi_id 0, flags UNICAST|MULTICAST`,
    message: { kind: "ConfigPromiscuousMode", vsiId: 0, flags: 3 },
    encodes: true,
  },
  {
    name: "GET_STATS request",
    opcode: 15,
    direction: "request",
    bytes: h`0500 0000 00000000 00000000  # vsi_id 5, the rest unused`,
    message: { kind: "GetStatsRequest", vsiId: 5, rxQueues: 0, txQueues: 0 },
    encodes: true,
  },
  {
    name: "GET_STATS reply",
    opcode: 15,
    direction: "reply",
    bytes: h`
      0100000000000000   # rx_bytes 1
      0200000000000000   # rx_unicast 2
      0300000000000000   # rx_multicast 3
      0400000000000000   # rx_broadcast 4
      0500000000000000   # rx_discards 5
      0600000000000000   # rx_unknown_protocol 6
      0700000000000000   # tx_bytes 7
      0800000000000000   # tx_unicast 8
      0900000000000000   # tx_multicast 9
      0a00000000000000   # tx_broadcast 10
      0b00000000000000   # tx_discards 11
      ffffffffffffffff   # tx_errors 2^64 - 1
    `,
    message: {
      kind: "GetStatsReply",
      stats: {
        rxBytes: 1n,
        rxUnicast: 2n,
        rxMulticast: 3n,
        rxBroadcast: 4n,
        rxDiscards: 5n,
        rxUnknownProtocol: 6n,
        txBytes: 7n,
        txUnicast: 8n,
        txMulticast: 9n,
        txBroadcast: 10n,
        txDiscards: 11n,
        txErrors: 0xffff_ffff_ffff_ffffn,
      },
    },
    encodes: true,
  },
  {
    name: "EVENT LINK_CHANGE up at 25000 Mbps (advanced form)",
    opcode: 17,
    direction: "reply",
    bytes: h`
      01000000           # event LINK_CHANGE
      a8610000           # link_speed 25000 (0x61a8)
      01                 # link_status up
      000000             # pad
      00000000           # severity INFO
    `,
    message: { kind: "Event", event: { type: "LinkChange", linkSpeed: 25000, linkUp: true, severity: 0 } },
    encodes: true,
  },
  {
    name: "EVENT RESET_IMPENDING",
    opcode: 17,
    direction: "reply",
    bytes: h`02000000 ${zeros(8)} 02000000  # RESET_IMPENDING, no data, severity ACTION_REQUIRED`,
    message: { kind: "Event", event: { type: "ResetImpending", severity: 2 } },
    encodes: true,
  },
  {
    name: "CONFIG_RSS_KEY, 4 bytes, legacy length 5 + 4",
    opcode: 23,
    direction: "request",
    bytes: h`
      0000               # vsi_id 0
      0400               # key_len 4
      aabbccdd           # key
      00                 # placeholder byte of key[1]
    `,
    message: { kind: "ConfigRssKey", vsiId: 0, bytes: Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd) },
    encodes: true,
  },
  {
    name: "CONFIG_RSS_KEY, empty key, legacy length 6",
    opcode: 23,
    direction: "request",
    bytes: h`0000 0000 0000  # vsi_id 0, key_len 0, padding of the 6-byte struct`,
    message: { kind: "ConfigRssKey", vsiId: 0, bytes: new Uint8Array(0) },
    encodes: true,
  },
  {
    name: "CONFIG_RSS_LUT, 4 entries, exact length 4 + 4",
    opcode: 24,
    direction: "request",
    bytes: h`0000 0400 00010203  # vsi_id 0, lut_entries 4, lut 0 1 2 3`,
    message: { kind: "ConfigRssLut", vsiId: 0, bytes: Uint8Array.of(0, 1, 2, 3) },
    encodes: false,
  },
  {
    name: "GET_RSS_HENA_CAPS request",
    opcode: 25,
    direction: "request",
    bytes: h``,
    message: { kind: "GetRssHenaCapsRequest" },
    encodes: true,
  },
  {
    name: "GET_RSS_HENA_CAPS reply",
    opcode: 25,
    direction: "reply",
    bytes: h`8877665544332211  # hena 0x1122334455667788`,
    message: { kind: "GetRssHenaCapsReply", hena: 0x1122334455667788n },
    encodes: true,
  },
  {
    name: "SET_RSS_HENA 0 (DPDK main at init)",
    opcode: 26,
    direction: "request",
    bytes: h`${zeros(8)}  # hena 0`,
    message: { kind: "SetRssHena", hena: 0n },
    encodes: true,
  },
  {
    name: "ENABLE_VLAN_STRIPPING",
    opcode: 27,
    direction: "request",
    bytes: h``,
    message: { kind: "EnableVlanStripping" },
    encodes: true,
  },
  {
    name: "REQUEST_QUEUES 8",
    opcode: 29,
    direction: "request",
    bytes: h`0800  # num_queue_pairs 8`,
    message: { kind: "RequestQueues", numQueuePairs: 8 },
    encodes: true,
  },
  {
    name: "REQUEST_QUEUES reply (the PF can give 4)",
    opcode: 29,
    direction: "reply",
    bytes: h`0400  # num_queue_pairs 4`,
    message: { kind: "RequestQueuesReply", numQueuePairs: 4 },
    encodes: true,
  },
  {
    name: "GET_SUPPORTED_RXDIDS reply",
    opcode: 44,
    direction: "reply",
    bytes: h`0200000000000000  # bit 1: RXDID 1 (32-byte legacy)`,
    message: { kind: "GetSupportedRxdidsReply", rxdids: 2n },
    encodes: true,
  },
  {
    name: "GET_MAX_RSS_QREGION reply",
    opcode: 50,
    direction: "reply",
    bytes: h`0000 0600 00000000  # vport_id 0, qregion_width 6, pad`,
    message: { kind: "GetMaxRssQregionReply", vportId: 0, qregionWidth: 6 },
    encodes: true,
  },
  {
    name: "status-only reply to CONFIG_VSI_QUEUES",
    opcode: 6,
    direction: "reply",
    bytes: h``,
    message: { kind: "Ack", opcode: 6 },
    encodes: true,
  },
  {
    name: "an opcode without a codec (GET_QOS_CAPS) decodes to Unknown",
    opcode: 66,
    direction: "request",
    bytes: h`deadbeef`,
    message: { kind: "Unknown", opcode: 66, direction: "request", payload: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) },
    encodes: true,
  },
];
