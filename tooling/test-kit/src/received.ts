// What a socket received: every chunk with the fds that came with it, and how it closed (exactly once). Structural,
// so the kit does not depend on @emu/sys: any socket with UnixSocket's `start()` will do.
import { expect } from "vitest";

/** The part of @emu/sys's UnixSocket that `collect` uses. */
export interface ReceivingSocket<E> {
  start(handlers: {
    onData(chunk: Uint8Array, fds: number[]): void;
    onClose(err?: E): void;
    maxRecvFds?: number;
  }): void;
}

export interface Received<E> {
  chunks: Uint8Array[];
  fds: number[][];
  /** Set when the socket closed, with the error it closed with (undefined for an orderly close). */
  closed: { err: E | undefined } | undefined;
}

/** Starts `s`, recording what it receives; closing twice fails the test. */
export function collect<E>(s: ReceivingSocket<E>, maxRecvFds?: number): Received<E> {
  const r: Received<E> = { chunks: [], fds: [], closed: undefined };
  s.start({
    onData: (c, fds) => {
      r.chunks.push(c);
      r.fds.push(fds);
    },
    onClose: (err) => {
      expect(r.closed).toBeUndefined();
      r.closed = { err };
    },
    ...(maxRecvFds === undefined ? {} : { maxRecvFds }),
  });
  return r;
}

/** All the bytes received, in order. */
export const bytesOf = (r: Received<unknown>): Buffer => Buffer.concat(r.chunks);
