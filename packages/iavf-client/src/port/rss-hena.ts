// A port's RSS hash types (`RssHf`, DPDK's rss_hf) as the VF's HENA bitmap of packet classifier types, the way DPDK's
// iavf maps them (`iavf_config_rss_hf`): each type enables its pctypes (UDP its unicast, multicast and plain UDP ones,
// TCP its SYN-without-ACK and plain ones), and IPV4 / IPV6 stand for every IPv4 / IPv6 type.
import { RssPctype as P } from "@emu/iavf-common";
import { RssHf } from "@emu/port";

const IPV4_ALL =
  RssHf.FRAG_IPV4 |
  RssHf.NONFRAG_IPV4_TCP |
  RssHf.NONFRAG_IPV4_UDP |
  RssHf.NONFRAG_IPV4_SCTP |
  RssHf.NONFRAG_IPV4_OTHER;
const IPV6_ALL =
  RssHf.FRAG_IPV6 |
  RssHf.NONFRAG_IPV6_TCP |
  RssHf.NONFRAG_IPV6_UDP |
  RssHf.NONFRAG_IPV6_SCTP |
  RssHf.NONFRAG_IPV6_OTHER;

const PCTYPES: readonly (readonly [number, readonly number[]])[] = [
  [RssHf.NONFRAG_IPV4_UDP, [P.NONF_UNICAST_IPV4_UDP, P.NONF_MULTICAST_IPV4_UDP, P.NONF_IPV4_UDP]],
  [RssHf.NONFRAG_IPV4_TCP, [P.NONF_IPV4_TCP_SYN_NO_ACK, P.NONF_IPV4_TCP]],
  [RssHf.NONFRAG_IPV4_SCTP, [P.NONF_IPV4_SCTP]],
  [RssHf.NONFRAG_IPV4_OTHER, [P.NONF_IPV4_OTHER]],
  [RssHf.FRAG_IPV4, [P.FRAG_IPV4]],
  [RssHf.NONFRAG_IPV6_UDP, [P.NONF_UNICAST_IPV6_UDP, P.NONF_MULTICAST_IPV6_UDP, P.NONF_IPV6_UDP]],
  [RssHf.NONFRAG_IPV6_TCP, [P.NONF_IPV6_TCP_SYN_NO_ACK, P.NONF_IPV6_TCP]],
  [RssHf.NONFRAG_IPV6_SCTP, [P.NONF_IPV6_SCTP]],
  [RssHf.NONFRAG_IPV6_OTHER, [P.NONF_IPV6_OTHER]],
  [RssHf.FRAG_IPV6, [P.FRAG_IPV6]],
  [RssHf.L2_PAYLOAD, [P.L2_PAYLOAD]],
];

/** The HENA bitmap asking for the pctypes of `hf` (0n for 0: no hashing). */
export function henaOfRssHf(hf: number): bigint {
  let types = hf;
  if ((types & RssHf.IPV4) !== 0) types |= IPV4_ALL;
  if ((types & RssHf.IPV6) !== 0) types |= IPV6_ALL;
  let hena = 0n;
  for (const [type, pctypes] of PCTYPES) if ((types & type) !== 0) for (const p of pctypes) hena |= 1n << BigInt(p);
  return hena;
}
