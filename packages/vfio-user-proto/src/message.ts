import { commandName } from "./command.js";
import { ProtoError, type Result, tryDecode } from "./errors.js";
import type { Frame } from "./frame-parser.js";
import { decodeHeader, HEADER_SIZE, type Header, HeaderField, HeaderFlags } from "./header.js";
import type { MessageCodec } from "./internal/codec.js";
import { Reader } from "./internal/reader.js";
import { Writer } from "./internal/writer.js";
import {
  type DeviceFeatureReply,
  type DeviceFeatureRequest,
  deviceFeatureReplyCodec,
  deviceFeatureRequestCodec,
} from "./messages/device-feature.js";
import {
  type DeviceGetInfoReply,
  type DeviceGetInfoRequest,
  deviceGetInfoReplyCodec,
  deviceGetInfoRequestCodec,
} from "./messages/device-get-info.js";
import {
  type DeviceGetIrqInfoReply,
  type DeviceGetIrqInfoRequest,
  deviceGetIrqInfoReplyCodec,
  deviceGetIrqInfoRequestCodec,
} from "./messages/device-get-irq-info.js";
import {
  type DeviceGetRegionInfoReply,
  type DeviceGetRegionInfoRequest,
  deviceGetRegionInfoReplyCodec,
  deviceGetRegionInfoRequestCodec,
} from "./messages/device-get-region-info.js";
import {
  type DeviceGetRegionIoFdsReply,
  type DeviceGetRegionIoFdsRequest,
  deviceGetRegionIoFdsReplyCodec,
  deviceGetRegionIoFdsRequestCodec,
} from "./messages/device-get-region-io-fds.js";
import {
  type DeviceResetReply,
  type DeviceResetRequest,
  deviceResetReplyCodec,
  deviceResetRequestCodec,
} from "./messages/device-reset.js";
import {
  type DeviceSetIrqsReply,
  type DeviceSetIrqsRequest,
  deviceSetIrqsReplyCodec,
  deviceSetIrqsRequestCodec,
} from "./messages/device-set-irqs.js";
import {
  type DmaReadReply,
  type DmaReadRequest,
  type DmaWriteReply,
  type DmaWriteRequest,
  dmaReadReplyCodec,
  dmaReadRequestCodec,
  dmaWriteReplyCodec,
  dmaWriteRequestCodec,
} from "./messages/dma-access.js";
import { type DmaMapReply, type DmaMapRequest, dmaMapReplyCodec, dmaMapRequestCodec } from "./messages/dma-map.js";
import {
  type DmaUnmapReply,
  type DmaUnmapRequest,
  dmaUnmapReplyCodec,
  dmaUnmapRequestCodec,
} from "./messages/dma-unmap.js";
import {
  type MigDataReadReply,
  type MigDataReadRequest,
  type MigDataWriteReply,
  type MigDataWriteRequest,
  migDataReadReplyCodec,
  migDataReadRequestCodec,
  migDataWriteReplyCodec,
  migDataWriteRequestCodec,
} from "./messages/mig-data.js";
import {
  type RegionReadReply,
  type RegionReadRequest,
  type RegionWriteReply,
  type RegionWriteRequest,
  regionReadReplyCodec,
  regionReadRequestCodec,
  regionWriteReplyCodec,
  regionWriteRequestCodec,
} from "./messages/region-access.js";
import {
  type RegionWriteMultiReply,
  type RegionWriteMultiRequest,
  regionWriteMultiReplyCodec,
  regionWriteMultiRequestCodec,
} from "./messages/region-write-multi.js";
import { type VersionReply, type VersionRequest, versionReplyCodec, versionRequestCodec } from "./messages/version.js";

/**
 * A reply with the ERROR flag, for any command. We encode it as the bare header (as the spec says); a decoded one keeps
 * whatever payload the peer sent (libvfio-user sometimes sends 16 bytes) in `payload` and re-encodes it.
 */
export interface ErrorReply {
  readonly kind: "ErrorReply";
  /** The failed command's number (echoed in the header). */
  readonly command: number;
  /** Linux errno from the header's `error` field (may be 0). */
  readonly errno: number;
  /** Payload bytes the peer sent despite the spec; absent when there were none. A view of the frame. */
  readonly payload?: Uint8Array;
}

/**
 * A message whose command number is not assigned (0, 14, 19+, …). A server answers an unknown *command* with an
 * {@link ErrorReply} (libvfio-user uses EINVAL).
 */
export interface UnknownMessage {
  readonly kind: "Unknown";
  readonly command: number;
  /** True if the header's type bits say reply. */
  readonly reply: boolean;
  /** A view of the frame. */
  readonly payload: Uint8Array;
}

/** Every vfio-user message, tagged by `kind`. Data fields of decoded messages are views of the frame (zero-copy). */
export type Message =
  | VersionRequest
  | VersionReply
  | DmaMapRequest
  | DmaMapReply
  | DmaUnmapRequest
  | DmaUnmapReply
  | DeviceGetInfoRequest
  | DeviceGetInfoReply
  | DeviceGetRegionInfoRequest
  | DeviceGetRegionInfoReply
  | DeviceGetRegionIoFdsRequest
  | DeviceGetRegionIoFdsReply
  | DeviceGetIrqInfoRequest
  | DeviceGetIrqInfoReply
  | DeviceSetIrqsRequest
  | DeviceSetIrqsReply
  | RegionReadRequest
  | RegionReadReply
  | RegionWriteRequest
  | RegionWriteReply
  | DmaReadRequest
  | DmaReadReply
  | DmaWriteRequest
  | DmaWriteReply
  | DeviceResetRequest
  | DeviceResetReply
  | RegionWriteMultiRequest
  | RegionWriteMultiReply
  | DeviceFeatureRequest
  | DeviceFeatureReply
  | MigDataReadRequest
  | MigDataReadReply
  | MigDataWriteRequest
  | MigDataWriteReply
  | ErrorReply
  | UnknownMessage;

/** The `kind` tag of every message, e.g. `"DmaMapRequest"`. */
export type MessageKind = Message["kind"];
/** The message type of a kind: `MessageOf<"RegionReadRequest">`. */
export type MessageOf<K extends MessageKind> = Extract<Message, { kind: K }>;
/** Commands (header type 0). */
export type RequestMessage = Extract<Message, { kind: `${string}Request` }>;
/** Successful replies (header type 1, no ERROR). */
export type SuccessReply = Extract<Message, { kind: `${string}Reply` }>;

/** A decoded frame: its header and its typed message. */
export interface DecodedMessage {
  readonly header: Header;
  readonly message: Message;
}

/** A codec of some message kind. (`write` takes that kind only: the dispatcher pairs each message with its codec.) */
type AnyCodec = MessageCodec<Message>;

const CODECS: readonly AnyCodec[] = [
  versionRequestCodec,
  versionReplyCodec,
  dmaMapRequestCodec,
  dmaMapReplyCodec,
  dmaUnmapRequestCodec,
  dmaUnmapReplyCodec,
  deviceGetInfoRequestCodec,
  deviceGetInfoReplyCodec,
  deviceGetRegionInfoRequestCodec,
  deviceGetRegionInfoReplyCodec,
  deviceGetRegionIoFdsRequestCodec,
  deviceGetRegionIoFdsReplyCodec,
  deviceGetIrqInfoRequestCodec,
  deviceGetIrqInfoReplyCodec,
  deviceSetIrqsRequestCodec,
  deviceSetIrqsReplyCodec,
  regionReadRequestCodec,
  regionReadReplyCodec,
  regionWriteRequestCodec,
  regionWriteReplyCodec,
  dmaReadRequestCodec,
  dmaReadReplyCodec,
  dmaWriteRequestCodec,
  dmaWriteReplyCodec,
  deviceResetRequestCodec,
  deviceResetReplyCodec,
  regionWriteMultiRequestCodec,
  regionWriteMultiReplyCodec,
  deviceFeatureRequestCodec,
  deviceFeatureReplyCodec,
  migDataReadRequestCodec,
  migDataReadReplyCodec,
  migDataWriteRequestCodec,
  migDataWriteReplyCodec,
];

/** [command] → codec, for commands and for replies. */
const REQUEST_BY_COMMAND: (AnyCodec | undefined)[] = [];
const REPLY_BY_COMMAND: (AnyCodec | undefined)[] = [];
const BY_KIND = new Map<string, AnyCodec>();
for (const c of CODECS) {
  (c.reply ? REPLY_BY_COMMAND : REQUEST_BY_COMMAND)[c.command] = c;
  BY_KIND.set(c.kind, c);
}

/**
 * Decodes one whole frame (16-byte header + payload), or a {@link Frame} from the {@link FrameParser}.
 *
 * Dispatches on `cmd` and the reply bit: ERROR replies become {@link ErrorReply} (payload tolerated), unassigned
 * command numbers become {@link UnknownMessage}, everything else its typed message. Never throws: malformed input
 * gives `{ ok: false, error }` with a tagged {@link ProtoError}.
 *
 * Zero-copy: byte fields of the result (`data`, `payload`, `trailing`, bitmaps, raw capabilities) are subarray views
 * of the input. Copy them (`.slice()`) if the input buffer will be reused.
 */
export function decodeMessage(input: Uint8Array | Frame): Result<DecodedMessage> {
  return tryDecode(() => {
    let header: Header;
    let payload: Uint8Array;
    if (input instanceof Uint8Array) {
      header = decodeHeader(input);
      if (header.msgSize !== input.length) {
        throw new ProtoError("BadHeader", `msg_size ${header.msgSize} but the frame has ${input.length} byte(s)`, {
          command: header.command,
        });
      }
      payload = input.subarray(HEADER_SIZE);
    } else {
      header = input.header;
      payload = input.payload;
    }
    return { header, message: decodeBody(header, payload) };
  });
}

/**
 * Decodes a payload given its already-parsed header. Throws {@link ProtoError}. Prefer {@link decodeMessage}.
 */
export function decodeBody(header: Header, payload: Uint8Array): Message {
  const type = header.flags & HeaderFlags.TYPE_MASK;
  if (type !== HeaderFlags.TYPE_COMMAND && type !== HeaderFlags.TYPE_REPLY) {
    throw new ProtoError(
      "BadHeader",
      `${commandName(header.command)}: message type ${type} is neither command nor reply`,
      {
        command: header.command,
      },
    );
  }
  const reply = type === HeaderFlags.TYPE_REPLY;
  if (reply && (header.flags & HeaderFlags.ERROR) !== 0) {
    return payload.length > 0
      ? { kind: "ErrorReply", command: header.command, errno: header.error, payload }
      : { kind: "ErrorReply", command: header.command, errno: header.error };
  }
  const codec = (reply ? REPLY_BY_COMMAND : REQUEST_BY_COMMAND)[header.command];
  if (codec === undefined) return { kind: "Unknown", command: header.command, reply, payload };
  return codec.read(new Reader(payload, codec.context, header.command)) as Message;
}

/** Options of {@link encodeMessage}. */
export interface EncodeOptions {
  /** The header's `msg_id` (u16). A reply must echo its command's id. */
  readonly msgId: number;
  /**
   * Extra header flag bits, typically {@link HeaderFlags.NO_REPLY}. The type bits and ERROR come from the message kind;
   * passing a decoded header's whole `flags` is fine, but type bits that contradict the kind throw `BadHeader`.
   */
  readonly flags?: number;
}

/** The command number a message travels under. */
export function messageCommand(message: Message): number {
  if (message.kind === "ErrorReply" || message.kind === "Unknown") return message.command;
  return (BY_KIND.get(message.kind) as AnyCodec).command;
}

/** True if the message is sent with the reply type bit. */
export function isReplyMessage(message: Message): boolean {
  if (message.kind === "ErrorReply") return true;
  if (message.kind === "Unknown") return message.reply;
  return (BY_KIND.get(message.kind) as AnyCodec).reply;
}

/**
 * Encodes a whole frame: header (msg_size back-patched) + payload. Throws {@link ProtoError} (`OutOfRange`,
 * `BadHeader`, `TooLarge`) for values that do not fit the wire.
 */
export function encodeMessage(message: Message, options: EncodeOptions): Uint8Array {
  const codec = message.kind === "ErrorReply" || message.kind === "Unknown" ? undefined : BY_KIND.get(message.kind);
  const command = messageCommand(message);
  const reply = isReplyMessage(message);
  const extra = options.flags ?? 0;
  const wantType = reply ? HeaderFlags.TYPE_REPLY : HeaderFlags.TYPE_COMMAND;
  const givenType = extra & HeaderFlags.TYPE_MASK;
  if (givenType !== 0 && givenType !== wantType) {
    throw new ProtoError("BadHeader", `flags 0x${extra.toString(16)} give type ${givenType} to a ${message.kind}`, {
      command,
    });
  }
  let flags = (extra | wantType) >>> 0;
  let error = 0;
  if (message.kind === "ErrorReply") {
    flags = (flags | HeaderFlags.ERROR) >>> 0;
    error = message.errno;
  } else if (reply && (flags & HeaderFlags.ERROR) !== 0) {
    // (On a command the ERROR bit means nothing and is passed through.)
    throw new ProtoError("BadHeader", `ERROR flag on a ${message.kind}; use an ErrorReply`, { command });
  }
  const w = new Writer(HEADER_SIZE + (codec?.sizeHint?.(message) ?? 48));
  w.u16(options.msgId, "msg_id");
  w.u16(command, "cmd");
  w.u32(0, "msg_size");
  w.u32(flags, "flags");
  w.u32(error, "error");
  if (codec !== undefined) {
    codec.write(w, message);
  } else if (message.kind === "ErrorReply") {
    if (message.payload !== undefined) w.bytes(message.payload);
  } else if (message.kind === "Unknown") {
    w.bytes(message.payload);
  }
  if (w.pos > 0xffffffff) throw new ProtoError("TooLarge", `message of ${w.pos} bytes exceeds msg_size`, { command });
  w.patchU32(HeaderField.MSG_SIZE, w.pos, "msg_size");
  return w.finish();
}
