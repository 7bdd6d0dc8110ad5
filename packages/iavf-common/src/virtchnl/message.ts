/**
 * The virtchnl message model: one `kind`-tagged union of every message this package decodes, and the two entry
 * points `decodeVirtchnl(opcode, bytes, direction)` and `encodeVirtchnl(message)`.
 *
 * A request travels VF → PF (the ATQ), a reply or an event PF → VF (the ARQ). The virtchnl status is not part of
 * the payload: it travels in the descriptor's cookie_low. A reply with a non-zero status may carry no payload, so
 * check the status before decoding a reply.
 */
import { IavfError, type Result, tryIavf } from "../errors.js";
import { checkFixedLength } from "../internal/lengths.js";
import { type AddEthAddr, type DelEthAddr, decodeEthAddrList, encodeEthAddrList } from "./messages/eth-addr.js";
import { decodeEvent, type Event, encodeEvent } from "./messages/events.js";
import { type ConfigIrqMap, decodeConfigIrqMap, encodeConfigIrqMap } from "./messages/irq-map.js";
import {
  type ConfigPromiscuousMode,
  decodeConfigPromiscuousMode,
  encodeConfigPromiscuousMode,
} from "./messages/promisc.js";
import {
  decodeGetSupportedRxdidsReply,
  decodeRequestQueues,
  decodeRequestQueuesReply,
  encodeGetSupportedRxdidsReply,
  encodeRequestQueues,
  type GetSupportedRxdidsReply,
  type GetSupportedRxdidsRequest,
  type RequestQueues,
  type RequestQueuesReply,
} from "./messages/queue-resources.js";
import {
  type DisableQueues,
  decodeQueueSelect,
  type EnableQueues,
  encodeQueueSelect,
  type GetStatsRequest,
} from "./messages/queue-select.js";
import {
  type ConfigRssKey,
  type ConfigRssLut,
  decodeGetMaxRssQregionReply,
  decodeGetRssHenaCapsReply,
  decodeRssBytes,
  decodeSetRssHena,
  encodeGetMaxRssQregionReply,
  encodeHena,
  encodeRssBytes,
  type GetMaxRssQregionReply,
  type GetMaxRssQregionRequest,
  type GetRssHenaCapsReply,
  type GetRssHenaCapsRequest,
  type SetRssHena,
} from "./messages/rss.js";
import { decodeGetStatsReply, encodeGetStatsReply, type GetStatsReply } from "./messages/stats.js";
import {
  decodeVersionReply,
  decodeVersionRequest,
  encodeVersion,
  type VersionReply,
  type VersionRequest,
} from "./messages/version.js";
import {
  decodeGetVfResourcesReply,
  decodeGetVfResourcesRequest,
  encodeGetVfResourcesReply,
  encodeGetVfResourcesRequest,
  type GetVfResourcesReply,
  type GetVfResourcesRequest,
} from "./messages/vf-resources.js";
import {
  type AddVlan,
  type DelVlan,
  type DisableVlanStripping,
  decodeVlanList,
  type EnableVlanStripping,
  encodeVlanList,
} from "./messages/vlan.js";
import {
  type ConfigRxQueue,
  type ConfigTxQueue,
  type ConfigVsiQueues,
  decodeConfigRxQueue,
  decodeConfigTxQueue,
  decodeConfigVsiQueues,
  encodeConfigRxQueue,
  encodeConfigTxQueue,
  encodeConfigVsiQueues,
} from "./messages/vsi-queues.js";
import { VirtchnlOp, virtchnlOpName } from "./opcodes.js";

/** Which way a message travels: `request` VF → PF, `reply` PF → VF (replies and events). */
export type VirtchnlDirection = "request" | "reply";

/** RESET_VF (2): no payload, and the PF never replies. */
export interface ResetVf {
  readonly kind: "ResetVf";
}

/** A reply that carries only its status (in the descriptor): the reply to every configuring request. */
export interface Ack {
  readonly kind: "Ack";
  readonly opcode: number;
}

/** An opcode this package has no codec for, its payload as sent (a PF answers it with ERR_NOT_SUPPORTED). */
export interface Unknown {
  readonly kind: "Unknown";
  readonly opcode: number;
  readonly direction: VirtchnlDirection;
  readonly payload: Uint8Array;
}

/** Messages a VF sends. */
export type VirtchnlRequest =
  | VersionRequest
  | ResetVf
  | GetVfResourcesRequest
  | ConfigTxQueue
  | ConfigRxQueue
  | ConfigVsiQueues
  | ConfigIrqMap
  | EnableQueues
  | DisableQueues
  | AddEthAddr
  | DelEthAddr
  | AddVlan
  | DelVlan
  | ConfigPromiscuousMode
  | GetStatsRequest
  | ConfigRssKey
  | ConfigRssLut
  | GetRssHenaCapsRequest
  | SetRssHena
  | EnableVlanStripping
  | DisableVlanStripping
  | RequestQueues
  | GetSupportedRxdidsRequest
  | GetMaxRssQregionRequest;

/** Messages a PF sends. */
export type VirtchnlReply =
  | VersionReply
  | GetVfResourcesReply
  | GetStatsReply
  | GetRssHenaCapsReply
  | RequestQueuesReply
  | GetSupportedRxdidsReply
  | GetMaxRssQregionReply
  | Event
  | Ack;

export type VirtchnlMessage = VirtchnlRequest | VirtchnlReply | Unknown;
export type VirtchnlKind = VirtchnlMessage["kind"];

/** A message as it goes on the mailbox: the opcode (the descriptor's cookie_high) and the payload (its buffer). */
export interface EncodedVirtchnl {
  readonly opcode: number;
  readonly payload: Uint8Array;
}

type Decoder = (bytes: Uint8Array, opcode: number) => VirtchnlMessage;
type Encodable = Exclude<VirtchnlMessage, Ack | Unknown>;
type EncodableKind = Encodable["kind"];

/** A message without payload: its length must be 0. */
const empty =
  <K extends string>(kind: K) =>
  (bytes: Uint8Array, opcode: number): { readonly kind: K } => {
    checkFixedLength(opcode, bytes.length, 0);
    return { kind };
  };
/** A status-only reply: whatever payload a PF put there is ignored. */
const ack: Decoder = (_bytes, opcode) => ({ kind: "Ack", opcode });

/** Per opcode: the decoder of each direction it travels in (declarative table, in opcode order). */
const DECODERS: ReadonlyMap<number, { readonly request?: Decoder; readonly reply?: Decoder }> = new Map<
  number,
  { readonly request?: Decoder; readonly reply?: Decoder }
>([
  [VirtchnlOp.VERSION, { request: decodeVersionRequest, reply: decodeVersionReply }],
  [VirtchnlOp.RESET_VF, { request: empty("ResetVf") }],
  [VirtchnlOp.GET_VF_RESOURCES, { request: decodeGetVfResourcesRequest, reply: decodeGetVfResourcesReply }],
  [VirtchnlOp.CONFIG_TX_QUEUE, { request: decodeConfigTxQueue, reply: ack }],
  [VirtchnlOp.CONFIG_RX_QUEUE, { request: decodeConfigRxQueue, reply: ack }],
  [VirtchnlOp.CONFIG_VSI_QUEUES, { request: decodeConfigVsiQueues, reply: ack }],
  [VirtchnlOp.CONFIG_IRQ_MAP, { request: decodeConfigIrqMap, reply: ack }],
  [VirtchnlOp.ENABLE_QUEUES, { request: (b, op) => decodeQueueSelect("EnableQueues", op, b), reply: ack }],
  [VirtchnlOp.DISABLE_QUEUES, { request: (b, op) => decodeQueueSelect("DisableQueues", op, b), reply: ack }],
  [VirtchnlOp.ADD_ETH_ADDR, { request: (b, op) => decodeEthAddrList("AddEthAddr", op, b), reply: ack }],
  [VirtchnlOp.DEL_ETH_ADDR, { request: (b, op) => decodeEthAddrList("DelEthAddr", op, b), reply: ack }],
  [VirtchnlOp.ADD_VLAN, { request: (b, op) => decodeVlanList("AddVlan", op, b), reply: ack }],
  [VirtchnlOp.DEL_VLAN, { request: (b, op) => decodeVlanList("DelVlan", op, b), reply: ack }],
  [VirtchnlOp.CONFIG_PROMISCUOUS_MODE, { request: decodeConfigPromiscuousMode, reply: ack }],
  [
    VirtchnlOp.GET_STATS,
    { request: (b, op) => decodeQueueSelect("GetStatsRequest", op, b), reply: decodeGetStatsReply },
  ],
  [VirtchnlOp.EVENT, { reply: decodeEvent }],
  [VirtchnlOp.CONFIG_RSS_KEY, { request: (b, op) => decodeRssBytes("ConfigRssKey", op, b), reply: ack }],
  [VirtchnlOp.CONFIG_RSS_LUT, { request: (b, op) => decodeRssBytes("ConfigRssLut", op, b), reply: ack }],
  [VirtchnlOp.GET_RSS_HENA_CAPS, { request: empty("GetRssHenaCapsRequest"), reply: decodeGetRssHenaCapsReply }],
  [VirtchnlOp.SET_RSS_HENA, { request: decodeSetRssHena, reply: ack }],
  [VirtchnlOp.ENABLE_VLAN_STRIPPING, { request: empty("EnableVlanStripping"), reply: ack }],
  [VirtchnlOp.DISABLE_VLAN_STRIPPING, { request: empty("DisableVlanStripping"), reply: ack }],
  [VirtchnlOp.REQUEST_QUEUES, { request: decodeRequestQueues, reply: decodeRequestQueuesReply }],
  [
    VirtchnlOp.GET_SUPPORTED_RXDIDS,
    { request: empty("GetSupportedRxdidsRequest"), reply: decodeGetSupportedRxdidsReply },
  ],
  [VirtchnlOp.GET_MAX_RSS_QREGION, { request: empty("GetMaxRssQregionRequest"), reply: decodeGetMaxRssQregionReply }],
]);

const none = (): Uint8Array => new Uint8Array(0);

/** Per kind: its opcode and its encoder (declarative table). */
const ENCODERS: {
  readonly [K in EncodableKind]: readonly [number, (m: Extract<Encodable, { kind: K }>, opcode: number) => Uint8Array];
} = {
  VersionRequest: [VirtchnlOp.VERSION, encodeVersion],
  VersionReply: [VirtchnlOp.VERSION, encodeVersion],
  ResetVf: [VirtchnlOp.RESET_VF, none],
  GetVfResourcesRequest: [VirtchnlOp.GET_VF_RESOURCES, encodeGetVfResourcesRequest],
  GetVfResourcesReply: [VirtchnlOp.GET_VF_RESOURCES, encodeGetVfResourcesReply],
  ConfigTxQueue: [VirtchnlOp.CONFIG_TX_QUEUE, encodeConfigTxQueue],
  ConfigRxQueue: [VirtchnlOp.CONFIG_RX_QUEUE, encodeConfigRxQueue],
  ConfigVsiQueues: [VirtchnlOp.CONFIG_VSI_QUEUES, encodeConfigVsiQueues],
  ConfigIrqMap: [VirtchnlOp.CONFIG_IRQ_MAP, encodeConfigIrqMap],
  EnableQueues: [VirtchnlOp.ENABLE_QUEUES, encodeQueueSelect],
  DisableQueues: [VirtchnlOp.DISABLE_QUEUES, encodeQueueSelect],
  AddEthAddr: [VirtchnlOp.ADD_ETH_ADDR, encodeEthAddrList],
  DelEthAddr: [VirtchnlOp.DEL_ETH_ADDR, encodeEthAddrList],
  AddVlan: [VirtchnlOp.ADD_VLAN, encodeVlanList],
  DelVlan: [VirtchnlOp.DEL_VLAN, encodeVlanList],
  ConfigPromiscuousMode: [VirtchnlOp.CONFIG_PROMISCUOUS_MODE, encodeConfigPromiscuousMode],
  GetStatsRequest: [VirtchnlOp.GET_STATS, encodeQueueSelect],
  GetStatsReply: [VirtchnlOp.GET_STATS, encodeGetStatsReply],
  Event: [VirtchnlOp.EVENT, encodeEvent],
  ConfigRssKey: [VirtchnlOp.CONFIG_RSS_KEY, encodeRssBytes],
  ConfigRssLut: [VirtchnlOp.CONFIG_RSS_LUT, encodeRssBytes],
  GetRssHenaCapsRequest: [VirtchnlOp.GET_RSS_HENA_CAPS, none],
  GetRssHenaCapsReply: [VirtchnlOp.GET_RSS_HENA_CAPS, encodeHena],
  SetRssHena: [VirtchnlOp.SET_RSS_HENA, encodeHena],
  EnableVlanStripping: [VirtchnlOp.ENABLE_VLAN_STRIPPING, none],
  DisableVlanStripping: [VirtchnlOp.DISABLE_VLAN_STRIPPING, none],
  RequestQueues: [VirtchnlOp.REQUEST_QUEUES, encodeRequestQueues],
  RequestQueuesReply: [VirtchnlOp.REQUEST_QUEUES, encodeRequestQueues],
  GetSupportedRxdidsRequest: [VirtchnlOp.GET_SUPPORTED_RXDIDS, none],
  GetSupportedRxdidsReply: [VirtchnlOp.GET_SUPPORTED_RXDIDS, encodeGetSupportedRxdidsReply],
  GetMaxRssQregionRequest: [VirtchnlOp.GET_MAX_RSS_QREGION, none],
  GetMaxRssQregionReply: [VirtchnlOp.GET_MAX_RSS_QREGION, encodeGetMaxRssQregionReply],
};

/**
 * Decodes the payload of a virtchnl message. Never throws: bytes that do not fit the opcode's structure give
 * `{ ok: false, error }`, an {@link IavfError} naming the opcode, the reason and the status a PF answers with.
 * List messages are accepted at their exact and at their legacy ("one extra element") length.
 */
export function decodeVirtchnl(
  opcode: number,
  bytes: Uint8Array,
  direction: VirtchnlDirection,
): Result<VirtchnlMessage, IavfError> {
  return tryIavf(() => {
    const codec = DECODERS.get(opcode);
    if (codec === undefined) {
      if (opcode === 0) throw new IavfError("BadDirection", "opcode 0 (UNKNOWN) is never sent", opcode);
      return { kind: "Unknown", opcode, direction, payload: bytes.slice() };
    }
    const decode = direction === "request" ? codec.request : codec.reply;
    if (decode === undefined) {
      const from = direction === "request" ? "a VF" : "a PF";
      throw new IavfError("BadDirection", `${virtchnlOpName(opcode)} is never sent by ${from}`, opcode);
    }
    return decode(bytes, opcode);
  });
}

/**
 * Encodes a message: its opcode and its payload, list messages at their legacy length (what every PF validator
 * expects). Throws an `OutOfRange` {@link IavfError} for a value its wire field cannot hold.
 */
export function encodeVirtchnl(message: VirtchnlMessage): EncodedVirtchnl {
  if (message.kind === "Unknown") return { opcode: message.opcode, payload: message.payload.slice() };
  if (message.kind === "Ack") return { opcode: message.opcode, payload: new Uint8Array(0) };
  const [opcode, encode] = ENCODERS[message.kind] as readonly [number, (m: Encodable, opcode: number) => Uint8Array];
  return { opcode, payload: encode(message, opcode) };
}
