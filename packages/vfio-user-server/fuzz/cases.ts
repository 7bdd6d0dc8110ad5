// What a hostile client sends the server, one case at a time: requests from the codecs, bursts of region accesses
// (the in-place path), golden frames replayed and mutated, random frames, fds where none belong, unsolicited replies,
// a second VERSION, doorbells that make the device DMA into what the session mapped.

import { mutate, type Rng } from "@emu/fuzz-kit";
import {
  encodeRequest,
  goldenFrames,
  makeFd,
  makeFds,
  type Request,
  type RequestState,
  randomRequest,
  versionRequest,
} from "@emu/fuzz-kit/vfio-user";
import { HeaderFlags } from "@emu/vfio-user-proto";
import { Doorbell, FUZZ_DEVICE_SHAPE } from "./device.js";

/** One frame to send: its bytes and the raw fds to attach (closed by the sender once sent). */
export interface Outgoing {
  readonly bytes: Uint8Array;
  readonly fds: number[];
}

export type CaseKind =
  | "valid"
  | "burst"
  | "golden"
  | "mutated"
  | "random"
  | "fds"
  | "reply"
  | "version"
  | "doorbell"
  | "large";

export const CASE_WEIGHTS: readonly (readonly [number, CaseKind])[] = [
  [36, "valid"],
  [10, "burst"],
  [12, "golden"],
  [18, "mutated"],
  [6, "random"],
  [6, "fds"],
  [3, "reply"],
  [2, "version"],
  [10, "doorbell"],
  [0.005, "large"],
];

/** Message ids for the frames a session sends. */
export interface Ids {
  next(): number;
}

function setId(bytes: Uint8Array, id: number): Uint8Array {
  bytes[0] = id & 0xff;
  bytes[1] = (id >>> 8) & 0xff;
  return bytes;
}

function fixSize(bytes: Uint8Array): Uint8Array {
  const out = bytes.length >= 16 ? bytes : Uint8Array.from({ length: 16 }, (_, i) => bytes[i] ?? 0);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(4, out.length, true);
  return out;
}

function fromRequest(rng: Rng, r: Request, id: number): Outgoing {
  const flags = rng.chance(0.03) ? HeaderFlags.NO_REPLY : 0;
  return { bytes: encodeRequest(r.message, id, flags), fds: r.fds.map((f) => makeFd(rng, f.kind, f.size)) };
}

function golden(rng: Rng, id: number): Outgoing {
  const g = rng.pick(goldenFrames("c2s"));
  const fds = g.fdKinds.length > 0 ? g.fdKinds : new Array<string>(g.fds).fill("file");
  return {
    bytes: setId(g.bytes.slice(), id),
    fds: fds.map((k) =>
      makeFd(
        rng,
        k === "eventfd" ? "eventfd" : k === "socket" ? "socket" : "memfd",
        k === "file" ? 0x100000 : undefined,
      ),
    ),
  };
}

function mutated(rng: Rng, state: RequestState, id: number): Outgoing {
  const base = rng.chance(0.5) ? fromRequest(rng, randomRequest(rng, FUZZ_DEVICE_SHAPE, state), id) : golden(rng, id);
  const donors = [rng.pick(goldenFrames("c2s")).bytes, rng.pick(goldenFrames("c2s")).bytes];
  const bytes = mutate(rng, base.bytes, { donors });
  // Mostly a frame whose msg_size is its length (a lie in the payload); sometimes a lie in msg_size itself.
  return { bytes: rng.chance(0.96) || bytes.length < 16 ? fixSize(bytes) : bytes, fds: base.fds };
}

function randomFrame(rng: Rng, id: number): Outgoing {
  if (rng.chance(0.03)) return { bytes: rng.bytes(rng.range(1, 64)), fds: [] };
  const bytes = rng.bytes(16 + rng.size(512));
  const v = new DataView(bytes.buffer);
  v.setUint16(0, id, true);
  v.setUint16(2, rng.chance(0.8) ? rng.range(0, 20) : rng.u32() & 0xffff, true);
  v.setUint32(8, rng.chance(0.8) ? 0 : rng.chance(0.5) ? rng.interesting32() : rng.u32(), true);
  return { bytes: fixSize(bytes), fds: [] };
}

/** A reply nobody asked for (the server may take it for the reply to one of its DMA commands). */
function reply(rng: Rng): Outgoing {
  const bytes = rng.bytes(16 + rng.pick([0, 0, 16, 32, 80, rng.size(256)]));
  const v = new DataView(bytes.buffer);
  v.setUint16(0, rng.chance(0.5) ? rng.range(0, 8) : rng.u32() & 0xffff, true);
  v.setUint16(2, rng.chance(0.7) ? rng.pick([11, 12]) : rng.range(0, 20), true);
  v.setUint32(8, HeaderFlags.TYPE_REPLY | (rng.chance(0.2) ? HeaderFlags.ERROR : 0), true);
  v.setUint32(12, rng.chance(0.8) ? 0 : rng.range(1, 100), true);
  return { bytes: fixSize(bytes), fds: [] };
}

/** A REGION_WRITE of an IOVA (in a range mapped so far, mostly) to one of the fuzz device's doorbells. */
function doorbell(rng: Rng, state: RequestState, id: number): Outgoing {
  const target =
    state.mapped.length > 0 && rng.chance(0.85) ? rng.pick(state.mapped) : { address: rng.u64(), size: 0x1000n };
  const iova = target.address + BigInt(rng.int(Number(target.size > 0x1000n ? 0x1000n : target.size || 1n)));
  const data = new Uint8Array(8);
  new DataView(data.buffer).setBigUint64(0, BigInt.asUintN(64, iova), true);
  const offset = BigInt(
    rng.weighted([
      [3, Doorbell.COPY],
      [3, Doorbell.COPY_MESSAGE],
      [1, Doorbell.VIEW],
      [1, Doorbell.DIRTY],
      [1, Doorbell.FAIL],
    ]),
  );
  return { bytes: encodeRequest({ kind: "RegionWriteRequest", region: 1, offset, data }, id), fds: [] };
}

/** A frame above the negotiated size (1 MiB of data): read whole, answered with EMSGSIZE, the connection kept. */
function large(rng: Rng, id: number): Outgoing {
  const data = new Uint8Array(rng.pick([0x100001, 0x101000, 0x400000]));
  return { bytes: encodeRequest({ kind: "RegionWriteRequest", region: 0, offset: 0n, data }, id), fds: [] };
}

/** The frames of one case. */
export function buildCase(rng: Rng, kind: CaseKind, state: RequestState, ids: Ids): Outgoing[] {
  const shape = FUZZ_DEVICE_SHAPE;
  switch (kind) {
    case "valid":
      return [fromRequest(rng, randomRequest(rng, shape, state), ids.next())];
    case "burst":
      return Array.from({ length: rng.range(2, 48) }, () => {
        const r = randomRequest(rng, shape, state);
        const access = r.message.kind === "RegionReadRequest" || r.message.kind === "RegionWriteRequest";
        return fromRequest(
          rng,
          access ? r : { message: { kind: "RegionReadRequest", region: 0, offset: 0n, count: 4 }, fds: [] },
          ids.next(),
        );
      });
    case "golden":
      return [golden(rng, ids.next())];
    case "mutated":
      return [mutated(rng, state, ids.next())];
    case "random":
      return [randomFrame(rng, ids.next())];
    case "fds": {
      const f = fromRequest(rng, randomRequest(rng, shape, state), ids.next());
      // Now and then more than the server's max_msg_fds (64): it must close the connection, not leak them.
      f.fds.push(...makeFds(rng, rng.chance(0.02) ? rng.range(65, 100) : rng.range(1, 8)));
      return [f];
    }
    case "reply":
      return [reply(rng)];
    case "version":
      return [fromRequest(rng, { message: versionRequest(rng), fds: [] }, ids.next())];
    case "doorbell":
      return [doorbell(rng, state, ids.next())];
    case "large":
      return [large(rng, ids.next())];
  }
}
