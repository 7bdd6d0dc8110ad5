// Which packets a port's receive-side scaling hashes, as DPDK's `rss_hf` (`struct rte_eth_rss_conf`): a bitmask with
// DPDK's bit positions (RTE_ETH_RSS_*), so that a DPDK user reads the same numbers. 0 asks for no hashing at all (one
// queue, as testpmd configures a port with a single RX queue); a port's driver maps the types onto what its device
// hashes. The groups (`RSS_IP`, `RSS_UDP`, …) are DPDK's and testpmd's `--rss-ip` / `--rss-udp` sets.

/** The hash types, at DPDK's bit positions. */
export const RssHf = {
  IPV4: 1 << 2,
  FRAG_IPV4: 1 << 3,
  NONFRAG_IPV4_TCP: 1 << 4,
  NONFRAG_IPV4_UDP: 1 << 5,
  NONFRAG_IPV4_SCTP: 1 << 6,
  NONFRAG_IPV4_OTHER: 1 << 7,
  IPV6: 1 << 8,
  FRAG_IPV6: 1 << 9,
  NONFRAG_IPV6_TCP: 1 << 10,
  NONFRAG_IPV6_UDP: 1 << 11,
  NONFRAG_IPV6_SCTP: 1 << 12,
  NONFRAG_IPV6_OTHER: 1 << 13,
  L2_PAYLOAD: 1 << 14,
} as const;

/** RTE_ETH_RSS_IP: IPv4 and IPv6, fragments and other (testpmd's default set, `--rss-ip`). */
export const RSS_IP =
  RssHf.IPV4 | RssHf.FRAG_IPV4 | RssHf.NONFRAG_IPV4_OTHER | RssHf.IPV6 | RssHf.FRAG_IPV6 | RssHf.NONFRAG_IPV6_OTHER;
/** RTE_ETH_RSS_UDP (testpmd's `--rss-udp`: UDP only, in place of RSS_IP). */
export const RSS_UDP = RssHf.NONFRAG_IPV4_UDP | RssHf.NONFRAG_IPV6_UDP;
/** RTE_ETH_RSS_TCP. */
export const RSS_TCP = RssHf.NONFRAG_IPV4_TCP | RssHf.NONFRAG_IPV6_TCP;
/** RTE_ETH_RSS_SCTP. */
export const RSS_SCTP = RssHf.NONFRAG_IPV4_SCTP | RssHf.NONFRAG_IPV6_SCTP;
/** Every type above. */
export const RSS_ALL = Object.values(RssHf).reduce((a, b) => a | b, 0);

/** testpmd's names of the types (`show port N rss-hash`), in its order. */
const NAMES: readonly (readonly [string, number])[] = [
  ["ipv4", RssHf.IPV4],
  ["ipv4-frag", RssHf.FRAG_IPV4],
  ["ipv4-tcp", RssHf.NONFRAG_IPV4_TCP],
  ["ipv4-udp", RssHf.NONFRAG_IPV4_UDP],
  ["ipv4-sctp", RssHf.NONFRAG_IPV4_SCTP],
  ["ipv4-other", RssHf.NONFRAG_IPV4_OTHER],
  ["ipv6", RssHf.IPV6],
  ["ipv6-frag", RssHf.FRAG_IPV6],
  ["ipv6-tcp", RssHf.NONFRAG_IPV6_TCP],
  ["ipv6-udp", RssHf.NONFRAG_IPV6_UDP],
  ["ipv6-sctp", RssHf.NONFRAG_IPV6_SCTP],
  ["ipv6-other", RssHf.NONFRAG_IPV6_OTHER],
  ["l2-payload", RssHf.L2_PAYLOAD],
];

/** The names of the types in `hf` ("ipv4 ipv4-frag …"); "none" for 0. */
export function rssHfNames(hf: number): string {
  const names = NAMES.filter(([, bit]) => (hf & bit) !== 0).map(([name]) => name);
  return names.length === 0 ? "none" : names.join(" ");
}
