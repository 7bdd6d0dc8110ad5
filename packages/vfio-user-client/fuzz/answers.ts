// How the hostile server answers each of the client's requests: mostly as it should (a reply from the codecs with
// plausible and odd contents), else a golden reply of libvfio-user or emu, a mutated one, an error (with payload
// sometimes), one for another request, fds where none belong, twice, later (out of order), never, or garbage.
import { mutate, type Rng } from "@emu/fuzz-kit";
import { encodeReply, goldenFrames, makeFd, makeFds, replyFor } from "@emu/fuzz-kit/vfio-user";
import { Command, encodeMessage, type Header, HeaderFlags, type Message } from "@emu/vfio-user-proto";

type Policy =
  | "correct"
  | "golden"
  | "mutated"
  | "error"
  | "misaddressed"
  | "fds"
  | "twice"
  | "later"
  | "never"
  | "garbage";

/** The ways to answer other than correctly, weighted among themselves. */
const HOSTILE: readonly (readonly [number, Policy])[] = [
  [3, "golden"],
  [4, "mutated"],
  [5, "error"],
  [1.5, "misaddressed"],
  [2, "fds"],
  [1, "twice"],
  [3, "later"],
  [0.5, "never"],
  [0.5, "garbage"],
];

/** VERSION goes wrong less often: a session that fails to negotiate plays nothing else. */
const VERSION_POLICIES: readonly (readonly [number, Policy])[] = [
  [90, "correct"],
  [2, "golden"],
  [3, "mutated"],
  [2, "error"],
  [1, "fds"],
  [0.2, "never"],
];

/** Frames to send for one request (fds with the first), and whether the reply offers a twin socket. */
export interface Answer {
  readonly policy: Policy;
  readonly frames: Uint8Array[];
  readonly fds: number[];
  readonly twin: boolean;
}

let byCommand: Map<number, Uint8Array[]> | undefined;

/** A captured server reply to `command`, if any. */
function golden(rng: Rng, command: number): Uint8Array | undefined {
  if (byCommand === undefined) {
    byCommand = new Map();
    for (const f of goldenFrames("s2c")) {
      const flags = f.bytes[8] ?? 0;
      if ((flags & HeaderFlags.TYPE_MASK) !== HeaderFlags.TYPE_REPLY || f.fds > 0) continue;
      const c = (f.bytes[2] ?? 0) | ((f.bytes[3] ?? 0) << 8);
      const list = byCommand.get(c) ?? [];
      list.push(f.bytes);
      byCommand.set(c, list);
    }
  }
  const list = byCommand.get(command);
  return list === undefined ? undefined : rng.pick(list).slice();
}

function setHead(bytes: Uint8Array, msgId: number, command: number): Uint8Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  v.setUint16(0, msgId, true);
  v.setUint16(2, command, true);
  return bytes;
}

/**
 * The answer to request `h` (decoded as `req`, or undefined when it did not decode); `hostility` is the session's
 * share of answers that are not correct (sessions range from nearly clean, which run long, to very hostile).
 */
export function answer(rng: Rng, h: Header, req: Message | undefined, hostility: number): Answer {
  const policy =
    h.command === Command.VERSION
      ? rng.weighted(VERSION_POLICIES)
      : rng.chance(hostility)
        ? rng.weighted(HOSTILE)
        : "correct";
  const id = h.msgId;
  const error = (): Uint8Array => {
    const e = encodeMessage({ kind: "ErrorReply", command: h.command, errno: rng.range(0, 140) }, { msgId: id });
    if (!rng.chance(0.3)) return e;
    // libvfio-user sometimes sends payload with an error.
    const out = new Uint8Array(16 + 16);
    out.set(e);
    new DataView(out.buffer).setUint32(4, 32, true);
    return out;
  };
  if (policy === "never") return { policy, frames: [], fds: [], twin: false };
  if (req === undefined || policy === "error") return { policy, frames: [error()], fds: [], twin: false };
  const r = replyFor(rng, req, hostility);
  const correct = encodeReply(r.message, id, h.command);
  const fds = r.fds.map((f) => makeFd(rng, f.kind, f.size));
  const plain = (frames: Uint8Array[], extra: number[] = []): Answer => ({
    policy,
    frames,
    fds: [...fds, ...extra],
    twin: r.twin === true,
  });
  switch (policy) {
    case "correct":
    case "later":
      return plain([correct]);
    case "golden": {
      const g = golden(rng, h.command);
      return g === undefined ? plain([correct]) : { policy, frames: [setHead(g, id, h.command)], fds, twin: false };
    }
    case "mutated": {
      const m = mutate(rng, correct, { keep: rng.chance(0.7) ? 4 : 0 });
      if (m.length >= 16 && rng.chance(0.95)) new DataView(m.buffer).setUint32(4, m.length, true);
      return plain([m.length === 0 ? correct : m]);
    }
    case "misaddressed":
      return plain([setHead(correct, rng.chance(0.5) ? (id + rng.range(1, 3)) & 0xffff : id, rng.range(1, 18))]);
    case "fds":
      return plain([correct], makeFds(rng, rng.range(1, 6)));
    case "twice":
      return plain([correct, correct.slice()]);
    case "garbage":
      return plain([rng.bytes(rng.range(1, 80))]);
  }
}
