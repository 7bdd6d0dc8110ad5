import {
  decodeDeviceInfoCapabilities,
  decodeIrqSet,
  decodeMessage,
  decodeRegionInfo,
  encodeMessage,
  FrameParser,
  formatCapabilitiesJson,
  isKnownCommand,
  isProtoError,
  type Message,
  type MessageKind,
  parseCapabilitiesJson,
  type RegionCapability,
  type SubRegionIoFd,
  type VersionCapabilities,
} from "@emu/vfio-user-proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const nonZeroU32 = fc.integer({ min: 1, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const bytes = (maxLength = 48) => fc.uint8Array({ maxLength });
const nonEmptyBytes = (maxLength = 48) => fc.uint8Array({ minLength: 1, maxLength });
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** Builds an object without the keys whose value is undefined (exactOptionalPropertyTypes style). */
function clean<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

const KNOWN_CAP_KEYS = [
  "max_msg_fds",
  "max_data_xfer_size",
  "max_dma_maps",
  "pgsizes",
  "migration",
  "twin_socket",
  "write_multiple",
];
const count = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const capabilities: fc.Arbitrary<VersionCapabilities> = fc
  .record({
    maxMsgFds: opt(count),
    maxDataXferSize: opt(count),
    maxDmaMaps: opt(count),
    pgsizes: opt(count),
    migration: opt(fc.record({ pgsize: opt(count), maxBitmapSize: opt(count) }).map(clean)),
    twinSocket: opt(fc.record({ supported: opt(fc.boolean()), fdIndex: opt(fc.nat(64)) }).map(clean)),
    writeMultiple: opt(fc.boolean()),
    unknown: opt(
      fc.dictionary(
        fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !KNOWN_CAP_KEYS.includes(k)),
        fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null)),
        { minKeys: 1, maxKeys: 3 },
      ),
    ),
  })
  .map(clean);

const capability: fc.Arbitrary<RegionCapability> = fc.oneof(
  fc.record({
    kind: fc.constant("SparseMmap" as const),
    version: u16,
    areas: fc.array(fc.record({ offset: u64, size: u64 }), { maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant("Type" as const), version: u16, type: u32, subtype: u32 }),
  fc.record({ kind: fc.constant("MsixMappable" as const), version: u16 }),
  fc.record({
    kind: fc.constant("Unknown" as const),
    id: u16.filter((id) => id < 1 || id > 3),
    version: u16,
    // the body of the last capability runs to the end, and bodies are padded to 8 bytes
    data: fc.integer({ min: 0, max: 4 }).chain((n) => fc.uint8Array({ minLength: n * 8, maxLength: n * 8 })),
  }),
);

function subRegion(entrySize: 40 | 48): fc.Arbitrary<SubRegionIoFd> {
  const base = { offset: u64, size: u64, fdIndex: u32, type: u32, flags: u32, datamatch: u64 };
  return entrySize === 40 ? fc.record(base) : fc.record({ ...base, shadowMemFdIndex: u32, shadowOffset: u64 });
}

const featureFlags = (feature: number, op: number) => (feature | op) >>> 0;
const GET = 1 << 16;
const SET = 1 << 17;
const PROBE = 1 << 18;

const featureRequest = fc.oneof(
  fc.record({ argsz: u32.filter((a) => a >= 8), flags: u32, data: fc.constant({ type: "None" as const }) }),
  fc.record({
    argsz: u32.filter((a) => a >= 8),
    flags: fc.constant(featureFlags(2, SET)),
    data: fc.record({
      type: fc.constant("MigDeviceState" as const),
      deviceState: u32,
      dataFd: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    }),
  }),
  fc.record({
    argsz: u32.filter((a) => a >= 8),
    flags: fc.constantFrom(featureFlags(6, SET), featureFlags(7, SET)),
    data: fc.record({
      type: fc.constant("DmaLogging" as const),
      pageSize: u64,
      ranges: fc.array(fc.record({ iova: u64, length: u64 }), { maxLength: 4 }),
    }),
  }),
  fc.record({
    argsz: u32.filter((a) => a >= 8),
    flags: fc.constant(featureFlags(8, GET)),
    data: fc.record({ type: fc.constant("DmaLoggingReport" as const), iova: u64, length: u64, pageSize: u64 }),
  }),
  fc.record({
    argsz: u32.filter((a) => a >= 8),
    flags: fc.integer({ min: 9, max: 0xffff }).map((f) => featureFlags(f, GET)),
    data: fc.record({ type: fc.constant("Raw" as const), bytes: nonEmptyBytes() }),
  }),
);

const featureReply = fc.oneof(
  fc.record({ argsz: u32, flags: u32, data: fc.constant({ type: "None" as const }) }),
  fc.record({
    argsz: u32,
    flags: fc.constant(featureFlags(1, GET)),
    data: fc.record({ type: fc.constant("Migration" as const), flags: u64 }),
  }),
  fc.record({
    argsz: u32,
    flags: fc.constantFrom(featureFlags(2, SET), featureFlags(2, GET)),
    data: fc.record({
      type: fc.constant("MigDeviceState" as const),
      deviceState: u32,
      dataFd: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    }),
  }),
  fc.record({
    argsz: u32,
    flags: fc.constant(featureFlags(8, GET)),
    data: fc.record({
      type: fc.constant("DmaLoggingReport" as const),
      iova: u64,
      length: u64,
      pageSize: u64,
      bitmap: bytes(64),
    }),
  }),
  fc.record({
    argsz: u32,
    flags: fc.integer({ min: 0, max: 0xffff }).map((f) => featureFlags(f, PROBE)),
    data: fc.record({ type: fc.constant("Raw" as const), bytes: nonEmptyBytes() }),
  }),
);

/** One arbitrary per message kind; every generated message is canonical (decode(encode(m)) equals m). */
const arbitraries: Record<MessageKind, fc.Arbitrary<Message>> = {
  VersionRequest: fc.record({ kind: fc.constant("VersionRequest" as const), major: u16, minor: u16, capabilities }),
  VersionReply: fc.oneof(
    fc.record({ kind: fc.constant("VersionReply" as const), major: u16, minor: u16, capabilities }),
    fc.record({
      kind: fc.constant("VersionReply" as const),
      major: u16,
      minor: u16,
      capabilities: fc.constant({}),
      jsonText: fc.constant(null),
    }),
  ),
  DmaMapRequest: fc.record({
    kind: fc.constant("DmaMapRequest" as const),
    argsz: u32.filter((a) => a >= 32),
    flags: u32,
    offset: u64,
    address: u64,
    size: u64,
  }),
  DmaMapReply: fc.constant({ kind: "DmaMapReply" as const }),
  DmaUnmapRequest: fc
    .record({ argsz: u32.filter((a) => a >= 24), flags: u32, address: u64, size: u64, pgsize: u64, bsize: u64 })
    .map(({ pgsize, bsize, ...m }) =>
      (m.flags & 1) !== 0
        ? { kind: "DmaUnmapRequest" as const, ...m, bitmap: { pgsize, size: bsize } }
        : { kind: "DmaUnmapRequest" as const, ...m },
    ),
  DmaUnmapReply: fc
    .record({ argsz: u32, flags: u32, address: u64, size: u64, pgsize: u64, data: bytes() })
    .map(({ pgsize, data, ...m }) =>
      (m.flags & 1) !== 0
        ? { kind: "DmaUnmapReply" as const, ...m, bitmap: { pgsize, size: BigInt(data.length), data } }
        : { kind: "DmaUnmapReply" as const, ...m },
    ),
  DeviceGetInfoRequest: fc
    .record({ argsz: u32.filter((a) => a >= 16), trailing: opt(nonEmptyBytes()) })
    .map((m) => clean({ kind: "DeviceGetInfoRequest" as const, ...m })),
  DeviceGetInfoReply: fc.record({
    kind: fc.constant("DeviceGetInfoReply" as const),
    argsz: u32,
    flags: u32,
    numRegions: u32,
    numIrqs: u32,
  }),
  DeviceGetRegionInfoRequest: fc
    .record({ argsz: u32.filter((a) => a >= 32), index: u32, trailing: opt(nonEmptyBytes()) })
    .map((m) => clean({ kind: "DeviceGetRegionInfoRequest" as const, ...m })),
  DeviceGetRegionInfoReply: fc
    .record({
      flags: u32,
      index: u32,
      size: u64,
      offset: u64,
      capabilities: fc.array(capability, { maxLength: 4 }),
      extra: u32,
    })
    .map(({ extra, ...m }) => ({
      kind: "DeviceGetRegionInfoReply" as const,
      // argsz ≥ what the capabilities need (a kernel-style buffer may be larger), or any value without capabilities
      argsz: m.capabilities.length === 0 ? extra : 0xffffffff,
      ...m,
    })),
  DeviceGetRegionIoFdsRequest: fc
    .record({
      argsz: u32.filter((a) => a >= 16),
      index: u32,
      flags: opt(nonZeroU32),
      count: opt(nonZeroU32),
      trailing: opt(nonEmptyBytes()),
    })
    .map((m) => clean({ kind: "DeviceGetRegionIoFdsRequest" as const, ...m })),
  DeviceGetRegionIoFdsReply: fc.oneof(
    fc.constantFrom(40 as const, 48 as const).chain((entrySize) =>
      fc
        .record({ flags: u32, index: u32, subRegions: fc.array(subRegion(entrySize), { minLength: 1, maxLength: 4 }) })
        .map((m) => ({
          kind: "DeviceGetRegionIoFdsReply" as const,
          argsz: 16 + m.subRegions.length * entrySize,
          count: m.subRegions.length,
          entrySize,
          ...m,
        })),
    ),
    // head only: a truncated reply, or one without sub-regions
    fc.record({ argsz: u32, flags: u32, index: u32, count: u32 }).map((m) => ({
      kind: "DeviceGetRegionIoFdsReply" as const,
      ...m,
      entrySize: m.count > 0 && m.argsz >= 16 && (m.argsz - 16) / m.count === 48 ? (48 as const) : (40 as const),
      subRegions: [],
    })),
  ),
  DeviceGetIrqInfoRequest: fc
    .record({
      argsz: u32.filter((a) => a >= 16),
      index: u32,
      flags: opt(nonZeroU32),
      count: opt(nonZeroU32),
      trailing: opt(nonEmptyBytes()),
    })
    .map((m) => clean({ kind: "DeviceGetIrqInfoRequest" as const, ...m })),
  DeviceGetIrqInfoReply: fc.record({
    kind: fc.constant("DeviceGetIrqInfoReply" as const),
    argsz: u32,
    flags: u32,
    index: u32,
    count: u32,
  }),
  DeviceSetIrqsRequest: fc
    .record({ argsz: u32.filter((a) => a >= 20), flags: u32, index: u32, start: u32, data: bytes(32), count: u32 })
    .map(({ data, count, ...m }) =>
      (m.flags & 7) === 2
        ? { kind: "DeviceSetIrqsRequest" as const, ...m, count: data.length, data }
        : { kind: "DeviceSetIrqsRequest" as const, ...m, count },
    ),
  DeviceSetIrqsReply: fc.constant({ kind: "DeviceSetIrqsReply" as const }),
  RegionReadRequest: fc.record({
    kind: fc.constant("RegionReadRequest" as const),
    offset: u64,
    region: u32,
    count: u32,
  }),
  RegionReadReply: fc.oneof(
    fc.record({ kind: fc.constant("RegionReadReply" as const), offset: u64, region: u32, data: bytes(200) }),
    fc.constant({ kind: "RegionReadReply" as const, offset: 0n, region: 0, data: new Uint8Array(0), bare: true }),
  ),
  RegionWriteRequest: fc.record({
    kind: fc.constant("RegionWriteRequest" as const),
    offset: u64,
    region: u32,
    data: bytes(200),
  }),
  RegionWriteReply: fc.oneof(
    fc.record({ kind: fc.constant("RegionWriteReply" as const), offset: u64, region: u32, count: u32 }),
    fc.constant({ kind: "RegionWriteReply" as const, offset: 0n, region: 0, count: 0, bare: true }),
  ),
  DmaReadRequest: fc.record({ kind: fc.constant("DmaReadRequest" as const), address: u64, count: u64 }),
  DmaReadReply: fc.record({ kind: fc.constant("DmaReadReply" as const), address: u64, data: bytes(200) }),
  DmaWriteRequest: fc.record({ kind: fc.constant("DmaWriteRequest" as const), address: u64, data: bytes(200) }),
  DmaWriteReply: fc.oneof(
    fc.record({ kind: fc.constant("DmaWriteReply" as const), address: u64, count: u64 }),
    fc.record({
      kind: fc.constant("DmaWriteReply" as const),
      address: u64,
      count: u32.map(BigInt),
      count32: fc.constant(true),
    }),
  ),
  DeviceResetRequest: fc.constant({ kind: "DeviceResetRequest" as const }),
  DeviceResetReply: fc.constant({ kind: "DeviceResetReply" as const }),
  RegionWriteMultiRequest: fc.record({
    kind: fc.constant("RegionWriteMultiRequest" as const),
    writes: fc.array(fc.record({ offset: u64, region: u32, data: bytes(8) }), { minLength: 1, maxLength: 8 }),
  }),
  RegionWriteMultiReply: fc.record({ kind: fc.constant("RegionWriteMultiReply" as const), wrCnt: u64 }),
  DeviceFeatureRequest: featureRequest.map((m) => ({ kind: "DeviceFeatureRequest" as const, ...m })),
  DeviceFeatureReply: featureReply.map((m) => ({ kind: "DeviceFeatureReply" as const, ...m })),
  MigDataReadRequest: fc.record({
    kind: fc.constant("MigDataReadRequest" as const),
    argsz: u32.filter((a) => a >= 8),
    size: u32,
  }),
  MigDataReadReply: fc
    .record({ argsz: u32, data: bytes(100), trailing: opt(nonEmptyBytes()) })
    .map((m) => clean({ kind: "MigDataReadReply" as const, ...m })),
  MigDataWriteRequest: fc.record({ kind: fc.constant("MigDataWriteRequest" as const), argsz: u32, data: bytes(100) }),
  MigDataWriteReply: fc.oneof(
    fc.constant({ kind: "MigDataWriteReply" as const }),
    fc.record({ kind: fc.constant("MigDataWriteReply" as const), argsz: u32, size: u32 }),
  ),
  ErrorReply: fc
    .record({ command: u16, errno: u32, payload: opt(nonEmptyBytes()) })
    .map((m) => clean({ kind: "ErrorReply" as const, ...m })),
  Unknown: fc.record({
    kind: fc.constant("Unknown" as const),
    command: u16.filter((c) => !isKnownCommand(c)),
    reply: fc.boolean(),
    payload: bytes(),
  }),
};

/**
 * What decode(encode(m)) must give: VERSION gains the JSON text it was sent with. (structuredClone turns fast-check's
 * null-prototype records into plain objects, as the decoder builds them.)
 */
function expectedAfterRoundTrip(m: Message): Message {
  if ((m.kind === "VersionRequest" || m.kind === "VersionReply") && m.jsonText === undefined) {
    return structuredClone({ ...m, jsonText: formatCapabilitiesJson(m.capabilities) });
  }
  return structuredClone(m);
}

const anyMessage = fc.oneof(...Object.values(arbitraries));
const msgId = u16;

describe("round trips (fast-check)", () => {
  it.each(Object.keys(arbitraries))("%s: decode(encode(m)) = m, and re-encoding is byte-identical", (kind) => {
    fc.assert(
      fc.property(arbitraries[kind as MessageKind], msgId, fc.boolean(), (m, id, noReply) => {
        const isCommand = m.kind.endsWith("Request") || (m.kind === "Unknown" && !m.reply);
        const options = noReply && isCommand ? { msgId: id, flags: 0x10 } : { msgId: id };
        const bytes = encodeMessage(m, options);
        const r = decodeMessage(bytes);
        if (!r.ok) throw r.error;
        expect(r.value.header.msgId).toBe(id);
        expect(r.value.header.msgSize).toBe(bytes.length);
        expect(r.value.message).toStrictEqual(expectedAfterRoundTrip(m));
        expect(encodeMessage(r.value.message, { msgId: id, flags: r.value.header.flags })).toStrictEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it("capabilities JSON: parse(format(c)) = c", () => {
    fc.assert(
      fc.property(capabilities, (c) => {
        expect(parseCapabilitiesJson(formatCapabilitiesJson(c))).toStrictEqual(structuredClone(c));
      }),
    );
  });

  it("the frame parser finds any sequence of encoded messages, however it is chunked", () => {
    fc.assert(
      fc.property(
        fc.array(anyMessage, { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (msgs, cutsRaw) => {
          const frames = msgs.map((m, i) => encodeMessage(m, { msgId: i }));
          const total = frames.reduce((n, f) => n + f.length, 0);
          const stream = new Uint8Array(total);
          let at = 0;
          for (const f of frames) {
            stream.set(f, at);
            at += f.length;
          }
          const cuts = [...new Set(cutsRaw.map((c) => c % total))].sort((a, b) => a - b);
          const p = new FrameParser();
          const got: Uint8Array[] = [];
          let prev = 0;
          for (const c of [...cuts, total]) {
            p.push(stream.subarray(prev, c));
            prev = c;
            expect(p.drain((f) => got.push(f.bytes))).toBeUndefined();
          }
          expect(got).toStrictEqual(frames.map((f) => new Uint8Array(f)));
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** Runs `fn`; any exception other than a tagged ProtoError fails the property. */
function onlyTagged(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!isProtoError(e)) throw e;
  }
}

describe("hostile input never raises anything but a tagged error", () => {
  it("random bytes as a frame", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const r = decodeMessage(b);
        if (!r.ok) expect(r.error._tag).toBe("ProtoError");
      }),
      { numRuns: 5000 },
    );
  });

  it("random payloads behind a valid header, for every command and both directions", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.constantFrom(0, 1, 0x10, 0x21, 2),
        u32,
        fc.uint8Array({ maxLength: 300 }),
        (cmd, flags, err, payload) => {
          const frame = new Uint8Array(16 + payload.length);
          const v = new DataView(frame.buffer);
          v.setUint16(2, cmd, true);
          v.setUint32(4, frame.length, true);
          v.setUint32(8, flags, true);
          v.setUint32(12, err, true);
          frame.set(payload, 16);
          const r = decodeMessage(frame);
          if (r.ok) {
            // whatever decodes must encode again
            encodeMessage(r.value.message, { msgId: 0, flags: r.value.header.flags });
          } else {
            expect(r.error._tag).toBe("ProtoError");
          }
        },
      ),
      { numRuns: 20000 },
    );
  });

  it("mutations of valid frames (byte flips, truncation, extension, msg_size fixed up or not)", () => {
    fc.assert(
      fc.property(
        anyMessage,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: -16, max: 16 }),
        fc.boolean(),
        (m, flips, resize, fixSize) => {
          const orig = encodeMessage(m, { msgId: 1 });
          const len = Math.max(0, orig.length + resize);
          const b = new Uint8Array(len);
          b.set(orig.subarray(0, Math.min(len, orig.length)));
          for (const [pos, val] of flips) if (len > 0) b[pos % len] = val;
          if (fixSize && len >= 8) new DataView(b.buffer).setUint32(4, len, true);
          const r = decodeMessage(b);
          if (r.ok) encodeMessage(r.value.message, { msgId: r.value.header.msgId, flags: r.value.header.flags });
          else expect(r.error._tag).toBe("ProtoError");
        },
      ),
      { numRuns: 10000 },
    );
  });

  it("struct decoders and the JSON parser on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(200), (b, capOffset) => {
        onlyTagged(() => decodeRegionInfo(b));
        onlyTagged(() => decodeDeviceInfoCapabilities(b));
        onlyTagged(() => decodeIrqSet(b));
        // region info whose cap_offset lands inside the buffer, to exercise the chain walker
        if (b.length >= 32) {
          const c = new Uint8Array(b);
          new DataView(c.buffer).setUint32(12, 32 + (capOffset % Math.max(1, b.length - 32)), true);
          onlyTagged(() => decodeRegionInfo(c));
        }
        onlyTagged(() => parseCapabilitiesJson(new TextDecoder().decode(b)));
      }),
      { numRuns: 5000 },
    );
  });

  it("the frame parser on random chunks with fds: only tagged errors, and no fd is ever lost", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.array(fc.nat(), { maxLength: 2 })), { maxLength: 20 }),
        (chunks) => {
          const p = new FrameParser({ maxMessageSize: 64 });
          const pushed: number[] = [];
          const handedOut: number[] = [];
          for (const [bytes, fds] of chunks) {
            pushed.push(...fds);
            p.push(bytes, fds);
            const err = p.drain((f) => handedOut.push(...f.fds));
            if (err !== undefined) expect(err._tag).toBe("ProtoError");
          }
          handedOut.push(...p.takeFds());
          expect(handedOut.sort()).toEqual(pushed.sort());
        },
      ),
      { numRuns: 3000 },
    );
  });
});
