import { Reader } from "./reader.js";
import { Writer } from "./writer.js";

/** What every message codec provides to the dispatcher in `message.ts`. */
export interface MessageCodec<M extends { readonly kind: string }> {
  readonly kind: M["kind"];
  readonly command: number;
  readonly reply: boolean;
  /** e.g. "DMA_MAP request", used in error messages. */
  readonly context: string;
  read(r: Reader): M;
  write(w: Writer, m: Body<M>): void;
  /** Bytes of payload to reserve up front (large data messages); a guess is fine. */
  sizeHint?(m: Body<M>): number;
}

/** A message without its `kind` tag (the tag is accepted but not needed by the per-message encoders). */
export type Body<M extends { readonly kind: string }> = Omit<M, "kind"> & { readonly kind?: M["kind"] };

export function encodePayload<M extends { readonly kind: string }>(codec: MessageCodec<M>, m: Body<M>): Uint8Array {
  const w = new Writer(codec.sizeHint === undefined ? 64 : codec.sizeHint(m) + 8);
  codec.write(w, m);
  return w.finish().slice();
}

export function decodePayload<M extends { readonly kind: string }>(codec: MessageCodec<M>, payload: Uint8Array): M {
  return codec.read(new Reader(payload, codec.context, codec.command));
}

export const EMPTY: Uint8Array = new Uint8Array(0);

/** Rounds up to a multiple of 8. */
export function align8(n: number): number {
  return (n + 7) & ~7;
}
