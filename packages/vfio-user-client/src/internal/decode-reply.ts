import {
  commandName,
  decodeBody,
  type Frame,
  isProtoError,
  type Message,
  type MessageKind,
  type MessageOf,
} from "@emu/vfio-user-proto";
import { VfioUserClientError } from "../errors.js";

/** Decodes a reply that must be a `kind`: a "Protocol" error when it does not decode or is another message. */
export function decodeReply<K extends MessageKind>(frame: Frame, kind: K): MessageOf<K> {
  let m: Message;
  try {
    m = decodeBody(frame.header, frame.payload);
  } catch (e) {
    if (!isProtoError(e)) throw e;
    throw new VfioUserClientError("Protocol", `${commandName(frame.header.command)} reply: ${e.message}`, {
      command: frame.header.command,
      cause: e,
    });
  }
  if (m.kind !== kind)
    throw new VfioUserClientError("Protocol", `expected a ${kind}, got a ${m.kind}`, {
      command: frame.header.command,
    });
  return m as MessageOf<K>;
}
