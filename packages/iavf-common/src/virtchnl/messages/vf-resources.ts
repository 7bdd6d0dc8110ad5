/**
 * GET_VF_RESOURCES (3): the request is empty (a 1.0 VF) or one u32 capability
 * word (1.1); the reply is `struct virtchnl_vf_resource` (20-byte header) followed by `virtchnl_vsi_resource` entries.
 */
import { IavfError } from "../../errors.js";
import { checkInt, LE, U16, U32, viewOf } from "../../internal/bytes.js";
import { checkListLength, checkMinLength, legacyListLength } from "../../internal/lengths.js";
import { formatMac, writeMac } from "../../mac.js";
import { VirtchnlOp } from "../opcodes.js";

/** `vsi_type` values; drivers look for the SR-IOV VSI. */
export const VsiType = { SRIOV: 6 } as const;

export interface GetVfResourcesRequest {
  readonly kind: "GetVfResourcesRequest";
  /** The capabilities a 1.1 VF asks for ({@link VfCap}); absent for a 1.0 VF (empty payload). */
  readonly capabilities?: number;
}

/** `struct virtchnl_vsi_resource` (16 bytes). */
export interface VsiResource {
  readonly vsiId: number;
  readonly numQueuePairs: number;
  /** Signed 32-bit; {@link VsiType.SRIOV} for the VF's VSI. */
  readonly vsiType: number;
  readonly qsetHandle: number;
  /** All zero when the PF leaves the choice to the VF (drivers then pick a random MAC). */
  readonly defaultMac: string;
}

export interface GetVfResourcesReply {
  readonly kind: "GetVfResourcesReply";
  readonly numQueuePairs: number;
  readonly maxVectors: number;
  readonly maxMtu: number;
  /** The capabilities granted ({@link VfCap}). */
  readonly capabilities: number;
  readonly rssKeySize: number;
  readonly rssLutSize: number;
  /** `num_vsis` is this list's length. */
  readonly vsis: readonly VsiResource[];
}

const OP = VirtchnlOp.GET_VF_RESOURCES;
const HEADER = 20;
const VSI = 16;

export function decodeGetVfResourcesRequest(bytes: Uint8Array): GetVfResourcesRequest {
  if (bytes.length === 0) return { kind: "GetVfResourcesRequest" };
  if (bytes.length !== 4)
    throw new IavfError("BadLength", `GET_VF_RESOURCES: ${bytes.length} bytes, expected 0 or 4`, OP);
  return { kind: "GetVfResourcesRequest", capabilities: viewOf(bytes).getUint32(0, LE) };
}

export function encodeGetVfResourcesRequest(m: GetVfResourcesRequest): Uint8Array {
  if (m.capabilities === undefined) return new Uint8Array(0);
  const out = new Uint8Array(4);
  viewOf(out).setUint32(0, checkInt(m.capabilities, U32, "capabilities", OP), LE);
  return out;
}

export function decodeGetVfResourcesReply(bytes: Uint8Array): GetVfResourcesReply {
  checkMinLength(OP, bytes.length, HEADER);
  const v = viewOf(bytes);
  const n = v.getUint16(0, LE);
  checkListLength(OP, bytes.length, HEADER, VSI, n);
  const vsis: VsiResource[] = [];
  for (let i = 0; i < n; i++) {
    const at = HEADER + i * VSI;
    vsis.push({
      vsiId: v.getUint16(at, LE),
      numQueuePairs: v.getUint16(at + 2, LE),
      vsiType: v.getInt32(at + 4, LE),
      qsetHandle: v.getUint16(at + 8, LE),
      defaultMac: formatMac(bytes, at + 10),
    });
  }
  return {
    kind: "GetVfResourcesReply",
    numQueuePairs: v.getUint16(2, LE),
    maxVectors: v.getUint16(4, LE),
    maxMtu: v.getUint16(6, LE),
    capabilities: v.getUint32(8, LE),
    rssKeySize: v.getUint32(12, LE),
    rssLutSize: v.getUint32(16, LE),
    vsis,
  };
}

/** Encodes the reply at its legacy length, 36 + 16·num_vsis (one zeroed VSI slot after the last). */
export function encodeGetVfResourcesReply(m: GetVfResourcesReply): Uint8Array {
  const n = checkInt(m.vsis.length, U16, "num_vsis", OP);
  const out = new Uint8Array(legacyListLength(HEADER, VSI, n));
  const v = viewOf(out);
  v.setUint16(0, n, LE);
  v.setUint16(2, checkInt(m.numQueuePairs, U16, "numQueuePairs", OP), LE);
  v.setUint16(4, checkInt(m.maxVectors, U16, "maxVectors", OP), LE);
  v.setUint16(6, checkInt(m.maxMtu, U16, "maxMtu", OP), LE);
  v.setUint32(8, checkInt(m.capabilities, U32, "capabilities", OP), LE);
  v.setUint32(12, checkInt(m.rssKeySize, U32, "rssKeySize", OP), LE);
  v.setUint32(16, checkInt(m.rssLutSize, U32, "rssLutSize", OP), LE);
  m.vsis.forEach((vsi, i) => {
    const at = HEADER + i * VSI;
    v.setUint16(at, checkInt(vsi.vsiId, U16, "vsiId", OP), LE);
    v.setUint16(at + 2, checkInt(vsi.numQueuePairs, U16, "vsi numQueuePairs", OP), LE);
    v.setInt32(at + 4, checkInt(vsi.vsiType, 0x7fff_ffff, "vsiType", OP, -0x8000_0000), LE);
    v.setUint16(at + 8, checkInt(vsi.qsetHandle, U16, "qsetHandle", OP), LE);
    writeMac(out, at + 10, vsi.defaultMac, OP);
  });
  return out;
}
