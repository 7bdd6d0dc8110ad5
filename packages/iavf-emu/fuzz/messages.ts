// The virtchnl messages a hostile guest posts: a real driver's requests in Linux's init order (encoded with the
// iavf-common codecs, with plausible and odd values), those mutated byte-wise, with a length that lies (cut or padded),
// under another opcode, random opcodes with random payloads, and RESET_VF.
import { mutate, type Rng } from "@emu/fuzz-kit";
import { encodeVirtchnl, type VirtchnlMessage, VirtchnlOp } from "@emu/iavf-common";

/** What the fuzzer's driver asks for: VSI 1, 4 queue pairs (the subject's devargs). */
const VSI = 1;
const QUEUE_PAIRS = 4;

export interface Message {
  readonly opcode: number;
  readonly payload: Uint8Array;
  /** How it was made (tallied). */
  readonly how: string;
}

const mac = (rng: Rng): string =>
  rng.chance(0.8)
    ? `02:00:00:00:00:${rng.range(1, 255).toString(16).padStart(2, "0")}`
    : Array.from(rng.bytes(6), (b) => b.toString(16).padStart(2, "0")).join(":");

const vsi = (rng: Rng): number => (rng.chance(0.95) ? VSI : rng.interesting16());
const queues = (rng: Rng): number => (rng.chance(0.85) ? rng.range(1, (1 << QUEUE_PAIRS) - 1) : rng.interesting32());
const ringLen = (rng: Rng): number =>
  rng.chance(0.8) ? rng.pick([0, 32, 64, 256, 512, 1024, 4096]) : rng.u32() & 0xffff;
const ringAddr = (rng: Rng): bigint => (rng.chance(0.8) ? 0x4010_0000n + BigInt(rng.int(64) * 0x1000) : rng.u64());

function queuePair(rng: Rng, q: number) {
  return {
    txq: {
      vsiId: vsi(rng),
      queueId: rng.chance(0.9) ? q : rng.interesting16(),
      ringLen: ringLen(rng),
      headwbEnabled: rng.chance(0.95) ? 0 : 1,
      dmaRingAddr: ringAddr(rng),
      dmaHeadwbAddr: 0n,
    },
    rxq: {
      vsiId: vsi(rng),
      queueId: rng.chance(0.9) ? q : rng.interesting16(),
      ringLen: ringLen(rng),
      hdrSize: 0,
      splithdrEnabled: 0,
      databufferSize: rng.chance(0.8) ? 2048 : rng.field32(2048) & 0xffff_ffff,
      maxPktSize: rng.chance(0.8) ? 1518 : rng.u32(),
      crcDisable: rng.int(2),
      rxdid: rng.chance(0.9) ? 1 : rng.int(256),
      flags: 0,
      dmaRingAddr: ringAddr(rng),
      rxSplitPos: 0,
    },
  };
}

/** A well-formed request of the kind a driver sends, in roughly Linux's init order by `step`. */
function request(rng: Rng, step: number): VirtchnlMessage {
  const v = vsi(rng);
  const n = rng.range(1, QUEUE_PAIRS);
  const builders: (() => VirtchnlMessage)[] = [
    () => ({ kind: "VersionRequest", major: 1, minor: rng.chance(0.9) ? 1 : 0 }),
    () => ({ kind: "GetVfResourcesRequest", capabilities: rng.chance(0.7) ? 0xffff_ffff : rng.u32() }),
    () => ({ kind: "ConfigVsiQueues", vsiId: v, queuePairs: Array.from({ length: n }, (_, q) => queuePair(rng, q)) }),
    () => ({
      kind: "ConfigIrqMap",
      vectors: Array.from({ length: rng.range(1, 5) }, (_, i) => ({
        vsiId: vsi(rng),
        vectorId: rng.chance(0.9) ? i : rng.interesting16(),
        rxqMap: queues(rng) & 0xffff,
        txqMap: queues(rng) & 0xffff,
        rxitrIdx: rng.int(4),
        txitrIdx: rng.int(4),
      })),
    }),
    () => ({
      kind: "AddEthAddr",
      vsiId: v,
      addresses: Array.from({ length: rng.range(1, 4) }, () => ({ mac: mac(rng), type: rng.int(3) })),
    }),
    () => ({ kind: "EnableQueues", vsiId: v, rxQueues: queues(rng), txQueues: queues(rng) }),
    () => ({ kind: "ConfigRssKey", vsiId: v, bytes: rng.bytes(rng.chance(0.9) ? 52 : rng.range(1, 80)) }),
    () => ({
      kind: "ConfigRssLut",
      vsiId: v,
      bytes: rng.bytes(rng.chance(0.9) ? 64 : rng.range(1, 100)).map((b) => (rng.chance(0.9) ? b % QUEUE_PAIRS : b)),
    }),
    () => ({ kind: "GetRssHenaCapsRequest" }),
    () => ({ kind: "SetRssHena", hena: rng.u64() }),
    () => ({ kind: "GetStatsRequest", vsiId: v, rxQueues: 0, txQueues: 0 }),
    () => ({ kind: "ConfigPromiscuousMode", vsiId: v, flags: rng.int(4) }),
    () => ({ kind: "AddVlan", vsiId: v, vlanIds: Array.from({ length: rng.range(1, 4) }, () => rng.int(4200)) }),
    () => ({ kind: "DelVlan", vsiId: v, vlanIds: Array.from({ length: rng.range(1, 4) }, () => rng.int(4200)) }),
    () => ({ kind: rng.chance(0.5) ? "EnableVlanStripping" : "DisableVlanStripping" }),
    () => ({ kind: "DelEthAddr", vsiId: v, addresses: [{ mac: mac(rng), type: 0 }] }),
    () => ({ kind: "DisableQueues", vsiId: v, rxQueues: queues(rng), txQueues: queues(rng) }),
  ];
  const i = rng.chance(0.6) ? step % builders.length : rng.int(builders.length);
  return (builders[i] as () => VirtchnlMessage)();
}

/** Opcodes a VF may send, and some it may not. */
const OPCODES = [...Object.values(VirtchnlOp), 16, 19, 20, 21, 22, 34, 35, 60, 100, 0xffff];

/** The next message of a session at init step `step`. */
export function message(rng: Rng, step: number, hostility: number): Message {
  if (rng.chance(0.004)) return { opcode: VirtchnlOp.RESET_VF, payload: new Uint8Array(0), how: "RESET_VF" };
  let encoded: { opcode: number; payload: Uint8Array };
  try {
    encoded = encodeVirtchnl(request(rng, step));
  } catch {
    // Values the encoder refuses (e.g. a list too long): a random message instead.
    encoded = { opcode: rng.pick(OPCODES), payload: rng.bytes(rng.size(200)) };
  }
  if (!rng.chance(hostility)) return { ...encoded, how: "valid" };
  const how = rng.weighted([
    [5, "mutated"],
    [2, "cut"],
    [2, "padded"],
    [2, "opcode swapped"],
    [2, "random"],
    [1, "empty"],
  ] as const);
  const p = encoded.payload;
  switch (how) {
    case "mutated":
      return { opcode: encoded.opcode, payload: mutate(rng, p.slice(), { maxLength: 4096 }), how };
    case "cut":
      return { opcode: encoded.opcode, payload: p.slice(0, rng.int(p.length + 1)), how };
    case "padded": {
      const out = new Uint8Array(Math.min(4096, p.length + rng.range(1, 64)));
      out.set(p.subarray(0, out.length));
      return { opcode: encoded.opcode, payload: out, how };
    }
    case "opcode swapped":
      return { opcode: rng.pick(OPCODES), payload: p, how };
    case "random":
      return { opcode: rng.chance(0.5) ? rng.pick(OPCODES) : rng.u32(), payload: rng.bytes(rng.size(300)), how };
    case "empty":
      return { opcode: rng.pick(OPCODES), payload: new Uint8Array(0), how };
  }
}
