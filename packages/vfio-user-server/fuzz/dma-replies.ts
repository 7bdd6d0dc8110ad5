// How the hostile client answers the server's DMA_READ/DMA_WRITE: mostly as it should (a DMA_READ of 16 bytes, the
// fuzz device's descriptor, gets one pointing into what the session mapped), sometimes with an error, a mutated or
// misaddressed reply, fds attached, twice — and now and then not at all (the server must time out and close).
import { mutate, type Rng } from "@emu/fuzz-kit";
import { makeFds, type RequestState } from "@emu/fuzz-kit/vfio-user";
import { Command, encodeMessage, type Frame } from "@emu/vfio-user-proto";

type Policy = "correct" | "error" | "mutated" | "misaddressed" | "fds" | "twice" | "ignore";

const POLICIES: readonly (readonly [number, Policy])[] = [
  [85, "correct"],
  [5, "error"],
  [4, "mutated"],
  [2, "misaddressed"],
  [2, "fds"],
  [1.5, "twice"],
  [0.3, "ignore"],
];

function descriptor(rng: Rng, state: RequestState, count: number): Uint8Array {
  const data = rng.chance(0.3) || state.mapped.length === 0 ? rng.bytes(count) : new Uint8Array(count);
  if (count === 16 && state.mapped.length > 0) {
    const v = new DataView(data.buffer);
    v.setBigUint64(0, BigInt.asUintN(64, rng.pick(state.mapped).address), true);
    v.setBigUint64(8, BigInt.asUintN(64, rng.pick(state.mapped).address), true);
  }
  return data;
}

/** The spec's reply to a DMA command (spec layout: address u64 @16, count u64 @24). */
function correctReply(rng: Rng, f: Frame, state: RequestState): Uint8Array {
  const h = f.header;
  const v = new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength);
  const address = f.payload.length >= 8 ? v.getBigUint64(0, true) : 0n;
  const count = f.payload.length >= 16 ? v.getBigUint64(8, true) : 0n;
  if (h.command === Command.DMA_READ) {
    const n = Number(count > 0x100000n ? 0n : count);
    return encodeMessage({ kind: "DmaReadReply", address, data: descriptor(rng, state, n) }, { msgId: h.msgId });
  }
  if (h.command === Command.DMA_WRITE)
    return encodeMessage({ kind: "DmaWriteReply", address, count }, { msgId: h.msgId });
  return encodeMessage({ kind: "ErrorReply", command: h.command, errno: 38 }, { msgId: h.msgId });
}

/** What to send back for one DMA command: frames (sent in order, the fds with the first), or nothing. */
export interface DmaAnswer {
  readonly frames: readonly Uint8Array[];
  readonly fds: number[];
}

/** The answer to one command the server sent. */
export function answerDma(
  rng: Rng,
  f: Frame,
  state: RequestState,
  tally: (key: string) => void,
): DmaAnswer | undefined {
  const policy = rng.weighted(POLICIES);
  tally(`DMA answer: ${policy}`);
  const h = f.header;
  switch (policy) {
    case "ignore":
      return undefined;
    case "error":
      return {
        frames: [
          encodeMessage({ kind: "ErrorReply", command: h.command, errno: rng.range(0, 140) }, { msgId: h.msgId }),
        ],
        fds: [],
      };
    case "mutated": {
      const reply = mutate(rng, correctReply(rng, f, state), { keep: rng.chance(0.8) ? 8 : 0 });
      if (reply.length >= 16 && rng.chance(0.9)) new DataView(reply.buffer).setUint32(4, reply.length, true);
      return reply.length === 0 ? undefined : { frames: [reply], fds: [] };
    }
    case "misaddressed": {
      const reply = correctReply(rng, f, state);
      new DataView(reply.buffer).setUint16(rng.chance(0.5) ? 0 : 2, rng.u32() & 0xffff, true);
      return { frames: [reply], fds: [] };
    }
    case "fds":
      return { frames: [correctReply(rng, f, state)], fds: makeFds(rng, rng.range(1, 4)) };
    case "twice": {
      const reply = correctReply(rng, f, state);
      return { frames: [reply, reply], fds: [] };
    }
    case "correct":
      return { frames: [correctReply(rng, f, state)], fds: [] };
  }
}
