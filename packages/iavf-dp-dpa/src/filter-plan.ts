// The guest's receive filters and RSS, configured on the front, carried to the delegate (whose data path applies
// them): MAC addresses (ADD/DEL_ETH_ADDR, as extra addresses; the delegate's own default MAC stays, it cannot be
// removed), VLAN filters (ADD/DEL_VLAN, when the delegate granted VLAN), promiscuous modes, and the RSS key, LUT and
// hash-enable bits (when the delegate granted RSS_PF). Only what changed since the last pass is sent.
import { EthAddrType, PromiscFlag, VfCap, type VirtchnlMessage } from "@emu/iavf-common";
import type { IavfFilters, IavfRss } from "@emu/iavf-emu";

/** What the delegate was given (undefined: nothing yet, or lost to a reset of the delegate). */
export interface FilterState {
  readonly macs: ReadonlySet<string>;
  readonly vlans: ReadonlySet<number>;
  readonly promisc: number;
  readonly rss: string;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** The messages that take the delegate from `applied` to the guest's `filters` and `rss`, and the state after. */
export function planFilters(
  vsiId: number,
  granted: number,
  applied: FilterState | undefined,
  filters: IavfFilters,
  rss: IavfRss,
): { readonly messages: VirtchnlMessage[]; readonly state: FilterState } {
  const out: VirtchnlMessage[] = [];
  const macs = new Set(filters.macs.map((m) => m.mac));
  const had = applied?.macs ?? new Set<string>();
  const add = [...macs].filter((m) => !had.has(m));
  const del = [...had].filter((m) => !macs.has(m));
  if (del.length > 0)
    out.push({ kind: "DelEthAddr", vsiId, addresses: del.map((mac) => ({ mac, type: EthAddrType.EXTRA })) });
  if (add.length > 0)
    out.push({ kind: "AddEthAddr", vsiId, addresses: add.map((mac) => ({ mac, type: EthAddrType.EXTRA })) });
  const vlanOk = (granted & VfCap.OFFLOAD_VLAN) !== 0;
  const vlans = new Set(vlanOk ? filters.vlans : []);
  const hadVlans = applied?.vlans ?? new Set<number>();
  const addV = [...vlans].filter((v) => !hadVlans.has(v));
  const delV = [...hadVlans].filter((v) => !vlans.has(v));
  if (delV.length > 0) out.push({ kind: "DelVlan", vsiId, vlanIds: delV });
  if (addV.length > 0) out.push({ kind: "AddVlan", vsiId, vlanIds: addV });
  const promisc =
    (filters.unicastPromisc ? PromiscFlag.UNICAST : 0) | (filters.multicastPromisc ? PromiscFlag.MULTICAST : 0);
  if (applied === undefined || applied.promisc !== promisc)
    out.push({ kind: "ConfigPromiscuousMode", vsiId, flags: promisc });
  let rssKey = applied?.rss ?? "";
  if ((granted & VfCap.OFFLOAD_RSS_PF) !== 0) {
    rssKey = `${hex(rss.key)}/${hex(rss.lut)}/${rss.hena}`;
    if (applied?.rss !== rssKey) {
      out.push({ kind: "ConfigRssKey", vsiId, bytes: rss.key });
      out.push({ kind: "ConfigRssLut", vsiId, bytes: rss.lut });
      out.push({ kind: "SetRssHena", hena: rss.hena });
    }
  }
  return { messages: out, state: { macs, vlans, promisc, rss: rssKey } };
}
