import * as proto from "@emu/vfio-user-proto";
import {
  argszRetry,
  CapabilityDefaults,
  commandName,
  DeviceFeature,
  DeviceFeatureFlags,
  decodeDeviceInfo,
  decodeDeviceInfoCapabilities,
  decodeEventfdData,
  decodeHeader,
  decodeIrqInfo,
  decodeIrqSet,
  decodeMessage,
  decodeRegionInfo,
  deviceFeatureFlags,
  dirtyBitmapSize,
  effectiveCapabilities,
  encodeDeviceInfo,
  encodeEventfdData,
  encodeHeader,
  encodeIrqInfo,
  encodeIrqSet,
  encodeMessage,
  encodeRegionInfo,
  findRegionCapability,
  formatHeader,
  HeaderFlags,
  isKnownCommand,
  isPageDirty,
  isProtoError,
  isTruncatedReply,
  type Message,
  markPageDirty,
  type ProtoError,
  type ProtoErrorReason,
  parseCapabilitiesJson,
  type RegionInfo,
  regionInfoSize,
} from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { ascii, h, toHex } from "./helpers.js";
import { vectors } from "./vectors.js";

function reasonOf(fn: () => unknown): ProtoErrorReason {
  try {
    fn();
  } catch (e) {
    if (isProtoError(e)) return (e as ProtoError).reason;
    throw e;
  }
  throw new Error("did not throw");
}

/** A region_info struct head (32 bytes) followed by `caps`, as hex. */
const regionHead = (argsz: string, capOffset: string) => `
  ${argsz}                 # argsz
  0f000000                 # flags READ|WRITE|MMAP|CAPS
  00000000                 # index 0
  ${capOffset}             # cap_offset
  0000010000000000         # size 0x10000
  0000000000000000         # offset 0
`;

describe("vfio_region_info capability chains", () => {
  it("walks a kernel-aligned chain with MSIX_MAPPABLE and a padded unknown capability", () => {
    const bytes = h`
      ${regionHead("40000000", "20000000")}
      0300 0100 28000000   # @32 MSIX_MAPPABLE v1, next 40
      0400 0100 00000000   # @40 id 4 (NVLINK2_SSATGT), next 0
      0102030405060708     # body
      0900000000000000     # more body (to argsz 64)
    `;
    const info = decodeRegionInfo(bytes);
    expect(info.capabilities).toStrictEqual([
      { kind: "MsixMappable", version: 1 },
      { kind: "Unknown", id: 4, version: 1, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 0, 0, 0, 0, 0]) },
    ]);
    expect(findRegionCapability(info, "MsixMappable")).toStrictEqual({ kind: "MsixMappable", version: 1 });
    expect(findRegionCapability(info, "SparseMmap")).toBeUndefined();
    expect(regionInfoSize(info.capabilities)).toBe(64);
    expect(toHex(encodeRegionInfo(info))).toBe(toHex(bytes));
  });

  it("follows next pointers in any order and ignores bytes past argsz (kernel buffer larger than needed)", () => {
    const bytes = h`
      ${regionHead("50000000", "30000000")}
      0200 0100 00000000   # @32 TYPE, next 0 (last)
      01000000 01000000    # type GFX, subtype EDID
      0100 0100 20000000   # @48 SPARSE_MMAP, next 32 (backwards)
      01000000 00000000    # nr_areas 1
      0000000000000000 0010000000000000   # area 0x0 + 0x1000
      ffffffffffffffff     # past argsz 80: ignored
    `;
    const info = decodeRegionInfo(bytes);
    expect(info.capabilities.map((c) => c.kind)).toEqual(["SparseMmap", "Type"]);
    expect(findRegionCapability(info, "SparseMmap")?.areas).toEqual([{ offset: 0n, size: 0x1000n }]);
  });

  it("kernel truncated form: CAPS set, cap_offset 0 → no capabilities", () => {
    const info = decodeRegionInfo(h`${regionHead("58000000", "00000000")}`);
    expect(info.capabilities).toEqual([]);
    expect(argszRetry(32, info.argsz)).toBe(88);
  });

  const broken: [string, Uint8Array][] = [
    ["next points to itself", h`${regionHead("28000000", "20000000")} 0300 0100 20000000`],
    ["a loop of two", h`${regionHead("30000000", "20000000")} 0300 0100 28000000 0300 0100 20000000`],
    ["cap_offset inside the fixed struct", h`${regionHead("28000000", "10000000")} 0300 0100 00000000`],
    ["cap_offset past the end", h`${regionHead("28000000", "00100000")} 0300 0100 00000000`],
    ["header cut by the end", h`${regionHead("24000000", "20000000")} 0300 0100`],
    ["next past the end", h`${regionHead("28000000", "20000000")} 0300 0100 ffffffff`],
    ["overlapping capabilities", h`${regionHead("30000000", "20000000")} 0300 0100 24000000 0000 0000 0300 0100`],
    [
      "nr_areas larger than the capability",
      h`${regionHead("40000000", "20000000")} 0100 0100 00000000 02000000 00000000 0000000000000000 0010000000000000`,
    ],
    ["TYPE body cut short", h`${regionHead("2c000000", "20000000")} 0200 0100 00000000 01000000`],
  ];
  it.each(broken)("%s → BadCapabilityChain, never a hang", (_name, bytes) => {
    expect(reasonOf(() => decodeRegionInfo(bytes))).toBe("BadCapabilityChain");
    // and inside a message
    const frame = new Uint8Array(16 + bytes.length);
    frame.set(h`0100 0500`, 0);
    new DataView(frame.buffer).setUint32(4, frame.length, true);
    new DataView(frame.buffer).setUint32(8, 1, true);
    frame.set(bytes, 16);
    const r = decodeMessage(frame);
    expect(r.ok ? "ok" : r.error.reason).toBe("BadCapabilityChain");
  });

  it("encodes capabilities one after another from offset 32, 8-byte aligned, with next pointers", () => {
    const info: RegionInfo = {
      argsz: 0,
      flags: 0xf,
      index: 9,
      size: 0x100n,
      offset: 0n,
      capabilities: [
        { kind: "Unknown", id: 0x99, version: 2, data: Uint8Array.from([1, 2, 3]) },
        { kind: "Type", type: 1, subtype: 1 },
      ],
    };
    const bytes = encodeRegionInfo({ ...info, argsz: regionInfoSize(info.capabilities) });
    expect(toHex(bytes)).toBe(
      toHex(h`
        40000000 0f000000 09000000 20000000   # argsz 64, flags, index 9, cap_offset 32
        0001000000000000 0000000000000000     # size 0x100, offset 0
        9900 0200 30000000 010203 0000000000   # @32 unknown (3 bytes + pad to 48), next 48
        0200 0100 00000000 01000000 01000000   # @48 TYPE v1 (default), next 0
      `),
    );
  });
});

describe("vfio_device_info, vfio_irq_info, vfio_irq_set", () => {
  it("device info: the 16-byte form, and the kernel's device capability chain", () => {
    const kernel = h`
      28000000 80000000    # argsz 40, flags CAPS
      09000000 05000000    # num_regions 9, num_irqs 5
      18000000 00000000    # cap_offset 24, pad
      0100 0100 00000000   # @24 zPCI BASE, next 0
      aabbccdd eeff0011    # body
    `;
    expect(decodeDeviceInfo(kernel)).toStrictEqual({ argsz: 40, flags: 0x80, numRegions: 9, numIrqs: 5 });
    expect(decodeDeviceInfoCapabilities(kernel)).toStrictEqual([
      { kind: "Unknown", id: 1, version: 1, data: Uint8Array.from([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11]) },
    ]);
    expect(decodeDeviceInfoCapabilities(h`10000000 03000000 09000000 05000000`)).toEqual([]);
    expect(toHex(encodeDeviceInfo({ argsz: 16, flags: 3, numRegions: 9, numIrqs: 5 }))).toBe(
      "10000000030000000900000005000000",
    );
    expect(reasonOf(() => decodeDeviceInfo(h`10000000`))).toBe("Truncated");
  });

  it("irq info round trip", () => {
    const bytes = h`10000000 07000000 00000000 01000000`;
    expect(decodeIrqInfo(bytes)).toStrictEqual({ argsz: 16, flags: 7, index: 0, count: 1 });
    expect(toHex(encodeIrqInfo(decodeIrqInfo(bytes)))).toBe(toHex(bytes));
  });

  it("kernel irq set with inline eventfds", () => {
    const data = encodeEventfdData([5, -1]);
    const set = { argsz: 28, flags: 0x24, index: 2, start: 0, count: 2, data };
    const bytes = encodeIrqSet(set);
    expect(toHex(bytes)).toBe(toHex(h`1c000000 24000000 02000000 00000000 02000000 05000000 ffffffff`));
    const back = decodeIrqSet(bytes);
    expect(decodeEventfdData(back.data!)).toEqual([5, -1]);
    // vfio-user carries eventfds out of band: inline data there is refused
    const frame = encodeMessage({ kind: "Unknown", command: 8, reply: false, payload: bytes }, { msgId: 1 });
    const r = decodeMessage(frame);
    expect(r.ok ? "ok" : r.error.reason).toBe("BadSize");
  });

  it("irq set errors", () => {
    expect(reasonOf(() => decodeIrqSet(h`10000000 21000000 00000000 00000000 00000000`))).toBe("BadArgsz");
    expect(reasonOf(() => decodeIrqSet(h`17000000 22000000 00000000 00000000 03000000 0101`))).toBe("CountMismatch");
    expect(reasonOf(() => decodeIrqSet(h`15000000 21000000 00000000 00000000 01000000 01`))).toBe("BadSize");
  });
});

describe("VERSION capabilities JSON", () => {
  it("defaults per spec when absent", () => {
    expect(effectiveCapabilities({})).toEqual({
      maxMsgFds: 1,
      maxDataXferSize: 1048576,
      maxDmaMaps: 65535,
      pgsizes: 4096,
      writeMultiple: false,
      twinSocket: false,
      twinSocketFdIndex: undefined,
      migration: undefined,
    });
    expect(
      effectiveCapabilities({ migration: { pgsize: 4096 }, twinSocket: { supported: true, fdIndex: 0 } }),
    ).toMatchObject({
      twinSocket: true,
      twinSocketFdIndex: 0,
      migration: { pgsize: 4096, maxBitmapSize: CapabilityDefaults.migrationMaxBitmapSize },
    });
  });

  it("keeps unknown keys, including awkward ones", () => {
    const caps = parseCapabilitiesJson('{"capabilities":{"__proto__":{"x":1},"later":[1,2]},"top":true}');
    expect(Object.getPrototypeOf(caps.unknown)).toBe(Object.prototype);
    expect(Object.keys(caps.unknown ?? {})).toEqual(["__proto__", "later"]);
    expect(parseCapabilitiesJson("{}")).toEqual({});
  });

  const bad = (data: string) =>
    decodeMessage(
      (() => {
        const payload = h`0000 0200 ${data}`;
        const frame = new Uint8Array(16 + payload.length);
        frame.set(payload, 16);
        const v = new DataView(frame.buffer);
        v.setUint16(2, 1, true);
        v.setUint32(4, frame.length, true);
        return frame;
      })(),
    );
  it.each([
    ["not NUL-terminated", ascii("{}")],
    ["NUL inside", `${ascii("{}")}00${ascii(" ")}00`],
    ["invalid UTF-8", "7bff7d00"],
    ["not JSON", `${ascii("{capabilities}")}00`],
    ["empty text", "00"],
    ["top level not an object", `${ascii("[1]")}00`],
    ["capabilities not an object", `${ascii('{"capabilities":3}')}00`],
    ["max_msg_fds a string", `${ascii('{"capabilities":{"max_msg_fds":"8"}}')}00`],
    ["max_data_xfer_size negative", `${ascii('{"capabilities":{"max_data_xfer_size":-1}}')}00`],
    ["pgsizes fractional", `${ascii('{"capabilities":{"pgsizes":4096.5}}')}00`],
    ["twin_socket.supported not a bool", `${ascii('{"capabilities":{"twin_socket":{"supported":1}}}')}00`],
    ["migration not an object", `${ascii('{"capabilities":{"migration":4096}}')}00`],
  ])("%s → BadJson", (_name, data) => {
    const r = bad(data);
    expect(r.ok ? "ok" : r.error.reason).toBe("BadJson");
  });

  it("a VERSION with empty JSON object (as libvfio-user's probe sent) is fine", () => {
    const r = bad(`${ascii("{}")}00`);
    if (!r.ok) throw r.error;
    expect(r.value.message).toStrictEqual({
      kind: "VersionRequest",
      major: 0,
      minor: 2,
      capabilities: {},
      jsonText: "{}",
    });
  });
});

describe("header, commands, whole-message checks", () => {
  it("header codec and formatting", () => {
    const hdr = { msgId: 0xffff, command: 9, msgSize: 16, flags: 0x21, error: 22 };
    const bytes = encodeHeader(hdr);
    expect(toHex(bytes)).toBe("ffff0900100000002100000016000000");
    expect(decodeHeader(bytes)).toEqual(hdr);
    expect(formatHeader(hdr)).toBe("REGION_READ error reply id=65535 size=16 flags=0x21 errno=22");
    expect(reasonOf(() => encodeHeader({ ...hdr, msgId: 0x10000 }))).toBe("OutOfRange");
    expect(commandName(14)).toBe("UNKNOWN_14");
    expect(commandName(18)).toBe("MIG_DATA_WRITE");
    expect(isKnownCommand(14)).toBe(false);
    expect(isKnownCommand(15)).toBe(true);
  });

  it("frames that cannot be messages", () => {
    const reason = (bytes: Uint8Array) => {
      const r = decodeMessage(bytes);
      return r.ok ? "ok" : r.error.reason;
    };
    expect(reason(h`0100 0d00 10000000 000000`)).toBe("Truncated");
    expect(reason(h`0100 0d00 20000000 00000000 00000000`)).toBe("BadHeader"); // msg_size ≠ length
    expect(reason(h`0100 0d00 10000000 02000000 00000000`)).toBe("BadHeader"); // type 2
    expect(reason(h`0100 0d00 14000000 00000000 00000000 00000000`)).toBe("BadSize"); // RESET with payload
    expect(reason(h`0100 0200 18000000 00000000 00000000 20000000 03000000`)).toBe("Truncated");
    expect(reason(h`0100 0200 30000000 00000000 00000000 10000000 ${"00".repeat(28)}`)).toBe("BadArgsz");
  });

  it("encodeMessage: flags, NO_REPLY, range checks", () => {
    const m: Message = { kind: "DeviceResetRequest" };
    expect(toHex(encodeMessage(m, { msgId: 1, flags: HeaderFlags.NO_REPLY }))).toBe("01000d00100000001000000000000000");
    expect(reasonOf(() => encodeMessage(m, { msgId: 1, flags: HeaderFlags.TYPE_REPLY }))).toBe("BadHeader");
    expect(reasonOf(() => encodeMessage({ kind: "DeviceResetReply" }, { msgId: 1, flags: 0x21 }))).toBe("BadHeader");
    expect(reasonOf(() => encodeMessage(m, { msgId: -1 }))).toBe("OutOfRange");
    expect(reasonOf(() => encodeMessage({ kind: "DmaReadRequest", address: 1n << 64n, count: 0n }, { msgId: 1 }))).toBe(
      "OutOfRange",
    );
    expect(reasonOf(() => encodeMessage({ kind: "MigDataReadRequest", argsz: 2 ** 32, size: 0 }, { msgId: 1 }))).toBe(
      "OutOfRange",
    );
    expect(
      reasonOf(() =>
        encodeMessage(
          { kind: "RegionWriteMultiRequest", writes: [{ offset: 0n, region: 0, data: new Uint8Array(9) }] },
          { msgId: 1 },
        ),
      ),
    ).toBe("OutOfRange");
    // A value of the wrong shape from untyped JS: a tagged error, never a hang (a NaN size hint once looped forever).
    const notBytes = {} as Uint8Array;
    expect(
      reasonOf(() => encodeMessage({ kind: "RegionReadReply", offset: 0n, region: 0, data: notBytes }, { msgId: 1 })),
    ).toBe("OutOfRange");
    expect(deviceFeatureFlags(DeviceFeature.DMA_LOGGING_REPORT, DeviceFeatureFlags.GET)).toBe(0x10008);
  });

  it("every per-message encodeX/decodeX pair agrees with the vectors (payload level)", () => {
    const api = proto as unknown as Record<string, (x: unknown) => unknown>;
    let pairs = 0;
    for (const v of vectors) {
      const { kind } = v.message;
      if (kind === "ErrorReply" || kind === "Unknown") continue;
      const payload = v.bytes.subarray(16);
      expect(api[`decode${kind}`]?.(payload), v.name).toStrictEqual(v.message);
      expect(toHex(api[`encode${kind}`]?.(v.message) as Uint8Array), v.name).toBe(toHex(payload));
      pairs++;
    }
    expect(pairs).toBeGreaterThanOrEqual(34);
  });
});

describe("argsz convention and dirty bitmaps", () => {
  it("argsz retry", () => {
    expect(isTruncatedReply(32, 80)).toBe(true);
    expect(argszRetry(32, 80)).toBe(80);
    expect(argszRetry(80, 80)).toBeUndefined();
    expect(argszRetry(256, 16)).toBeUndefined();
  });

  it("bitmap helpers: u64 words, bit n = byte n>>3 bit n&7", () => {
    expect(dirtyBitmapSize(0x4000n, 0x1000n)).toBe(8);
    expect(dirtyBitmapSize(65n * 0x1000n, 0x1000n)).toBe(16);
    expect(dirtyBitmapSize(0n, 0x1000n)).toBe(0);
    expect(reasonOf(() => dirtyBitmapSize(1n, 3000n))).toBe("OutOfRange");
    const bm = new Uint8Array(16);
    markPageDirty(bm, 0);
    markPageDirty(bm, 3);
    markPageDirty(bm, 64);
    expect(toHex(bm)).toBe("09000000000000000100000000000000");
    expect([0, 1, 3, 64, 200].map((p) => isPageDirty(bm, p))).toEqual([true, false, true, true, false]);
    expect(reasonOf(() => markPageDirty(bm, 128))).toBe("OutOfRange");
  });
});
