import type { MessageCodec } from "./codec.js";

/**
 * The request both DEVICE_GET_IRQ_INFO and DEVICE_GET_REGION_IO_FDS send: a 16-byte head — `argsz` (at least 16: the
 * most reply payload the sender takes), `flags` 0, `index`, `count` 0 (other values decode, for the receiver to judge)
 * — and, from some peers, trailing bytes that are kept only so a decoded frame re-encodes byte for byte.
 */
export interface IndexQuery<K extends string> {
  readonly kind: K;
  readonly argsz: number;
  readonly index: number;
  /** `flags`, present only when not 0 (the spec requires 0; kept so a server can refuse it, and for re-encoding). */
  readonly flags?: number;
  /** `count`, present only when not 0 (the spec requires 0; kept so a server can refuse it, and for re-encoding). */
  readonly count?: number;
  /** Bytes after the 16-byte head; kept only for byte-exact re-encoding. */
  readonly trailing?: Uint8Array;
}

const HEAD_SIZE = 16;

/** @internal The codec of an {@link IndexQuery} request. */
export function indexQueryCodec<K extends string>(
  kind: K,
  command: number,
  context: string,
): MessageCodec<IndexQuery<K>> {
  return {
    kind,
    command,
    reply: false,
    context,
    read(r) {
      const argsz = r.u32("argsz");
      if (argsz < HEAD_SIZE) r.fail("BadArgsz", `argsz ${argsz} < ${HEAD_SIZE}`);
      const flags = r.u32("flags");
      const index = r.u32("index");
      const count = r.u32("count");
      const trailing = r.rest();
      return {
        kind,
        argsz,
        index,
        ...(flags !== 0 ? { flags } : {}),
        ...(count !== 0 ? { count } : {}),
        ...(trailing.length > 0 ? { trailing } : {}),
      };
    },
    write(w, m) {
      w.u32(m.argsz, "argsz");
      w.u32(m.flags ?? 0, "flags");
      w.u32(m.index, "index");
      w.u32(m.count ?? 0, "count");
      if (m.trailing !== undefined) w.bytes(m.trailing);
    },
  };
}
