import {
  DeviceFeature,
  DeviceFeatureFlags,
  deviceFeatureFlags,
  type Message,
  MigrationFlags,
  MigrationState,
} from "@emu/vfio-user-proto";
import { createServer, Errno, type ServerOptions } from "@emu/vfio-user-server";
import { describe, expect, it } from "vitest";
import { newLog, nic } from "./fixtures/devices.js";
import { Client, socketPath, track, u32 } from "./fixtures/harness.js";

const { GET, SET, PROBE } = DeviceFeatureFlags;
const { ERROR, STOP, RUNNING, STOP_COPY, RESUMING, PRE_COPY } = MigrationState;

async function setup(withMigration = true, options: Pick<ServerOptions, "migDataReadReply"> = {}) {
  const path = socketPath();
  const log = newLog();
  const make = nic(log);
  track(
    await createServer({
      ...options,
      socketPath: path,
      onError: () => {},
      device: (ctx) => {
        const m = make(ctx);
        if (withMigration) return m;
        const { migration: _drop, ...rest } = m;
        return rest;
      },
    }),
  );
  const client = await Client.spawn();
  await client.connect(path);
  return { client, log };
}

function feature(
  f: number,
  op: number,
  data: Extract<Message, { kind: "DeviceFeatureRequest" }>["data"] = { type: "None" },
  argsz = 64,
): Message {
  return { kind: "DeviceFeatureRequest", argsz, flags: deviceFeatureFlags(f, op), data };
}

const setState = (client: Client, s: number) =>
  client.call(feature(DeviceFeature.MIG_DEVICE_STATE, SET, { type: "MigDeviceState", deviceState: s, dataFd: -1 }, 16));

async function getState(client: Client): Promise<number> {
  const r = await client.ok(feature(DeviceFeature.MIG_DEVICE_STATE, GET), "DeviceFeatureReply");
  return (r.data as { deviceState: number }).deviceState;
}

async function readAll(client: Client, chunk: number): Promise<{ data: Uint8Array; sizes: number[] }> {
  const parts: Uint8Array[] = [];
  const sizes: number[] = [];
  for (;;) {
    const r = await client.ok({ kind: "MigDataReadRequest", argsz: 8 + chunk, size: chunk }, "MigDataReadReply");
    expect(r.argsz).toBe(8 + r.data.length);
    sizes.push(r.data.length);
    parts.push(r.data);
    if (r.data.length < chunk) break;
  }
  return { data: new Uint8Array(Buffer.concat(parts)), sizes };
}

describe("DEVICE_FEATURE", () => {
  it("probes, and GETs the migration flags and state", async () => {
    const { client } = await setup();
    for (const f of [1, 2, 6, 7, 8]) {
      const r = await client.ok(feature(f, PROBE, { type: "None" }, 8), "DeviceFeatureReply");
      expect(r).toMatchObject({ argsz: 8, flags: deviceFeatureFlags(f, PROBE) });
    }
    // PROBE with GET and SET: both are supported, so the head comes back echoed (libvfio-user does the same).
    expect(await client.ok(feature(2, PROBE | GET | SET, { type: "None" }, 8), "DeviceFeatureReply")).toMatchObject({
      argsz: 8,
      flags: deviceFeatureFlags(2, PROBE | GET | SET),
    });
    expect(await client.errno(feature(3, PROBE, { type: "None" }, 8))).toBe(Errno.ENOTTY);
    expect(await client.errno(feature(1, PROBE | SET, { type: "None" }, 8))).toBe(Errno.EINVAL);
    expect(await client.errno(feature(2, GET | SET, { type: "None" }, 8))).toBe(Errno.EINVAL);
    const m = await client.ok(feature(DeviceFeature.MIGRATION, GET, { type: "None" }, 16), "DeviceFeatureReply");
    expect(m).toMatchObject({
      argsz: 16,
      data: { type: "Migration", flags: MigrationFlags.STOP_COPY | MigrationFlags.PRE_COPY },
    });
    // argsz too small for the data: the head alone, with the argsz needed.
    const short = await client.ok(feature(DeviceFeature.MIGRATION, GET, { type: "None" }, 8), "DeviceFeatureReply");
    expect(short).toMatchObject({ argsz: 16, data: { type: "None" } });
    expect(await getState(client)).toBe(RUNNING);
  });

  it("a device without migration has no migration features (ENOTTY) and no migration data (EOPNOTSUPP)", async () => {
    const { client } = await setup(false);
    expect(await client.errno(feature(DeviceFeature.MIGRATION, GET))).toBe(Errno.ENOTTY);
    expect(await client.errno(feature(DeviceFeature.MIG_DEVICE_STATE, PROBE))).toBe(Errno.ENOTTY);
    expect(await client.errno({ kind: "MigDataReadRequest", argsz: 72, size: 64 })).toBe(Errno.EOPNOTSUPP);
    // DMA logging is the server's own and stays available.
    expect((await client.call(feature(DeviceFeature.DMA_LOGGING_START, PROBE))).message?.kind).toBe(
      "DeviceFeatureReply",
    );
  });
});

describe("migration v2 state machine and data", () => {
  it("saves in STOP_COPY, restores through RESUMING, walking multi-arc requests arc by arc", async () => {
    const { client, log } = await setup();
    const state = new Uint8Array(256);
    for (let i = 0; i < 256; i++) state[i] = (i * 3) & 0xff;
    await client.ok({ kind: "RegionWriteRequest", offset: 0n, region: 0, data: state }, "RegionWriteReply");

    expect(await client.errno({ kind: "MigDataReadRequest", argsz: 72, size: 64 })).toBe(Errno.EINVAL); // RUNNING
    const r = await setState(client, STOP_COPY); // RUNNING -> STOP -> STOP_COPY
    expect(r.message).toMatchObject({ kind: "DeviceFeatureReply", data: { deviceState: STOP_COPY, dataFd: -1 } });
    expect(log.transitions).toEqual([
      [RUNNING, STOP],
      [STOP, STOP_COPY],
    ]);
    const saved = await readAll(client, 200);
    expect(saved.sizes).toEqual([200, 56]);
    expect(saved.data).toEqual(state);

    expect((await setState(client, PRE_COPY)).message).toMatchObject({ kind: "ErrorReply", errno: Errno.EINVAL });
    expect((await setState(client, ERROR)).message).toMatchObject({ kind: "ErrorReply", errno: Errno.EINVAL });
    expect(await getState(client)).toBe(STOP_COPY);

    await client.ok({ kind: "DeviceResetRequest" }, "DeviceResetReply"); // clears the register file
    expect(await getState(client)).toBe(RUNNING);
    log.transitions.length = 0;
    expect((await setState(client, RESUMING)).message?.kind).toBe("DeviceFeatureReply");
    expect(log.transitions).toEqual([
      [RUNNING, STOP],
      [STOP, RESUMING],
    ]);
    expect(await client.errno({ kind: "MigDataReadRequest", argsz: 72, size: 64 })).toBe(Errno.EINVAL);
    for (let off = 0; off < 256; off += 100) {
      const chunk = saved.data.subarray(off, Math.min(256, off + 100));
      const w = await client.call({ kind: "MigDataWriteRequest", argsz: 8 + chunk.length, data: chunk });
      expect(w.size).toBe(16); // no reply payload (spec)
    }
    expect((await setState(client, RUNNING)).message?.kind).toBe("DeviceFeatureReply"); // RESUMING -> STOP -> RUNNING
    const back = await client.ok({ kind: "RegionReadRequest", offset: 0n, region: 0, count: 256 }, "RegionReadReply");
    expect(back.data).toEqual(state);
  });

  it("PRE_COPY: data while running, then STOP_COPY; a failed arc leaves the state where it was", async () => {
    const { client, log } = await setup();
    expect((await setState(client, PRE_COPY)).message?.kind).toBe("DeviceFeatureReply");
    const pre = await readAll(client, 1024);
    expect(pre.sizes).toEqual([256]);
    expect((await setState(client, STOP_COPY)).message?.kind).toBe("DeviceFeatureReply");
    expect(log.transitions.at(-1)).toEqual([PRE_COPY, STOP_COPY]);
    expect((await setState(client, RESUMING)).message?.kind).toBe("DeviceFeatureReply");
    await client.ok({ kind: "MigDataWriteRequest", argsz: 18, data: new Uint8Array(10) }, "MigDataWriteReply");
    // The device rejects a 10-byte stream on RESUMING -> STOP: EIO, state unchanged.
    expect((await setState(client, STOP)).message).toMatchObject({ kind: "ErrorReply", errno: Errno.EIO });
    expect(await getState(client)).toBe(RESUMING);
  });
});

describe("migration state legality is the server's (as libvfio-user's next_state table)", () => {
  it("refuses illegal requests with EINVAL before any transition callback runs", async () => {
    const { client, log } = await setup();
    const RUNNING_P2P = 5;
    const PRE_COPY_P2P = 7;
    const refusedFrom = async (from: number, targets: number[]) => {
      log.transitions.length = 0;
      for (const to of targets) {
        expect((await setState(client, to)).message, `${from} -> ${to}`).toMatchObject({
          kind: "ErrorReply",
          errno: Errno.EINVAL,
        });
      }
      expect(log.transitions).toEqual([]);
      expect(await getState(client)).toBe(from);
    };
    await refusedFrom(RUNNING, [ERROR, RUNNING_P2P, PRE_COPY_P2P, 8, 0xabcd]);
    await setState(client, STOP_COPY);
    await refusedFrom(STOP_COPY, [PRE_COPY, ERROR, RUNNING_P2P]);
    // Migration data outside its states never reaches the device's read/write.
    const reads = log.transitions.length;
    await setState(client, STOP);
    expect(await client.errno({ kind: "MigDataReadRequest", argsz: 72, size: 64 })).toBe(Errno.EINVAL);
    expect(await client.errno({ kind: "MigDataWriteRequest", argsz: 12, data: new Uint8Array(4) })).toBe(Errno.EINVAL);
    expect(log.migrationIn).toEqual([]);
    expect(log.transitions.length).toBe(reads + 1); // STOP_COPY -> STOP only
  });

  it("refuses PRE_COPY on a device without preCopy, before its transition callback", async () => {
    const path = socketPath();
    const transitions: [number, number][] = [];
    const make = nic(newLog());
    track(
      await createServer({
        socketPath: path,
        onError: () => {},
        device: (ctx) => {
          const m = make(ctx);
          const mig = m.migration!;
          return {
            ...m,
            migration: {
              read: (max) => mig.read(max),
              write: (d) => mig.write(d),
              transition: (from, to) => {
                transitions.push([from, to]);
              },
            },
          };
        },
      }),
    );
    const client = await Client.spawn();
    await client.connect(path);
    expect((await setState(client, PRE_COPY)).message).toMatchObject({ kind: "ErrorReply", errno: Errno.EINVAL });
    expect(transitions).toEqual([]);
    expect((await setState(client, STOP_COPY)).message?.kind).toBe("DeviceFeatureReply");
    expect(transitions).toEqual([
      [RUNNING, STOP],
      [STOP, STOP_COPY],
    ]);
  });
});

describe("MIG_DATA_READ reply length", () => {
  // libvfio-user's client receives a MIG_DATA_READ reply into a buffer of 16 + 8 + the size it asked for and takes a
  // shorter reply for a broken connection (ECONNRESET on the last, short chunk of STOP_COPY).
  it("is 16 + 8 + the requested size, zero-padded, the real count in size and argsz (libvfio-user's)", async () => {
    const { client } = await setup();
    await setState(client, STOP_COPY);
    const frames: { size: number; data: number; argsz: number; bytes: Uint8Array }[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await client.call({ kind: "MigDataReadRequest", argsz: 8 + 200, size: 200 });
      const m = r.message as Extract<Message, { kind: "MigDataReadReply" }>;
      frames.push({ size: r.size, data: m.data.length, argsz: m.argsz, bytes: r.bytes });
    }
    expect(frames.map((f) => [f.size, f.data, f.argsz])).toEqual([
      [224, 200, 208],
      [224, 56, 64],
      [224, 0, 8],
    ]);
    expect(u32(frames[1]!.bytes, 20)).toBe(56); // size
    expect(frames[1]!.bytes.subarray(24 + 56).every((b) => b === 0)).toBe(true);
    // The padding never exceeds the client's buffer: argsz 8 + 100 for a size of 200 gets 16 + 8 + 100.
    const small = await client.call({ kind: "MigDataReadRequest", argsz: 8 + 100, size: 200 });
    expect(small.size).toBe(124);
  });

  it('is 16 + 8 + the bytes returned with migDataReadReply: "exact"', async () => {
    const { client } = await setup(true, { migDataReadReply: "exact" });
    await setState(client, STOP_COPY);
    const { sizes } = await readAll(client, 200);
    expect(sizes).toEqual([200, 56]);
    const r = await client.call({ kind: "MigDataReadRequest", argsz: 8 + 200, size: 200 });
    expect(r.size).toBe(24);
  });
});
