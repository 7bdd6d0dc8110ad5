/**
 * Golden frames captured between libvfio-user's own peers (shared/fixtures/libvfio-user-frames.json).
 */
import { readFileSync } from "node:fs";
import { decodeMessage, encodeMessage, type Message, type ProtoErrorReason } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { type Chunk, fromHex, KernelStream, parseChunks, prng, sameBytes, toHex } from "./helpers.js";

interface FixtureFrame {
  seq: number;
  dir: "c2s" | "s2c";
  channel: string;
  cmd: number;
  cmdName: string;
  msgId: number;
  flags: number;
  error: number;
  fds: number;
  summary: string;
  note?: string;
  hex: string;
}
interface Session {
  name: string;
  frames: FixtureFrame[];
}

const fixture = JSON.parse(
  readFileSync(new URL("../../../../shared/fixtures/libvfio-user-frames.json", import.meta.url), "utf8"),
) as { sessions: Session[] };

/** The deliberately malformed probe requests (session "probe-vs-gpio", by `seq`) and what they must decode to. */
const MALFORMED: Record<number, { note: string; reason: ProtoErrorReason }> = {
  70: { note: "REGION_WRITE bar2@0 count 4 but 1 data byte", reason: "CountMismatch" },
  159: { note: "cmd 15 REGION_WRITE_MULTI (not negotiated)", reason: "BadSize" }, // 8-byte body, wr_cnt 0
  163: { note: "DEVICE_GET_INFO with empty payload", reason: "Truncated" },
  165: { note: "DEVICE_GET_INFO argsz 8", reason: "BadArgsz" },
};
/** Probe requests with unassigned command numbers: they decode, as Unknown messages. */
const UNKNOWN: Record<number, { note: string; command: number }> = {
  155: { note: "cmd 0 (invalid)", command: 0 },
  157: { note: "cmd 14 (old DIRTY_PAGES)", command: 14 },
  161: { note: "cmd 99 (unknown)", command: 99 },
};

const isMalformed = (s: Session, f: FixtureFrame) => s.name === "probe-vs-gpio" && MALFORMED[f.seq] !== undefined;

describe.each(fixture.sessions.map((s) => [s.name, s] as const))("session %s", (_name, session) => {
  it("every well-formed frame decodes and re-encodes to the same bytes", () => {
    let checked = 0;
    for (const f of session.frames) {
      if (isMalformed(session, f)) continue;
      const bytes = fromHex(f.hex);
      const r = decodeMessage(bytes);
      if (!r.ok) throw new Error(`seq ${f.seq} ${f.cmdName}: ${r.error.message}`);
      const { header, message } = r.value;
      expect(header).toEqual({ msgId: f.msgId, command: f.cmd, msgSize: bytes.length, flags: f.flags, error: f.error });
      expect((f.flags & 0x20) !== 0, `seq ${f.seq}`).toBe(message.kind === "ErrorReply");
      const again = encodeMessage(message, { msgId: header.msgId, flags: header.flags });
      expect(toHex(again), `seq ${f.seq} ${f.cmdName} ${message.kind}`).toBe(f.hex);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("each direction and channel is framed whole, split anywhere and byte by byte, with the right fds", () => {
    const groups = new Map<string, FixtureFrame[]>();
    for (const f of [...session.frames].sort((a, b) => a.seq - b.seq)) {
      const key = `${f.channel}/${f.dir}`;
      groups.set(key, [...(groups.get(key) ?? []), f]);
    }
    let nextFd = 100;
    for (const [key, list] of groups) {
      // Fake fd numbers, unique per frame, so we can see which frame each one lands on.
      const frames = list.map((f) => ({ bytes: fromHex(f.hex), fds: Array.from({ length: f.fds }, () => nextFd++) }));
      const ks = new KernelStream(frames);
      const total = ks.stream.length;
      const check = (chunks: Chunk[], how: string) => {
        const got = parseChunks(chunks);
        const ok =
          got.length === frames.length &&
          got.every((g, i) => sameBytes(g.bytes, frames[i]!.bytes) && g.fds.join() === frames[i]!.fds.join());
        if (!ok) {
          // Show a readable difference.
          expect(
            got.map((g) => ({ hex: toHex(g.bytes), fds: [...g.fds] })),
            `${key} ${how}`,
          ).toEqual(frames.map((f) => ({ hex: toHex(f.bytes), fds: f.fds })));
        }
        checks++;
      };
      let checks = 0;
      check(ks.chunks([]), "one read per message (fd messages), the rest together");
      check(
        ks.chunks(frames.map((_, i) => frames.slice(0, i).reduce((n, f) => n + f.bytes.length, 0))),
        "one read per message",
      );
      check(ks.chunks(Array.from({ length: total }, (_, i) => i)), "byte by byte");
      const step = Math.max(1, Math.floor(total / 2000));
      for (let k = 1; k < total; k += step) check(ks.chunks([k]), `split at ${k}`);
      const rand = prng(0x5eed + total);
      for (let round = 0; round < 200; round++) {
        const cuts = Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() * total));
        check(ks.chunks(cuts), `random cuts ${cuts.join(",")}`);
      }
      expect(checks).toBeGreaterThan(200);
      // Fds must never be lost: each frame carries exactly its own.
      expect(frames.reduce((n, f) => n + f.fds.length, 0)).toBe(list.reduce((n, f) => n + f.fds, 0));
    }
  });
});

describe("deliberately malformed probe requests", () => {
  const probe = fixture.sessions.find((s) => s.name === "probe-vs-gpio")!;
  const bySeq = new Map(probe.frames.map((f) => [f.seq, f]));

  it.each(Object.entries(MALFORMED))("seq %s decodes to the tagged error", (seq, want) => {
    const f = bySeq.get(Number(seq))!;
    expect(f.note).toBe(want.note);
    const r = decodeMessage(fromHex(f.hex));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error._tag).toBe("ProtoError");
      expect(r.error.reason).toBe(want.reason);
      expect(r.error.command).toBe(f.cmd);
    }
  });

  it.each(Object.entries(UNKNOWN))("seq %s decodes to an Unknown message (the server answers EINVAL)", (seq, want) => {
    const f = bySeq.get(Number(seq))!;
    expect(f.note).toBe(want.note);
    const r = decodeMessage(fromHex(f.hex));
    if (!r.ok) throw r.error;
    expect(r.value.message).toMatchObject({ kind: "Unknown", command: want.command, reply: false });
  });

  it("the server's replies to them are error replies with EINVAL", () => {
    for (const seq of [...Object.keys(MALFORMED), ...Object.keys(UNKNOWN)].map(Number)) {
      const reply = probe.frames.find((f) => f.seq === seq + 1)!;
      const r = decodeMessage(fromHex(reply.hex));
      if (!r.ok) throw r.error;
      expect(r.value.message).toMatchObject({ kind: "ErrorReply", errno: 22 });
    }
  });
});

describe("what the captures show beyond the spec text", () => {
  const all = fixture.sessions.flatMap((s) => s.frames.map((f) => ({ s, f })));
  const decode = (hex: string): Message => {
    const r = decodeMessage(fromHex(hex));
    if (!r.ok) throw r.error;
    return r.value.message;
  };

  it("error replies with 16 payload bytes keep them", () => {
    const withPayload = all.filter(({ f }) => (f.flags & 0x20) !== 0 && f.hex.length > 32);
    expect(withPayload.length).toBeGreaterThanOrEqual(2);
    for (const { f } of withPayload) {
      const m = decode(f.hex);
      expect(m.kind).toBe("ErrorReply");
      if (m.kind === "ErrorReply") expect(m.payload?.length).toBe(16);
    }
  });

  it("MIG_DATA_READ replies expose `size` bytes of data and keep the padding", () => {
    const replies = all.filter(({ f }) => f.cmdName === "MIG_DATA_READ" && f.dir === "s2c" && (f.flags & 0x20) === 0);
    expect(replies.length).toBeGreaterThan(0);
    for (const { f } of replies) {
      const m = decode(f.hex);
      if (m.kind !== "MigDataReadReply") throw new Error(m.kind);
      const size = new DataView(fromHex(f.hex).buffer).getUint32(20, true);
      expect(m.data.length).toBe(size);
      expect(m.argsz).toBe(8 + size);
      expect(16 + 8 + m.data.length + (m.trailing?.length ?? 0)).toBe(f.hex.length / 2);
    }
    const short = replies
      .map(({ f }) => decode(f.hex))
      .filter((m) => m.kind === "MigDataReadReply" && m.trailing !== undefined);
    expect(short.length).toBeGreaterThanOrEqual(2);
  });

  it("REGION_READ with count 0 gets a bare header back", () => {
    const f = fixture.sessions.find((s) => s.name === "probe-vs-gpio")!.frames.find((x) => x.seq === 65)!;
    expect(decode(f.hex)).toMatchObject({ kind: "RegionReadReply", bare: true, data: new Uint8Array(0) });
  });

  it("libvfio-user's VERSION reply keeps its spaced JSON and the legacy migration capability", () => {
    const f = fixture.sessions.find((s) => s.name === "probe-vs-gpio-twin-socket")!.frames.find((x) => x.seq === 1)!;
    const m = decode(f.hex);
    if (m.kind !== "VersionReply") throw new Error(m.kind);
    expect(m.jsonText?.startsWith('{ "capabilities": {')).toBe(true);
    expect(m.capabilities).toEqual({
      maxMsgFds: 8,
      maxDataXferSize: 1048576,
      migration: { pgsize: 4096 },
      twinSocket: { supported: true, fdIndex: 0 },
    });
  });

  it("GET_REGION_INFO: truncated reply, then the full one with a sparse-mmap capability", () => {
    const frames = fixture.sessions[0]!.frames;
    const truncated = decode(frames.find((x) => x.seq === 9)!.hex);
    const full = decode(frames.find((x) => x.seq === 11)!.hex);
    expect(truncated).toMatchObject({ kind: "DeviceGetRegionInfoReply", argsz: 80, flags: 7, capabilities: [] });
    expect(full).toMatchObject({
      kind: "DeviceGetRegionInfoReply",
      argsz: 80,
      flags: 0xf,
      capabilities: [
        {
          kind: "SparseMmap",
          areas: [
            { offset: 0n, size: 0x1000n },
            { offset: 0x2000n, size: 0x1000n },
          ],
        },
      ],
    });
  });
});
