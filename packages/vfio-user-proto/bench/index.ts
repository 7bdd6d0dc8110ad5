/**
 * Benchmarks of @emu/vfio-user-proto: encode and decode rate per message kind, and frame-parser throughput.
 * Run: pnpm --filter @emu/vfio-user-proto bench   (see bench/README.md for what is and is not measured)
 */
import { decodeMessage, encodeMessage, FrameParser, type Message, maxMessageSizeFor } from "@emu/vfio-user-proto";
import { Bench } from "tinybench";

const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 300);

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

/** One representative message per kind (small payloads, as on a control path; data messages carry 8 bytes). */
const samples: readonly Message[] = [
  {
    kind: "VersionRequest",
    major: 0,
    minor: 2,
    capabilities: { maxMsgFds: 16, maxDataXferSize: 1048576, twinSocket: { supported: true } },
  },
  {
    kind: "VersionReply",
    major: 0,
    minor: 2,
    capabilities: {
      maxMsgFds: 8,
      maxDataXferSize: 1048576,
      migration: { pgsize: 4096 },
      twinSocket: { supported: true, fdIndex: 0 },
    },
  },
  { kind: "DmaMapRequest", argsz: 32, flags: 3, offset: 0n, address: 0x10000n, size: 0x4000n },
  { kind: "DmaMapReply" },
  { kind: "DmaUnmapRequest", argsz: 24, flags: 0, address: 0x10000n, size: 0x4000n },
  { kind: "DmaUnmapReply", argsz: 24, flags: 0, address: 0x10000n, size: 0x4000n },
  { kind: "DeviceGetInfoRequest", argsz: 16 },
  { kind: "DeviceGetInfoReply", argsz: 16, flags: 3, numRegions: 9, numIrqs: 5 },
  { kind: "DeviceGetRegionInfoRequest", argsz: 80, index: 0 },
  {
    kind: "DeviceGetRegionInfoReply",
    argsz: 80,
    flags: 0xf,
    index: 0,
    size: 0x20000n,
    offset: 0n,
    capabilities: [
      {
        kind: "SparseMmap",
        areas: [
          { offset: 0n, size: 0x1000n },
          { offset: 0x2000n, size: 0x1000n },
        ],
      },
    ],
  },
  { kind: "DeviceGetRegionIoFdsRequest", argsz: 256, index: 0 },
  {
    kind: "DeviceGetRegionIoFdsReply",
    argsz: 56,
    flags: 0,
    index: 0,
    count: 1,
    entrySize: 40,
    subRegions: [{ offset: 0x1000n, size: 4n, fdIndex: 0, type: 0, flags: 1, datamatch: 1n }],
  },
  { kind: "DeviceGetIrqInfoRequest", argsz: 16, index: 2 },
  { kind: "DeviceGetIrqInfoReply", argsz: 16, flags: 9, index: 2, count: 16 },
  { kind: "DeviceSetIrqsRequest", argsz: 20, flags: 0x24, index: 2, start: 0, count: 16 },
  { kind: "DeviceSetIrqsReply" },
  { kind: "RegionReadRequest", offset: 0x10n, region: 0, count: 8 },
  { kind: "RegionReadReply", offset: 0x10n, region: 0, data: bytes(8) },
  { kind: "RegionWriteRequest", offset: 0x10n, region: 0, data: bytes(8) },
  { kind: "RegionWriteReply", offset: 0x10n, region: 0, count: 8 },
  { kind: "DmaReadRequest", address: 0x10000n, count: 8n },
  { kind: "DmaReadReply", address: 0x10000n, data: bytes(8) },
  { kind: "DmaWriteRequest", address: 0x10000n, data: bytes(8) },
  { kind: "DmaWriteReply", address: 0x10000n, count: 8n },
  { kind: "DeviceResetRequest" },
  { kind: "DeviceResetReply" },
  {
    kind: "RegionWriteMultiRequest",
    writes: Array.from({ length: 8 }, (_, i) => ({ offset: BigInt(i * 4), region: 0, data: bytes(4, i) })),
  },
  { kind: "RegionWriteMultiReply", wrCnt: 8n },
  {
    kind: "DeviceFeatureRequest",
    argsz: 16,
    flags: 0x20002,
    data: { type: "MigDeviceState", deviceState: 3, dataFd: -1 },
  },
  {
    kind: "DeviceFeatureReply",
    argsz: 40,
    flags: 0x10008,
    data: { type: "DmaLoggingReport", iova: 0n, length: 0x40000n, pageSize: 0x1000n, bitmap: bytes(8) },
  },
  { kind: "MigDataReadRequest", argsz: 1032, size: 1024 },
  { kind: "MigDataReadReply", argsz: 16, data: bytes(8), trailing: new Uint8Array(1016) },
  { kind: "MigDataWriteRequest", argsz: 16, data: bytes(8) },
  { kind: "MigDataWriteReply" },
  { kind: "ErrorReply", command: 9, errno: 22 },
  { kind: "Unknown", command: 14, reply: false, payload: bytes(8) },
];

function concat(frames: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}

/** A parse job: a prebuilt stream cut into `chunkSize` pieces; one run pushes them all and pulls every frame. */
function parserJob(name: string, frame: Uint8Array, frames: number, chunkSize: number, decode: boolean) {
  const stream = concat(Array.from({ length: frames }, () => frame));
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i += chunkSize) chunks.push(stream.subarray(i, i + chunkSize));
  let sink = 0;
  const run = () => {
    const p = new FrameParser({ maxMessageSize: maxMessageSizeFor(1 << 20) });
    let n = 0;
    for (const c of chunks) {
      p.push(c);
      for (let f = p.next(); f !== undefined; f = p.next()) {
        n++;
        if (decode) {
          const r = decodeMessage(f);
          if (!r.ok) throw r.error;
          sink ^= r.value.header.msgId;
        }
      }
    }
    if (n !== frames) throw new Error(`${name}: ${n} frames, expected ${frames}`);
    return sink;
  };
  run();
  return { name, run, frames, bytes: stream.length, frameSize: frame.length, chunkSize };
}

async function main(): Promise<void> {
  console.log(`@emu/vfio-user-proto benchmarks — Node ${process.version}, ${TIME_MS} ms per task\n`);

  // ── encode / decode per message kind ───────────────────────────────────────────────────────────────────────
  const codec = new Bench({ time: TIME_MS, warmupTime: 100 });
  let sink = 0;
  for (const m of samples) {
    const frame = encodeMessage(m, { msgId: 7 });
    const check = decodeMessage(frame);
    if (!check.ok) throw check.error;
    codec.add(`encode ${m.kind}`, () => {
      sink ^= encodeMessage(m, { msgId: 7 }).length;
    });
    codec.add(`decode ${m.kind}`, () => {
      const r = decodeMessage(frame);
      if (r.ok) sink ^= r.value.header.msgId;
    });
  }
  await codec.run();
  const rows: { kind: string; size: number; encode: number; decode: number }[] = [];
  for (const m of samples) {
    const enc = codec.getTask(`encode ${m.kind}`)?.result;
    const dec = codec.getTask(`decode ${m.kind}`)?.result;
    rows.push({
      kind: m.kind,
      size: encodeMessage(m, { msgId: 7 }).length,
      encode: enc?.throughput.mean ?? Number.NaN,
      decode: dec?.throughput.mean ?? Number.NaN,
    });
  }
  const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`);
  console.log("| message kind | frame bytes | encode ops/s | decode ops/s |");
  console.log("|---|---:|---:|---:|");
  for (const r of rows) console.log(`| ${r.kind} | ${r.size} | ${fmt(r.encode)} | ${fmt(r.decode)} |`);

  // ── frame parser throughput ────────────────────────────────────────────────────────────────────────────────
  const small = encodeMessage({ kind: "RegionReadRequest", offset: 0x10n, region: 0, count: 4 }, { msgId: 1 });
  const large = encodeMessage(
    { kind: "RegionWriteRequest", offset: 0n, region: 1, data: bytes(1 << 20) },
    { msgId: 1 },
  );
  const jobs = [
    parserJob("small frames (32 B), 64 KiB reads", small, 20000, 65536, false),
    parserJob("small frames (32 B), 64 KiB reads, + decodeMessage", small, 20000, 65536, true),
    parserJob("small frames (32 B), one frame per read", small, 20000, small.length, false),
    parserJob("large frames (1 MiB + 32 B), 64 KiB reads", large, 16, 65536, false),
    parserJob("large frames (1 MiB + 32 B), one frame per read", large, 16, large.length, false),
  ];
  // Baseline for the copying case: assembling the same 64 KiB reads into 1 MiB frames with plain Uint8Array.set.
  const baselineChunks: Uint8Array[] = [];
  const largeStream = concat(Array.from({ length: 16 }, () => large));
  for (let i = 0; i < largeStream.length; i += 65536) baselineChunks.push(largeStream.subarray(i, i + 65536));
  const baseline = "baseline: copy the same 64 KiB reads into 1 MiB frames (Uint8Array.set)";
  const parse = new Bench({ time: Math.max(TIME_MS, 500), warmupTime: 100 });
  for (const j of jobs) parse.add(j.name, j.run);
  parse.add(baseline, () => {
    let frame = new Uint8Array(large.length);
    let at = 0;
    for (const c of baselineChunks) {
      let off = 0;
      while (off < c.length) {
        const n = Math.min(c.length - off, frame.length - at);
        frame.set(c.subarray(off, off + n), at);
        at += n;
        off += n;
        if (at === frame.length) {
          sink ^= frame[0] as number;
          frame = new Uint8Array(large.length);
          at = 0;
        }
      }
    }
  });
  await parse.run();
  const baseHz = parse.getTask(baseline)?.result?.throughput.mean ?? Number.NaN;
  console.log("\n| parser job | frames/s | MB/s |");
  console.log("|---|---:|---:|");
  for (const j of jobs) {
    const hz = parse.getTask(j.name)?.result?.throughput.mean ?? Number.NaN;
    const zeroCopy = j.chunkSize === j.frameSize && j.frameSize > 65536;
    const mbs = zeroCopy ? "n/a (frames are views, no byte is touched)" : ((hz * j.bytes) / 1e6).toFixed(0);
    const ratio = j.frameSize > 65536 && !zeroCopy ? ` (${(hz / baseHz).toFixed(2)}× baseline)` : "";
    console.log(`| ${j.name} | ${fmt(hz * j.frames)} | ${mbs}${ratio} |`);
  }
  console.log(`| ${baseline} | ${fmt(baseHz * 16)} | ${((baseHz * largeStream.length) / 1e6).toFixed(0)} |`);
  if (sink === 0.5) console.log(sink); // keep results observable
}

await main();
