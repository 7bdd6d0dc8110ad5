/** CONFIG_PROMISCUOUS_MODE (14): `virtchnl_promisc_info` { vsi_id u16 @0, flags u16 @2 } (4 bytes). */
import { checkInt, LE, U16, viewOf } from "../../internal/bytes.js";
import { checkFixedLength } from "../../internal/lengths.js";
import { VirtchnlOp } from "../opcodes.js";

/** Promiscuous-mode flags (broadcast is always accepted). */
export const PromiscFlag = { UNICAST: 0x1, MULTICAST: 0x2 } as const;

export interface ConfigPromiscuousMode {
  readonly kind: "ConfigPromiscuousMode";
  readonly vsiId: number;
  /** {@link PromiscFlag} bits. */
  readonly flags: number;
}

const OP = VirtchnlOp.CONFIG_PROMISCUOUS_MODE;

export function decodeConfigPromiscuousMode(bytes: Uint8Array): ConfigPromiscuousMode {
  checkFixedLength(OP, bytes.length, 4);
  const v = viewOf(bytes);
  return { kind: "ConfigPromiscuousMode", vsiId: v.getUint16(0, LE), flags: v.getUint16(2, LE) };
}

export function encodeConfigPromiscuousMode(m: ConfigPromiscuousMode): Uint8Array {
  const out = new Uint8Array(4);
  const v = viewOf(out);
  v.setUint16(0, checkInt(m.vsiId, U16, "vsiId", OP), LE);
  v.setUint16(2, checkInt(m.flags, U16, "flags", OP), LE);
  return out;
}
