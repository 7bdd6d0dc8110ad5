// The receive-side requests of the PF: MAC and VLAN filters, promiscuous modes, VLAN stripping, and RSS (key, LUT,
// hash set). They only change the NIC state; the provider applies it to the frames it delivers.
import {
  type AddEthAddr,
  type AddVlan,
  type ConfigPromiscuousMode,
  type ConfigRssKey,
  type ConfigRssLut,
  DEFAULT_RSS_HENA,
  type DelEthAddr,
  type DelVlan,
  encodeVirtchnl,
  PromiscFlag,
  RSS_KEY_SIZE,
  RSS_LUT_SIZE,
  type SetRssHena,
  VfCap,
  VirtchnlStatus,
} from "@emu/iavf-common";
import { checkVsi, OK, type PfContext, type PfReply, refuse } from "./pf-context.js";

/** MAC filters a VF may hold (the default MAC included), as the DPDK back-end allows. */
const MAX_MAC_FILTERS = 64;
const VLAN_MAX = 4095;
/** The hash set GET_RSS_HENA_CAPS offers: Linux's default set. */
const RSS_HENA_CAPS = DEFAULT_RSS_HENA;

function macProblem(mac: string): string | undefined {
  if (mac === "00:00:00:00:00:00") return "the zero MAC";
  if (mac === "ff:ff:ff:ff:ff:ff") return "the broadcast MAC (always received)";
  return undefined;
}

export function ethAddr(ctx: PfContext, m: AddEthAddr | DelEthAddr): PfReply {
  const bad = checkVsi(ctx, m.vsiId);
  if (bad) return bad;
  if (m.kind === "DelEthAddr") {
    for (const a of m.addresses) ctx.state.delMac(a.mac);
    ctx.host.attributeChanged("filters");
    return OK;
  }
  for (const a of m.addresses) {
    const why = macProblem(a.mac);
    if (why !== undefined) return refuse(`ADD_ETH_ADDR of ${why}`);
  }
  const fresh = new Set(m.addresses.filter((a) => !ctx.state.hasMacText(a.mac)).map((a) => a.mac));
  if (ctx.state.macCount + fresh.size > MAX_MAC_FILTERS) return refuse(`more than ${MAX_MAC_FILTERS} MAC filters`);
  for (const a of m.addresses) ctx.state.addMac(a.mac, a.type & 0x3);
  ctx.host.attributeChanged("filters");
  return OK;
}

export function vlan(ctx: PfContext, m: AddVlan | DelVlan): PfReply {
  if ((ctx.granted & VfCap.OFFLOAD_VLAN) === 0)
    return refuse("VLAN filters need the VLAN capability", VirtchnlStatus.ERR_NOT_SUPPORTED);
  const bad = checkVsi(ctx, m.vsiId);
  if (bad) return bad;
  const wrong = m.vlanIds.find((id) => id > VLAN_MAX);
  if (wrong !== undefined) return refuse(`VLAN id ${wrong} above ${VLAN_MAX}`);
  for (const id of m.vlanIds) {
    if (m.kind === "AddVlan") ctx.state.addVlan(id);
    else ctx.state.delVlan(id);
  }
  ctx.host.attributeChanged("filters");
  return OK;
}

export function vlanStripping(ctx: PfContext, on: boolean): PfReply {
  if ((ctx.granted & VfCap.OFFLOAD_VLAN) === 0)
    return refuse("VLAN stripping needs the VLAN capability", VirtchnlStatus.ERR_NOT_SUPPORTED);
  ctx.state.vlanStripping = on;
  ctx.host.attributeChanged("filters");
  return OK;
}

export function promisc(ctx: PfContext, m: ConfigPromiscuousMode): PfReply {
  const bad = checkVsi(ctx, m.vsiId);
  if (bad) return bad;
  const unknown = m.flags & ~(PromiscFlag.UNICAST | PromiscFlag.MULTICAST);
  if (unknown !== 0) return refuse(`unknown promiscuous flags 0x${unknown.toString(16)}`);
  ctx.state.unicastPromisc = (m.flags & PromiscFlag.UNICAST) !== 0;
  ctx.state.multicastPromisc = (m.flags & PromiscFlag.MULTICAST) !== 0;
  ctx.host.attributeChanged("filters");
  return OK;
}

export function rssKey(ctx: PfContext, m: ConfigRssKey): PfReply {
  const bad = checkVsi(ctx, m.vsiId);
  if (bad) return bad;
  if (m.bytes.length !== RSS_KEY_SIZE) return refuse(`RSS key of ${m.bytes.length} bytes, the VF has ${RSS_KEY_SIZE}`);
  ctx.state.rssKey.set(m.bytes);
  ctx.host.attributeChanged("rss");
  return OK;
}

export function rssLut(ctx: PfContext, m: ConfigRssLut): PfReply {
  const bad = checkVsi(ctx, m.vsiId);
  if (bad) return bad;
  if (m.bytes.length !== RSS_LUT_SIZE)
    return refuse(`RSS LUT of ${m.bytes.length} entries, the VF has ${RSS_LUT_SIZE}`);
  const wrong = m.bytes.find((q) => q >= ctx.queuePairs);
  if (wrong !== undefined) return refuse(`RSS LUT entry ${wrong} beyond the VF's ${ctx.queuePairs} queues`);
  ctx.state.rssLut.set(m.bytes);
  ctx.host.attributeChanged("rss");
  return OK;
}

export function rssHenaCaps(): PfReply {
  return {
    status: VirtchnlStatus.SUCCESS,
    payload: encodeVirtchnl({ kind: "GetRssHenaCapsReply", hena: RSS_HENA_CAPS }).payload,
  };
}

/** Stores the hash set, narrowed to what GET_RSS_HENA_CAPS offered (as hardware ignores the other bits). */
export function setRssHena(ctx: PfContext, m: SetRssHena): PfReply {
  ctx.state.rssHena = m.hena & RSS_HENA_CAPS;
  ctx.host.attributeChanged("rss");
  return OK;
}
