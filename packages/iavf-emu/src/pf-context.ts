// What a virtchnl request handler of the PF side works with, and what it answers.
import type { DriverHost } from "@emu/emudev";
import { VirtchnlStatus } from "@emu/iavf-common";
import type { NicState } from "./nic-state.js";

/** The PF's view of its one VF. */
export interface PfContext {
  readonly state: NicState;
  readonly host: DriverHost;
  /** The VSI id given in GET_VF_RESOURCES; requests naming another are refused (ERR_PARAM). */
  readonly vsiId: number;
  readonly queuePairs: number;
  /** MSI-X vectors (vector 0 is the mailbox). */
  readonly vectors: number;
  /** Capabilities granted by the last GET_VF_RESOURCES (0 before). */
  readonly granted: number;
}

/** A handler's answer: the status (and payload) of the reply, and why it refused, for the log. */
export interface PfReply {
  readonly status: number;
  readonly payload?: Uint8Array;
  /** Post a LINK_CHANGE event after the reply (GET_VF_RESOURCES, ENABLE_QUEUES). */
  readonly linkEvent?: boolean;
  /** Why the status is an error (logged with the conversation). */
  readonly why?: string;
}

export const OK: PfReply = { status: VirtchnlStatus.SUCCESS };

/** A refusal with ERR_PARAM (or `status`), saying why. */
export function refuse(why: string, status: number = VirtchnlStatus.ERR_PARAM): PfReply {
  return { status, why };
}

/** ERR_PARAM unless `vsiId` is the VF's VSI. */
export function checkVsi(ctx: PfContext, vsiId: number): PfReply | undefined {
  return vsiId === ctx.vsiId ? undefined : refuse(`vsi_id ${vsiId} is not the VF's VSI ${ctx.vsiId}`);
}

/** The bits of `map` that are not queues of the VF, or 0. */
export function queuesBeyond(ctx: PfContext, map: number): number {
  return ctx.queuePairs >= 32 ? 0 : (map & ~((1 << ctx.queuePairs) - 1)) >>> 0;
}
