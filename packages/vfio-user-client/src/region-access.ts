import { Command, type RegionWriteMultiEntry } from "@emu/vfio-user-proto";
import { invalid, VfioUserClientError } from "./errors.js";
import { length, overflows64, u32, u64 } from "./internal/arguments.js";
import type { ClientSession } from "./internal/session.js";

/** msg_ids there are: no access may need more pieces than this (they are all outstanding at once). */
const MAX_PIECES = 0xffff;

/**
 * Sends the pieces of one access (`send(at, n)` for each `max`-sized piece of `len` bytes). All or nothing for the
 * caller: when a piece cannot be sent (no msg_id is free), the ones already sent are left to their replies — nobody
 * awaits them, so their rejections are handled here — and the access rejects.
 */
function pieces<T>(len: number, max: number, what: string, send: (at: number, n: number) => Promise<T>): Promise<T[]> {
  const n = Math.ceil(len / max);
  if (n > MAX_PIECES)
    return Promise.reject(
      invalid(
        `${what} of ${len} bytes takes ${n} messages of ${max} bytes (the transfer size): more than ${MAX_PIECES}`,
      ),
    );
  const sent: Promise<T>[] = [];
  try {
    for (let at = 0; at < len; at += max) sent.push(send(at, Math.min(max, len - at)));
  } catch (e) {
    for (const p of sent) p.catch(() => undefined);
    return Promise.reject(e);
  }
  return Promise.all(sent);
}

/**
 * Region accesses: REGION_READ and REGION_WRITE split into pieces of the negotiated transfer size (sent together, on
 * the connection's hot path), and REGION_WRITE_MULTI.
 */
export class RegionAccess {
  private readonly session: ClientSession;

  constructor(session: ClientSession) {
    this.session = session;
  }

  /** See {@link VfioUserClient.regionRead}. */
  regionRead(index: number, offset: bigint, len: number): Promise<Uint8Array> {
    try {
      this.session.live();
      u32(index, "region index");
      u64(offset, "offset");
      length(len, "length");
      if (overflows64(offset, len)) throw invalid("offset + length overflows 64 bits");
    } catch (e) {
      return Promise.reject(e);
    }
    const max = this.session.maxTransfer;
    if (len <= max) return this.readPiece(index, offset, len);
    return pieces(len, max, "a REGION_READ", (at, n) => this.readPiece(index, offset + BigInt(at), n)).then((parts) => {
      const out = new Uint8Array(len);
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    });
  }

  private readPiece(index: number, offset: bigint, count: number): Promise<Uint8Array> {
    // The hot path: the request is written straight into the send arena, the reply's data is a view of it.
    const conn = this.session.conn;
    return conn.requestAccess(Command.REGION_READ, offset, index, count, undefined, false) as Promise<Uint8Array>;
  }

  /** See {@link VfioUserClient.regionWrite}. */
  regionWrite(index: number, offset: bigint, data: Uint8Array, noReply: boolean): Promise<void> {
    try {
      this.session.live();
      u32(index, "region index");
      u64(offset, "offset");
      if (!(data instanceof Uint8Array)) throw invalid("data must be a Uint8Array");
      if (overflows64(offset, data.length)) throw invalid("offset + length overflows 64 bits");
    } catch (e) {
      return Promise.reject(e);
    }
    const max = this.session.maxTransfer;
    if (data.length <= max) return this.writePiece(index, offset, data, noReply);
    return pieces(data.length, max, "a REGION_WRITE", (at, n) =>
      this.writePiece(index, offset + BigInt(at), data.subarray(at, at + n), noReply),
    ).then(() => undefined);
  }

  private writePiece(index: number, offset: bigint, data: Uint8Array, noReply: boolean): Promise<void> {
    const p = this.session.conn.requestAccess(Command.REGION_WRITE, offset, index, data.length, data, noReply);
    return p === undefined ? Promise.resolve() : (p as Promise<unknown> as Promise<void>);
  }

  /** See {@link VfioUserClient.regionWriteMulti}. */
  async regionWriteMulti(writes: readonly RegionWriteMultiEntry[]): Promise<bigint> {
    const session = this.session;
    session.live();
    if (!session.negotiated.writeMultiple)
      throw new VfioUserClientError("Unsupported", "the server did not enable write_multiple", {
        command: Command.REGION_WRITE_MULTI,
      });
    if (!Array.isArray(writes) || writes.length === 0) throw invalid("regionWriteMulti needs at least one write");
    for (const w of writes) {
      u32(w.region, "region index");
      u64(w.offset, "offset");
      if (!(w.data instanceof Uint8Array) || w.data.length > 8) throw invalid("each write carries 0 to 8 bytes");
    }
    const r = await session.call({ kind: "RegionWriteMultiRequest", writes }, "RegionWriteMultiReply");
    return r.wrCnt;
  }
}
