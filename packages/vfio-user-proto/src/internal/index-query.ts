import type { MessageCodec } from "./codec.js";

/**
 * The request both DEVICE_GET_IRQ_INFO and DEVICE_GET_REGION_IO_FDS send: a 16-byte head — `argsz` (at least 16: the
 * most reply payload the sender takes), `flags` 0, `index`, `count` 0 — and, from some peers, trailing bytes that are
 * kept only so a decoded frame re-encodes byte for byte.
 */
export interface IndexQuery<K extends string> {
  readonly kind: K;
  readonly argsz: number;
  readonly index: number;
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
      r.u32("flags");
      const index = r.u32("index");
      r.u32("count");
      const trailing = r.rest();
      return trailing.length > 0 ? { kind, argsz, index, trailing } : { kind, argsz, index };
    },
    write(w, m) {
      w.u32(m.argsz, "argsz");
      w.u32(0, "flags");
      w.u32(m.index, "index");
      w.u32(0, "count");
      if (m.trailing !== undefined) w.bytes(m.trailing);
    },
  };
}
