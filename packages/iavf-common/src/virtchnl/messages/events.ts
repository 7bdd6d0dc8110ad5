/**
 * EVENT (17, PF → VF only): `virtchnl_pf_event` { event s32 @0, event_data[8] @4, severity s32 @12 } (16 bytes).
 * LINK_CHANGE's data is { link_speed u32 @4, link_status u8 @8 }: the speed is a legacy {@link LinkSpeed} value, or
 * Mbps when CAP_ADV_LINK_SPEED was negotiated (the bytes do not say which).
 */
import { checkInt, LE, U32, viewOf } from "../../internal/bytes.js";
import { checkFixedLength } from "../../internal/lengths.js";
import { VirtchnlOp } from "../opcodes.js";

/** `enum virtchnl_event_codes`. */
export const PfEventCode = {
  UNKNOWN: 0,
  LINK_CHANGE: 1,
  RESET_IMPENDING: 2,
  PF_DRIVER_CLOSE: 3,
  /** DPDK DCF only. */
  DCF_VSI_MAP_UPDATE: 4,
} as const;

/** `severity` values. */
export const PfEventSeverity = { INFO: 0, ATTENTION: 1, ACTION_REQUIRED: 2, CERTAIN_DOOM: 255 } as const;

/** Legacy `enum virtchnl_link_speed` (a bit per speed). */
export const LinkSpeed = {
  UNKNOWN: 0,
  SPEED_2_5GB: 0x01,
  SPEED_100MB: 0x02,
  SPEED_1GB: 0x04,
  SPEED_10GB: 0x08,
  SPEED_40GB: 0x10,
  SPEED_20GB: 0x20,
  SPEED_25GB: 0x40,
  SPEED_5GB: 0x80,
} as const;

const LEGACY_MBPS: ReadonlyMap<number, number> = new Map([
  [LinkSpeed.SPEED_2_5GB, 2500],
  [LinkSpeed.SPEED_100MB, 100],
  [LinkSpeed.SPEED_1GB, 1000],
  [LinkSpeed.SPEED_10GB, 10000],
  [LinkSpeed.SPEED_40GB, 40000],
  [LinkSpeed.SPEED_20GB, 20000],
  [LinkSpeed.SPEED_25GB, 25000],
  [LinkSpeed.SPEED_5GB, 5000],
]);

/** Mbps of a legacy link-speed value (0 for UNKNOWN or a value that is not one speed). */
export function legacyLinkSpeedToMbps(speed: number): number {
  return LEGACY_MBPS.get(speed) ?? 0;
}

/** The legacy link-speed value of `mbps` (UNKNOWN when there is none). */
export function mbpsToLegacyLinkSpeed(mbps: number): number {
  for (const [legacy, m] of LEGACY_MBPS) if (m === mbps) return legacy;
  return LinkSpeed.UNKNOWN;
}

export type PfEvent =
  | { readonly type: "LinkChange"; readonly linkSpeed: number; readonly linkUp: boolean; readonly severity: number }
  | { readonly type: "ResetImpending"; readonly severity: number }
  | { readonly type: "PfDriverClose"; readonly severity: number }
  /** Any other event code, its 8 data bytes as sent. */
  | { readonly type: "Other"; readonly code: number; readonly data: Uint8Array; readonly severity: number };

export interface Event {
  readonly kind: "Event";
  readonly event: PfEvent;
}

const OP = VirtchnlOp.EVENT;
const PF_EVENT_SIZE = 16;

export function decodeEvent(bytes: Uint8Array): Event {
  checkFixedLength(OP, bytes.length, PF_EVENT_SIZE);
  const v = viewOf(bytes);
  const code = v.getInt32(0, LE);
  const severity = v.getInt32(12, LE);
  switch (code) {
    case PfEventCode.LINK_CHANGE:
      return {
        kind: "Event",
        event: { type: "LinkChange", linkSpeed: v.getUint32(4, LE), linkUp: v.getUint8(8) !== 0, severity },
      };
    case PfEventCode.RESET_IMPENDING:
      return { kind: "Event", event: { type: "ResetImpending", severity } };
    case PfEventCode.PF_DRIVER_CLOSE:
      return { kind: "Event", event: { type: "PfDriverClose", severity } };
    default:
      return { kind: "Event", event: { type: "Other", code, data: bytes.slice(4, 12), severity } };
  }
}

const S32 = [-0x8000_0000, 0x7fff_ffff] as const;

export function encodeEvent(m: Event): Uint8Array {
  const out = new Uint8Array(PF_EVENT_SIZE);
  const v = viewOf(out);
  const e = m.event;
  v.setInt32(12, checkInt(e.severity, S32[1], "severity", OP, S32[0]), LE);
  switch (e.type) {
    case "LinkChange":
      v.setInt32(0, PfEventCode.LINK_CHANGE, LE);
      v.setUint32(4, checkInt(e.linkSpeed, U32, "linkSpeed", OP), LE);
      v.setUint8(8, e.linkUp ? 1 : 0);
      break;
    case "ResetImpending":
      v.setInt32(0, PfEventCode.RESET_IMPENDING, LE);
      break;
    case "PfDriverClose":
      v.setInt32(0, PfEventCode.PF_DRIVER_CLOSE, LE);
      break;
    case "Other":
      v.setInt32(0, checkInt(e.code, S32[1], "code", OP, S32[0]), LE);
      out.set(e.data.subarray(0, 8), 4);
      break;
  }
  return out;
}
