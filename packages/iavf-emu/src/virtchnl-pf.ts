// The PF side of virtchnl 1.1 for one VF: a request (opcode and payload from the ATQ) becomes a reply with the same
// opcode and a status, or the VF reset (RESET_VF, which has no reply). Malformed requests get the status the reference
// validator gives (ERR_OPCODE_MISMATCH for a bad length or count, ERR_PARAM for a message a VF may not send), opcodes
// without a handler ERR_NOT_SUPPORTED, and configuration before GET_VF_RESOURCES ERR_PARAM, as i40e answers.
import {
  decodeVirtchnl,
  encodeVirtchnl,
  type GetVfResourcesRequest,
  PF_MINIMAL_CAPS,
  RSS_KEY_SIZE,
  RSS_LUT_SIZE,
  type VersionRequest,
  VF_V10_ASSUMED_CAPS,
  VIRTCHNL_VERSION_MAJOR,
  VIRTCHNL_VERSION_MINOR,
  type VirtchnlMessage,
  VirtchnlStatus,
  VsiType,
} from "@emu/iavf-common";
import { type PfContext, type PfReply, refuse } from "./pf-context.js";
import { ethAddr, promisc, rssHenaCaps, rssKey, rssLut, setRssHena, vlan, vlanStripping } from "./pf-filters.js";
import {
  configIrqMap,
  configRxQueue,
  configTxQueue,
  configVsiQueues,
  disableQueues,
  enableQueues,
} from "./pf-queues.js";

/** The capabilities emu_iavf can grant (of them, only those of the bound provider are offered). */
export const IAVF_CAPABILITIES = PF_MINIMAL_CAPS;

/** What a request came to: a reply (with the request as decoded, for the log), or the VF reset. */
export type PfOutcome =
  | { readonly kind: "reply"; readonly opcode: number; readonly reply: PfReply; readonly request?: VirtchnlMessage }
  | { readonly kind: "reset" };

/** Settings of the PF side that do not change while the device lives. */
export interface PfSettings extends Omit<PfContext, "granted"> {
  readonly maxMtu: number;
  readonly defaultMac: string;
}

export class VirtchnlPf {
  /** Capabilities granted by the last GET_VF_RESOURCES. */
  granted = 0;
  /** GET_VF_RESOURCES was answered since the last reset (i40e's VF "active" state). */
  active = false;
  /** The version the VF announced (kept across VF resets: Linux does not send VERSION again). */
  vfVersion: { readonly major: number; readonly minor: number } | undefined;

  constructor(private readonly settings: PfSettings) {}

  private get ctx(): PfContext {
    return { ...this.settings, granted: this.granted };
  }

  /** A VF reset: capabilities and the active state go; the version stays. */
  reset(): void {
    this.granted = 0;
    this.active = false;
  }

  handle(opcode: number, payload: Uint8Array): PfOutcome {
    const r = decodeVirtchnl(opcode, payload, "request");
    if (!r.ok) return { kind: "reply", opcode, reply: refuse(r.error.message, r.error.status) };
    const m = r.value;
    if (m.kind === "ResetVf") return { kind: "reset" };
    return { kind: "reply", opcode, reply: this.dispatch(m), request: m };
  }

  private dispatch(m: VirtchnlMessage): PfReply {
    switch (m.kind) {
      case "VersionRequest":
        return this.version(m);
      case "GetVfResourcesRequest":
        return this.resources(m);
      case "Unknown":
        return refuse(`opcode ${m.opcode} is not implemented`, VirtchnlStatus.ERR_NOT_SUPPORTED);
      case "RequestQueues":
      case "GetSupportedRxdidsRequest":
      case "GetMaxRssQregionRequest":
        return refuse(`${m.kind} needs a capability this PF does not grant`, VirtchnlStatus.ERR_NOT_SUPPORTED);
      default:
        if (!this.active) return refuse(`${m.kind} before GET_VF_RESOURCES`);
        return this.configure(m);
    }
  }

  /** Requests of an active VF. */
  private configure(m: VirtchnlMessage): PfReply {
    const ctx = this.ctx;
    switch (m.kind) {
      case "ConfigVsiQueues":
        return configVsiQueues(ctx, m);
      case "ConfigTxQueue":
        return configTxQueue(ctx, m.txq);
      case "ConfigRxQueue":
        return configRxQueue(ctx, m.rxq);
      case "ConfigIrqMap":
        return configIrqMap(ctx, m);
      case "EnableQueues":
        return enableQueues(ctx, m);
      case "DisableQueues":
        return disableQueues(ctx, m);
      case "AddEthAddr":
      case "DelEthAddr":
        return ethAddr(ctx, m);
      case "AddVlan":
      case "DelVlan":
        return vlan(ctx, m);
      case "EnableVlanStripping":
      case "DisableVlanStripping":
        return vlanStripping(ctx, m.kind === "EnableVlanStripping");
      case "ConfigPromiscuousMode":
        return promisc(ctx, m);
      case "GetStatsRequest":
        return this.stats(m.vsiId);
      case "ConfigRssKey":
        return rssKey(ctx, m);
      case "ConfigRssLut":
        return rssLut(ctx, m);
      case "GetRssHenaCapsRequest":
        return rssHenaCaps();
      case "SetRssHena":
        return setRssHena(ctx, m);
      default:
        return refuse(`${m.kind} is not a request`, VirtchnlStatus.ERR_PARAM);
    }
  }

  /** VERSION: always answered, with 1.1 (1.0 to a VF that announced 1.0, as i40e does). */
  private version(m: VersionRequest): PfReply {
    this.vfVersion = { major: m.major, minor: m.minor };
    const minor = m.major === VIRTCHNL_VERSION_MAJOR && m.minor === 0 ? 0 : VIRTCHNL_VERSION_MINOR;
    const payload = encodeVirtchnl({ kind: "VersionReply", major: VIRTCHNL_VERSION_MAJOR, minor }).payload;
    return { status: VirtchnlStatus.SUCCESS, payload };
  }

  /** GET_VF_RESOURCES: grants what the VF asked for of what the device offers; a LINK_CHANGE follows. */
  private resources(m: GetVfResourcesRequest): PfReply {
    const s = this.settings;
    const asked = m.capabilities ?? VF_V10_ASSUMED_CAPS;
    this.granted = (asked & Number(s.host.offeredFeatures() & 0xffff_ffffn)) >>> 0;
    this.active = true;
    s.host.setFeatures(BigInt(this.granted));
    const payload = encodeVirtchnl({
      kind: "GetVfResourcesReply",
      numQueuePairs: s.queuePairs,
      maxVectors: s.vectors,
      maxMtu: s.maxMtu,
      capabilities: this.granted,
      rssKeySize: RSS_KEY_SIZE,
      rssLutSize: RSS_LUT_SIZE,
      vsis: [
        {
          vsiId: s.vsiId,
          numQueuePairs: s.queuePairs,
          vsiType: VsiType.SRIOV,
          qsetHandle: s.vsiId,
          defaultMac: s.defaultMac,
        },
      ],
    }).payload;
    return { status: VirtchnlStatus.SUCCESS, payload, linkEvent: true };
  }

  private stats(vsiId: number): PfReply {
    if (vsiId !== this.settings.vsiId) return refuse(`vsi_id ${vsiId} is not the VF's VSI ${this.settings.vsiId}`);
    const payload = encodeVirtchnl({ kind: "GetStatsReply", stats: this.settings.state.ethStats() }).payload;
    return { status: VirtchnlStatus.SUCCESS, payload };
  }
}
