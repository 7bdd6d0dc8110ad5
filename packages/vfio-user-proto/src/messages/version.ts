import { formatCapabilitiesJson, parseCapabilitiesJson, type VersionCapabilities } from "../capabilities.js";
import { Command } from "../command.js";
import { ProtoError } from "../errors.js";
import { type Body, decodePayload, encodePayload, type MessageCodec } from "../internal/codec.js";
import type { Reader } from "../internal/reader.js";
import type { Writer } from "../internal/writer.js";

/**
 * VFIO_USER_VERSION (1) — the same payload in both directions:
 *
 * | Offset | Size | Field |
 * |---|---|---|
 * | 0 | 2 | major |
 * | 2 | 2 | minor |
 * | 4 | var | optional UTF-8 JSON text **with a terminating NUL** |
 */
export interface VersionBody {
  readonly major: number;
  readonly minor: number;
  /** The parsed `capabilities` object (empty when the message had no JSON or no `capabilities` key). */
  readonly capabilities: VersionCapabilities;
  /**
   * The JSON text exactly as received (without the NUL), or `null` when the message carried no version data.
   * Decoding always sets it. Encoding: a string is written verbatim (plus NUL) and `capabilities` is **ignored**;
   * `null` writes no data; leave it out to serialise `capabilities`. (Drop it before changing `capabilities` of a
   * decoded message.)
   */
  readonly jsonText?: string | null;
}

/** VERSION from the client: proposes a version and capabilities. */
export interface VersionRequest extends VersionBody {
  readonly kind: "VersionRequest";
}

/** VERSION reply: the server's version (same major, minor ≤ proposed) and the capabilities it accepts. */
export interface VersionReply extends VersionBody {
  readonly kind: "VersionReply";
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

function readVersion(r: Reader): Omit<VersionBody, "kind"> {
  const major = r.u16("major");
  const minor = r.u16("minor");
  const data = r.rest();
  if (data.length === 0) return { major, minor, capabilities: {}, jsonText: null };
  const nul = data.indexOf(0);
  if (nul !== data.length - 1) {
    r.fail("BadJson", nul < 0 ? "version data is not NUL-terminated" : `NUL at data offset ${nul} before the end`);
  }
  let jsonText: string;
  try {
    jsonText = utf8Decoder.decode(data.subarray(0, nul));
  } catch {
    r.fail("BadJson", "version data is not UTF-8");
  }
  let capabilities: VersionCapabilities;
  try {
    capabilities = parseCapabilitiesJson(jsonText);
  } catch (e) {
    r.fail("BadJson", (e as Error).message);
  }
  return { major, minor, capabilities, jsonText };
}

function writeVersion(w: Writer, m: Omit<VersionBody, "kind">): void {
  w.u16(m.major, "major");
  w.u16(m.minor, "minor");
  if (m.jsonText === null) return;
  const text = m.jsonText ?? formatCapabilitiesJson(m.capabilities);
  if (text.includes("\0")) throw new ProtoError("BadJson", "VERSION JSON text must not contain NUL");
  w.bytes(utf8Encoder.encode(text));
  w.u8(0, "NUL");
}

/** @internal */
export const versionRequestCodec: MessageCodec<VersionRequest> = {
  kind: "VersionRequest",
  command: Command.VERSION,
  reply: false,
  context: "VERSION request",
  read: (r) => ({ kind: "VersionRequest", ...readVersion(r) }),
  write: writeVersion,
  sizeHint: () => 256,
};

/** @internal */
export const versionReplyCodec: MessageCodec<VersionReply> = {
  kind: "VersionReply",
  command: Command.VERSION,
  reply: true,
  context: "VERSION reply",
  read: (r) => ({ kind: "VersionReply", ...readVersion(r) }),
  write: writeVersion,
  sizeHint: () => 256,
};

/** Payload of a VERSION request. */
export function encodeVersionRequest(m: Body<VersionRequest>): Uint8Array {
  return encodePayload(versionRequestCodec, m);
}
/** Decodes a VERSION request payload. Throws `ProtoError` (`Truncated`, `BadJson`). */
export function decodeVersionRequest(payload: Uint8Array): VersionRequest {
  return decodePayload(versionRequestCodec, payload);
}
/** Payload of a VERSION reply. */
export function encodeVersionReply(m: Body<VersionReply>): Uint8Array {
  return encodePayload(versionReplyCodec, m);
}
/** Decodes a VERSION reply payload. Throws `ProtoError` (`Truncated`, `BadJson`). */
export function decodeVersionReply(payload: Uint8Array): VersionReply {
  return decodePayload(versionReplyCodec, payload);
}
