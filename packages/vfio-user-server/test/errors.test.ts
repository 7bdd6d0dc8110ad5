import { Command, encodeHeader, encodeMessage, HeaderFlags } from "@emu/vfio-user-proto";
import {
  createServer,
  DEVICE_ERRNO,
  type DeviceContext,
  DeviceError,
  Errno,
  isDeviceError,
  isVfioUserServerError,
} from "@emu/vfio-user-server";
import { describe, expect, it } from "vitest";
import { newLog, nic } from "./fixtures/devices.js";
import { Client, type Reply, socketPath, track } from "./fixtures/harness.js";

async function setup() {
  const path = socketPath();
  const errors: unknown[] = [];
  const server = track(await createServer({ socketPath: path, device: nic(newLog()), onError: (e) => errors.push(e) }));
  const client = await Client.spawn();
  await client.connect(path);
  return { path, client, server, errors };
}

/** A frame: header with `cmd`, `msgId`, flags 0, and `payload`. */
function frame(cmd: number, msgId: number, payload: Uint8Array, flags = 0): Uint8Array {
  const h = encodeHeader({ msgId, command: cmd, msgSize: 16 + payload.length, flags, error: 0 });
  const out = new Uint8Array(16 + payload.length);
  out.set(h);
  out.set(payload, 16);
  return out;
}

function errnoOf(r: Reply): number | undefined {
  return r.message?.kind === "ErrorReply" ? r.message.errno : undefined;
}

describe("error replies (header only, errno from the one table)", () => {
  it("bad region, bad offset/size, count above max_data_xfer_size", async () => {
    const { client } = await setup();
    const read = (region: number, offset: bigint, count: number) =>
      client.errno({ kind: "RegionReadRequest", offset, region, count });
    expect(await read(0xdeadbeef, 0n, 4)).toBe(Errno.EINVAL);
    expect(await read(1, 0n, 4)).toBe(Errno.EINVAL); // BAR1 not implemented
    expect(await read(0, 0xfffen, 4)).toBe(Errno.EINVAL); // runs past the end
    expect(await read(0, 1n << 62n, 4)).toBe(Errno.EINVAL);
    expect(await read(7, 4096n, 1)).toBe(Errno.EINVAL);
    expect(await read(0, 0n, 2 * 1048576)).toBe(Errno.EINVAL);
    const r = await client.call({ kind: "RegionReadRequest", offset: 0n, region: 0xdeadbeef, count: 4 });
    expect(r.size).toBe(16);
    expect(r.header.flags).toBe(HeaderFlags.TYPE_REPLY | HeaderFlags.ERROR);
  });

  it("wrong argsz, empty payloads, data shorter than count", async () => {
    const { client } = await setup();
    const argsz8 = new Uint8Array(8);
    argsz8[0] = 8;
    expect(errnoOf(await client.op("raw", { bytes: frame(Command.DEVICE_GET_INFO, 0x51, argsz8), msgId: 0x51 }))).toBe(
      22,
    );
    expect(
      errnoOf(await client.op("raw", { bytes: frame(Command.DEVICE_GET_INFO, 0x52, new Uint8Array(0)), msgId: 0x52 })),
    ).toBe(22);
    const regionInfo16 = new Uint8Array(32);
    regionInfo16[0] = 16;
    expect(
      errnoOf(
        await client.op("raw", { bytes: frame(Command.DEVICE_GET_REGION_INFO, 0x53, regionInfo16), msgId: 0x53 }),
      ),
    ).toBe(22);
    // REGION_WRITE count 4 with 1 data byte
    const w = new Uint8Array(17);
    w[8] = 0; // region 0
    w[12] = 4; // count
    expect(errnoOf(await client.op("raw", { bytes: frame(Command.REGION_WRITE, 0x54, w), msgId: 0x54 }))).toBe(22);
  });

  it("unknown commands get ENOSYS; server-to-client commands and unnegotiated ones EOPNOTSUPP", async () => {
    const { client } = await setup();
    for (const [cmd, id] of [
      [0, 0x60],
      [14, 0x61],
      [19, 0x62],
      [99, 0x63],
    ] as const) {
      expect(errnoOf(await client.op("raw", { bytes: frame(cmd, id, new Uint8Array(8)), msgId: id }))).toBe(
        Errno.ENOSYS,
      );
    }
    expect(await client.errno({ kind: "DmaReadRequest", address: 0n, count: 4n })).toBe(Errno.EOPNOTSUPP);
    expect(
      await client.errno({
        kind: "RegionWriteMultiRequest",
        writes: [{ offset: 0n, region: 0, data: new Uint8Array(4) }],
      }),
    ).toBe(Errno.EOPNOTSUPP);
  });

  it("a failing NO_REPLY command is dropped silently; the next command is answered", async () => {
    const { client } = await setup();
    const r = await client.call(
      { kind: "RegionReadRequest", offset: 0n, region: 99, count: 4 },
      { flags: HeaderFlags.NO_REPLY },
    );
    expect(r.noReply).toBe(true);
    expect((await client.call({ kind: "DeviceGetInfoRequest", argsz: 16 })).message?.kind).toBe("DeviceGetInfoReply");
  });

  it("fds on a command that takes none are closed and refused", async () => {
    const { client } = await setup();
    await client.op("eventfd", { name: "stray" });
    expect(await client.errno({ kind: "DeviceGetInfoRequest", argsz: 16 }, { fds: ["stray"] })).toBe(22);
  });

  it("commands before VERSION are refused", async () => {
    const path = socketPath();
    track(await createServer({ socketPath: path, device: nic(newLog()) }));
    const client = await Client.spawn();
    await client.op("connectRaw", { path });
    const get = encodeMessage({ kind: "DeviceGetInfoRequest", argsz: 16 }, { msgId: 7 });
    expect(errnoOf(await client.op("raw", { bytes: get, msgId: 7 }))).toBe(22);
  });

  it("an oversized message gets EMSGSIZE and the connection stays usable", async () => {
    const { client } = await setup();
    const big = 2 * 1048576;
    const r = await client.call({ kind: "RegionWriteRequest", offset: 0n, region: 0, data: new Uint8Array(big) });
    expect(errnoOf(r)).toBe(Errno.EMSGSIZE);
    expect((await client.call({ kind: "DeviceGetInfoRequest", argsz: 16 })).message?.kind).toBe("DeviceGetInfoReply");
  });
});

describe("a device that reaches outside the DMA table", () => {
  it("fails that request with EFAULT, never crashes, and keeps serving", async () => {
    const path = socketPath();
    let ctx!: DeviceContext;
    track(
      await createServer({
        socketPath: path,
        onError: () => {},
        device: (c) => {
          ctx = c;
          return {
            pci: { vendorId: 1, deviceId: 2, classCode: 0, bars: [{ index: 0, kind: "memory32", size: 4096 }] },
            regions: { 0: { write: async () => void (await ctx.dma.read(0xdead0000n, 64)) } },
          };
        },
      }),
    );
    const client = await Client.spawn();
    await client.connect(path);
    expect(await client.errno({ kind: "RegionWriteRequest", offset: 0n, region: 0, data: new Uint8Array(4) })).toBe(
      Errno.EFAULT,
    );
    expect((await client.call({ kind: "DeviceGetInfoRequest", argsz: 16 })).message?.kind).toBe("DeviceGetInfoReply");
  });
});

describe("framing errors end the connection; the server serves the next client", () => {
  it("msg_size below 16", async () => {
    const { path, client, errors } = await setup();
    const bad = encodeHeader({ msgId: 1, command: Command.DEVICE_GET_INFO, msgSize: 16, flags: 0, error: 0 });
    new DataView(bad.buffer).setUint32(4, 8, true);
    await client.op("raw", { bytes: bad });
    expect(await client.op("waitClosed", {})).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    const next = await Client.spawn();
    expect((await next.connect(path)).message?.kind).toBe("VersionReply");
    expect((await next.call({ kind: "DeviceGetInfoRequest", argsz: 16 })).message?.kind).toBe("DeviceGetInfoReply");
  });

  it("a header claiming more than the hard limit (16 MiB)", async () => {
    const { path, client } = await setup();
    const bad = encodeHeader({ msgId: 1, command: Command.REGION_WRITE, msgSize: 64 * 1048576, flags: 0, error: 0 });
    await client.op("raw", { bytes: bad });
    expect(await client.op("waitClosed", {})).toBe(true);
    const next = await Client.spawn();
    expect((await next.connect(path)).message?.kind).toBe("VersionReply");
  });

  it("a second client while one is connected is turned away; it can connect after the first leaves", async () => {
    const { path, client, server } = await setup();
    const second = await Client.spawn();
    const r = await second.connect(path);
    expect(r.message).toMatchObject({ kind: "ErrorReply", errno: 16 }); // EBUSY, then closed (security.test.ts)
    await client.op("disconnect");
    await server.disconnected();
    const third = await Client.spawn();
    expect((await third.connect(path)).message?.kind).toBe("VersionReply");
  });
});

describe("a device fails an access by name", () => {
  // libvfio-user's sample server: BAR0 is an 8-byte time register that refuses any access but a 4-byte one (EINVAL).
  const sampleBar0 = (bars: { index: 0; kind: "io" | "memory32"; size: number }[]) => ({
    pci: { vendorId: 0xdead, deviceId: 0xbeef, classCode: 0, bars },
    regions: {
      0: {
        read: (_off: number, n: number) => {
          if (n !== 4) throw new DeviceError("InvalidArgument", `BAR0 access of ${n} bytes`);
          return new Uint8Array(4);
        },
        write: (_off: number, d: Uint8Array) => {
          if (d.length !== 4) throw new DeviceError(Errno.EINVAL, `BAR0 access of ${d.length} bytes`);
        },
      },
    },
  });

  it('DeviceError("InvalidArgument") is EINVAL on the wire, as DeviceError(Errno.EINVAL) is', async () => {
    const path = socketPath();
    track(await createServer({ socketPath: path, device: sampleBar0([{ index: 0, kind: "io", size: 8 }]) }));
    const client = await Client.spawn();
    await client.connect(path);
    expect(await client.errno({ kind: "RegionReadRequest", offset: 0n, region: 0, count: 2 })).toBe(Errno.EINVAL);
    expect(await client.errno({ kind: "RegionWriteRequest", offset: 0n, region: 0, data: new Uint8Array(1) })).toBe(
      Errno.EINVAL,
    );
    await client.ok({ kind: "RegionReadRequest", offset: 4n, region: 0, count: 4 }, "RegionReadReply");
    const e = new DeviceError("InvalidArgument", "x");
    expect([e.reason, e.errno, isDeviceError(e)]).toEqual(["InvalidArgument", Errno.EINVAL, true]);
    expect([new DeviceError(Errno.EINVAL, "x").reason, new DeviceError(Errno.ENOSPC, "x").reason]).toEqual([
      "InvalidArgument",
      "Other",
    ]);
    expect(DEVICE_ERRNO).toEqual({ InvalidArgument: 22, NotSupported: 95, Busy: 16, BadAddress: 14, IoError: 5 });
  });

  it("an 8-byte memory BAR is refused with a message that says memory BARs are at least 16 bytes and names io", async () => {
    const path = socketPath();
    const e = await createServer({ socketPath: path, device: sampleBar0([{ index: 0, kind: "memory32", size: 8 }]) })
      .then(() => undefined)
      .catch((err: unknown) => err);
    expect(isVfioUserServerError(e) && e.reason).toBe("InvalidDevice");
    expect((e as Error).message).toMatch(/BAR0: a memory BAR is at least 16 bytes, got 8/);
    expect((e as Error).message).toMatch(/kind "io"/);
  });
});
