import {
  DeviceFeature,
  DeviceFeatureFlags,
  deviceFeatureFlags,
  type Message,
  MigrationFlags,
  MigrationState,
} from "@emu/vfio-user-proto";
import { createServer, Errno } from "@emu/vfio-user-server";
import { describe, expect, it } from "vitest";
import { newLog, nic } from "./fixtures/devices.js";
import { Client, socketPath, track } from "./fixtures/harness.js";

const { GET, SET, PROBE } = DeviceFeatureFlags;
const { ERROR, STOP, RUNNING, STOP_COPY, RESUMING, PRE_COPY } = MigrationState;

async function setup(withMigration = true) {
  const path = socketPath();
  const log = newLog();
  const make = nic(log);
  track(
    await createServer({
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
