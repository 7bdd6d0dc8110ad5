/**
 * ADD_VLAN (12) and DEL_VLAN (13): `virtchnl_vlan_filter_list` { vsi_id u16 @0, num_elements u16 @2, vlan_id[] u16 @4 };
 * ENABLE_VLAN_STRIPPING (27) and DISABLE_VLAN_STRIPPING (28) carry no payload.
 */
import { checkInt, LE, U16, viewOf } from "../../internal/bytes.js";
import { checkListLength, checkMinLength, checkNonZero, legacyListLength } from "../../internal/lengths.js";

interface VlanListFields {
  readonly vsiId: number;
  /** `num_elements` is this list's length (at least 1). */
  readonly vlanIds: readonly number[];
}
export interface AddVlan extends VlanListFields {
  readonly kind: "AddVlan";
}
export interface DelVlan extends VlanListFields {
  readonly kind: "DelVlan";
}
export interface EnableVlanStripping {
  readonly kind: "EnableVlanStripping";
}
export interface DisableVlanStripping {
  readonly kind: "DisableVlanStripping";
}

const HEADER = 4;

export function decodeVlanList<K extends "AddVlan" | "DelVlan">(
  kind: K,
  opcode: number,
  bytes: Uint8Array,
): VlanListFields & { readonly kind: K } {
  checkMinLength(opcode, bytes.length, HEADER);
  const v = viewOf(bytes);
  const n = v.getUint16(2, LE);
  checkNonZero(opcode, n, "num_elements");
  checkListLength(opcode, bytes.length, HEADER, 2, n);
  const vlanIds: number[] = [];
  for (let i = 0; i < n; i++) vlanIds.push(v.getUint16(HEADER + 2 * i, LE));
  return { kind, vsiId: v.getUint16(0, LE), vlanIds };
}

/** Encodes at the legacy length 6 + 2·n. */
export function encodeVlanList(m: AddVlan | DelVlan, opcode: number): Uint8Array {
  const n = checkInt(m.vlanIds.length, U16, "num_elements", opcode, 1);
  const out = new Uint8Array(legacyListLength(HEADER, 2, n));
  const v = viewOf(out);
  v.setUint16(0, checkInt(m.vsiId, U16, "vsiId", opcode), LE);
  v.setUint16(2, n, LE);
  m.vlanIds.forEach((id, i) => {
    v.setUint16(HEADER + 2 * i, checkInt(id, U16, "vlanId", opcode), LE);
  });
  return out;
}
