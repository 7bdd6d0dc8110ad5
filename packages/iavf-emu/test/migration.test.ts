// Migration v2 of emu_iavf between two device processes: the guest's whole configuration (virtchnl state, queues,
// IRQ map, filters, RSS, stats, admin-queue positions, doorbells, interrupt controls) carried by the stream so that
// the same guest driver carries on at the destination without a reset; and streams that are not ours, of another
// version, truncated or corrupted refused with EINVAL while the source keeps running.
import { qrxTail, qtxTail, Reg, vfintDynCtln1 } from "@emu/iavf-common";
import { decodeDeviceState, encodeDeviceState, isMigrationFormatError, MIGRATION_FORMAT_VERSION } from "@emu/iavf-emu";
import { afterThisTest } from "@emu/test-kit";
import { VfioUserClient } from "@emu/vfio-user-client";
import { MigrationFlags, MigrationState } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { bringUp, VSI } from "./fixtures/bring-up.js";
import { type DeviceProcess, openDriver, serveIavf } from "./fixtures/harness.js";
import type { RawDriver } from "./fixtures/raw-driver.js";

const DEVARGS = ",queues=2,mac=02:00:00:00:00:01";

/** A guest that configured more than the bring-up: promisc, a VLAN, RSS, stats, tails and an armed vector. */
async function configuredGuest(): Promise<{ src: DeviceProcess; drv: RawDriver }> {
  const src = await serveIavf(DEVARGS);
  const drv = await openDriver(src.sock);
  await bringUp(drv, 2);
  await drv.call({ kind: "AddEthAddr", vsiId: VSI, addresses: [{ mac: "02:00:00:00:00:42", type: 2 }] });
  await drv.call({ kind: "ConfigPromiscuousMode", vsiId: VSI, flags: 2 });
  await drv.call({ kind: "ConfigRssKey", vsiId: VSI, bytes: Uint8Array.from({ length: 52 }, (_, i) => i * 3) });
  await src.ask("addStats", { rxBytes: 1234, rxUnicast: 7, txBytes: 99 });
  await drv.w32(qtxTail(1), 17);
  await drv.w32(qrxTail(0), 300);
  await drv.w32(vfintDynCtln1(0), 1 | (1 << 3)); // vector 1: INTENA, ITR index 1
  return { src, drv };
}

async function saveFrom(client: VfioUserClient): Promise<Uint8Array> {
  await client.setMigrationState(MigrationState.STOP_COPY);
  return client.readAllMigrationData();
}

async function connect(sock: string): Promise<VfioUserClient> {
  const c = await VfioUserClient.connect(sock);
  afterThisTest(() => c.close());
  return c;
}

describe("emu_iavf migration", () => {
  it("offers STOP_COPY and PRE_COPY", async () => {
    const src = await serveIavf(DEVARGS);
    const c = await connect(src.sock);
    const flags = await c.getMigrationFlags();
    expect(flags & MigrationFlags.STOP_COPY).toBe(MigrationFlags.STOP_COPY);
    expect(flags & MigrationFlags.PRE_COPY).toBe(MigrationFlags.PRE_COPY);
    await c.setMigrationState(MigrationState.PRE_COPY);
    expect((await c.readMigrationData()).length).toBe(0); // nothing before the device stops
  });

  it("the guest carries on at the destination: same configuration, counters, doorbells, and its mailbox", async () => {
    const { src, drv } = await configuredGuest();
    const before = await src.ask<Record<string, unknown>>("nic");
    const queues = await src.ask("queues");
    const stream = await saveFrom(drv.client);
    expect(stream.length).toBeGreaterThan(16);
    expect(stream.length).toBeLessThan(4096);

    const dst = await serveIavf(DEVARGS);
    const client = await connect(dst.sock);
    const moved = await drv.moveTo(client);
    await client.setMigrationState(MigrationState.RESUMING);
    for (let at = 0; at < stream.length; at += 100) await client.writeMigrationData(stream.subarray(at, at + 100));
    await client.setMigrationState(MigrationState.RUNNING);

    expect(await dst.ask("nic")).toEqual(before);
    expect(await dst.ask("queues")).toEqual(queues);
    expect(await dst.ask("ready")).toBe(true);
    expect(await dst.ask("doorbell", 3)).toEqual([17, 0, 0, 0]);
    expect(await dst.ask("armed", 1)).toBe(true);
    expect(await dst.ask("itr", 1, 1)).toBe(0);
    expect((await moved.r32(Reg.VFGEN_RSTAT)) & 3).toBe(2); // VFACTIVE: no reset seen
    // The mailbox continues where it was: the next request is served and answered in the next ARQ slot.
    const stats = await moved.call({ kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 });
    expect(stats).toMatchObject({ kind: "GetStatsReply", stats: { rxBytes: 1234n, rxUnicast: 7n, txBytes: 99n } });
    expect(await dst.ask("errors")).toEqual([]);
    await moved.close();
  });

  it("a stream of another version, corrupted, truncated or of another device shape is refused; the source runs on", async () => {
    const { drv } = await configuredGuest();
    const good = await saveFrom(drv.client);
    const dst = await serveIavf(DEVARGS);
    const client = await connect(dst.sock);
    const refusals: [string, Uint8Array][] = [];
    const old = good.slice();
    new DataView(old.buffer).setUint16(4, MIGRATION_FORMAT_VERSION + 1, true);
    refusals.push(["format 2 is not supported", old]);
    const flipped = good.slice();
    flipped[40] = (flipped[40] ?? 0) ^ 0x55;
    refusals.push(["checksum mismatch", flipped]);
    refusals.push(["truncated", good.slice(0, good.length - 9)]);
    refusals.push(["not an emu_iavf device state", Uint8Array.from(good, (b, i) => (i < 4 ? 0 : b))]);
    for (const [why, stream] of refusals) {
      await client.setMigrationState(MigrationState.RESUMING);
      const refused = async () => {
        await client.writeMigrationData(stream);
        await client.setMigrationState(MigrationState.STOP);
      };
      await expect(refused(), why).rejects.toThrow(/EINVAL|errno 22|Invalid/i);
      expect((await dst.ask<string[]>("errors")).at(-1)).toContain(why);
      await client.setMigrationState(MigrationState.STOP).catch(() => undefined);
      if ((await client.getMigrationState()) === MigrationState.RESUMING) {
        // A refused RESUMING → STOP leaves the device in RESUMING: reopen the stream (STOP again is refused too).
        await client.setMigrationState(MigrationState.RESUMING);
      }
    }
    const other = await serveIavf(",queues=1,mac=02:00:00:00:00:01");
    const c1 = await connect(other.sock);
    await c1.setMigrationState(MigrationState.RESUMING);
    await c1.writeMigrationData(good);
    await expect(c1.setMigrationState(MigrationState.STOP)).rejects.toThrow();
    expect((await other.ask<string[]>("errors")).at(-1)).toContain("2 queue pairs, this device has 1");

    // The source goes back to running and its guest carries on.
    await drv.client.setMigrationState(MigrationState.RUNNING);
    expect(await drv.call({ kind: "GetStatsRequest", vsiId: VSI, rxQueues: 0, txQueues: 0 })).toMatchObject({
      kind: "GetStatsReply",
    });
  });
});

describe("the device state format", () => {
  it("round-trips and refuses a field out of range with where it is", async () => {
    const { drv } = await configuredGuest();
    const stream = await saveFrom(drv.client);
    const s = decodeDeviceState(stream);
    expect(encodeDeviceState(s)).toEqual(stream);
    expect(s.queuePairs).toBe(2);
    expect(s.queues.map((q) => q.enabled)).toEqual([true, true, true, true]);
    const bad = encodeDeviceState({ ...s, queues: s.queues.map((q, i) => (i === 1 ? { ...q, irqVector: 40 } : q)) });
    let e: unknown;
    try {
      decodeDeviceState(bad);
    } catch (x) {
      e = x;
    }
    expect(isMigrationFormatError(e)).toBe(true);
    expect((e as Error).message).toBe("device state: queue 1 vector 40 is outside -1..16");
    expect(() => decodeDeviceState(stream.subarray(0, 10))).toThrow("the header alone is 16");
    expect(() => decodeDeviceState(Uint8Array.of(...stream, 0))).toThrow("1 bytes beyond its announced length");
  });
});
