/** VERSION (opcode 1): `struct virtchnl_version_info` { major u32 @0, minor u32 @4 } in both directions. */
import { checkInt, LE, U32, viewOf } from "../../internal/bytes.js";
import { checkFixedLength } from "../../internal/lengths.js";
import { VirtchnlOp } from "../opcodes.js";

export interface VersionRequest {
  readonly kind: "VersionRequest";
  readonly major: number;
  readonly minor: number;
}
export interface VersionReply {
  readonly kind: "VersionReply";
  readonly major: number;
  readonly minor: number;
}

function decodeVersionInfo(bytes: Uint8Array): { major: number; minor: number } {
  checkFixedLength(VirtchnlOp.VERSION, bytes.length, 8);
  const v = viewOf(bytes);
  return { major: v.getUint32(0, LE), minor: v.getUint32(4, LE) };
}

export const decodeVersionRequest = (b: Uint8Array): VersionRequest => ({
  kind: "VersionRequest",
  ...decodeVersionInfo(b),
});
export const decodeVersionReply = (b: Uint8Array): VersionReply => ({ kind: "VersionReply", ...decodeVersionInfo(b) });

export function encodeVersion(m: VersionRequest | VersionReply): Uint8Array {
  const out = new Uint8Array(8);
  const v = viewOf(out);
  v.setUint32(0, checkInt(m.major, U32, "major", VirtchnlOp.VERSION), LE);
  v.setUint32(4, checkInt(m.minor, U32, "minor", VirtchnlOp.VERSION), LE);
  return out;
}
