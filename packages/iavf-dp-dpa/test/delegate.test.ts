// The provider "dpa" over a real vfio-user connection: the front emu_iavf0 and the delegate emu_iavf1 (with the
// software data path attached) served on sockets, the guest (the iavf-client driver) on the front. The delegate gets
// the guest's memory (same files, same IOVAs), its rings, its filters and RSS; a guest reset is followed; a delegate
// that goes away is reported and the front keeps serving its control plane; a migration of the front is refused where
// it starts and the front keeps serving; misuse is refused with a clear error.
import { join } from "node:path";
import { IavfDriver } from "@emu/iavf-client";
import { attachDelegate, delegateOf, IAVF_DPA, openDelegateDevice } from "@emu/iavf-dp-dpa";
import { iavfDpSw } from "@emu/iavf-dp-sw";
import { iavf, rxQueueId, txQueueId } from "@emu/iavf-emu";
import { afterThisTest, until } from "@emu/test-kit";
import { VfioUserClient } from "@emu/vfio-user-client";
import { MigrationState } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { devices } from "./fixtures/devices.js";

/** `devices` with the front bound to the delegate; the registry's errors collected. */
async function setup(queues = 2) {
  const errors: string[] = [];
  const { dir, emudev, del, front } = await devices({ queues, macs: true, onError: (e) => errors.push(String(e)) });
  const reports: unknown[] = [];
  const d = await attachDelegate(front, await VfioUserClient.connect(join(dir, "emu_iavf1.sock")), emudev, (e) =>
    reports.push(e),
  );
  afterThisTest(() => d.close());
  return { dir, emudev, del, front, d, reports, errors };
}

/** Each queue's ring IOVA and enable, as text. */
const bases = (dev: { queue(id: number): { base: bigint; enabled: boolean } }, pairs: number): string =>
  Array.from({ length: pairs }, (_, q) => [rxQueueId(q), txQueueId(q)])
    .flat()
    .map((id) => `${dev.queue(id).base.toString(16)}:${dev.queue(id).enabled}`)
    .join(" ");

/** A tail register as the device sees it: the doorbell's 4 bytes. */
function tail(dev: { doorbell(id: number): { bytes: Uint8Array } }, id: number): number {
  const b = dev.doorbell(id).bytes;
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
}

describe("the dpa provider", () => {
  it("hands the guest's memory, rings, filters and RSS to the delegate; follows a guest reset", async () => {
    const { dir, del, front, d } = await setup();
    expect(front.provider).toBe(IAVF_DPA);
    expect(delegateOf(front)).toBe(d);
    const nic = await IavfDriver.attach(await VfioUserClient.connect(join(dir, "emu_iavf0.sock")), {
      queuePairs: 2,
      interrupts: false,
      statsIntervalMs: 0,
    });
    afterThisTest(() => nic.close());
    await until(() => bases(del, 2) === bases(front, 2), 5000, "the delegate's rings");
    expect(del.queue(rxQueueId(1)).enabled).toBe(true);
    expect(del.queue(rxQueueId(1)).base).toBe(nic.queuePairs[1]!.rx.iova);
    // The same files at the same IOVAs (the delegate also has its own admin queue, far above).
    const frontFiles = front.dma.files().map((f) => [f.iova, f.size]);
    const delFiles = del.dma.files().map((f) => [f.iova, f.size]);
    expect(delFiles).toEqual(expect.arrayContaining(frontFiles));
    const front0 = iavf(front);
    const del0 = iavf(del);
    await until(() => del0.filters().macs.some((m) => m.mac === nic.mac), 5000, "the guest's MAC on the delegate");
    const rssText = (n: typeof del0) => `${Buffer.from(n.rss().key).toString("hex")}/${n.rss().lut.join(",")}`;
    await until(() => rssText(del0) === rssText(front0), 5000, "the guest's RSS on the delegate");
    expect(front0.rss().key.some((b) => b !== 0)).toBe(true); // the guest's random key, not the zeros of a reset
    // The guest connected after the delegate was bound: it maps the delegate's doorbell page itself (direct).
    expect(d.counters().doorbells).toBe("direct");
    // Its tails are the delegate's: RX buffers posted, TX frames queued.
    expect(nic.io.txBurst(0, [new Uint8Array(60).fill(1), new Uint8Array(60).fill(2)])).toBe(2);
    const tails = (dev: typeof del) => [rxQueueId(0), txQueueId(0), rxQueueId(1)].map((id) => tail(dev, id)).join(",");
    await until(() => tails(del) === tails(front), 5000, "the delegate's tails");
    expect(tails(front)).toBe("511,2,511");
    const syncs = d.counters().syncs;
    await nic.reset();
    await until(
      () => d.counters().syncs > syncs && bases(del, 2) === bases(front, 2),
      5000,
      "the delegate after the guest's reset",
    );
    expect(del.queue(txQueueId(0)).enabled).toBe(true);
    // After the reset the rings start over: the TX tail is 0 again on both sides, the RX buffers posted again.
    await until(() => tails(del) === tails(front), 5000, "the delegate's tails after the reset");
    expect(tails(front)).toBe("511,0,511");
    expect(d.counters()).toMatchObject({ doorbells: "direct", doorbellCopies: 0 });
  });

  it("a guest connected before the delegate was bound keeps the front's page: its tails are relayed", async () => {
    const { dir, emudev, del, front } = await devices();
    const nic = await IavfDriver.attach(await VfioUserClient.connect(join(dir, "emu_iavf0.sock")), {
      interrupts: false,
      statsIntervalMs: 0,
    });
    afterThisTest(() => nic.close());
    const d = await attachDelegate(front, await VfioUserClient.connect(join(dir, "emu_iavf1.sock")), emudev);
    afterThisTest(() => d.close());
    // Attached under running queues: the guest is reset (RESET_IMPENDING) and sets its rings up again.
    await until(() => nic.state === "running" && del.queue(rxQueueId(0)).enabled, 5000, "the delegate configured");
    await until(() => tail(del, rxQueueId(0)) === tail(front, rxQueueId(0)), 5000, "the RX tail relayed");
    expect(tail(front, rxQueueId(0))).toBe(511);
    expect(nic.io.txBurst(0, [new Uint8Array(60)])).toBe(1);
    await until(() => tail(del, txQueueId(0)) === 1, 5000, "the TX tail relayed");
    expect(d.counters().doorbells).toBe("relayed");
    expect(d.counters().doorbellCopies).toBeGreaterThanOrEqual(2);
    expect(front.regions().find((r) => r.index === 0)?.offer).toBeUndefined();
  });

  it("the delegate going away is reported; the front's control plane runs on and the provider detaches cleanly", async () => {
    const { dir, del, front, reports } = await setup(1);
    const nic = await IavfDriver.attach(await VfioUserClient.connect(join(dir, "emu_iavf0.sock")), {
      interrupts: false,
      statsIntervalMs: 0,
    });
    afterThisTest(() => nic.close());
    await until(() => del.queue(rxQueueId(0)).enabled, 5000, "the delegate configured");
    await del.stop(); // the delegate's server goes: its client (the front's delegate driver) sees the socket close
    await until(() => reports.length > 0, 5000, "the report");
    expect(await nic.stats()).toMatchObject({ rxDiscards: expect.any(BigInt) });
    front.detach();
    await until(() => nic.link.up === false, 5000, "the link down");
    expect(front.provider).toBeUndefined();
    expect(nic.state).toBe("running");
  });

  it("a migration of the front is refused where it starts, with a clear message; the delegate keeps serving", async () => {
    const { dir, del, front, d, errors } = await setup(1);
    const client = await VfioUserClient.connect(join(dir, "emu_iavf0.sock"));
    const nic = await IavfDriver.attach(client, { interrupts: false, statsIntervalMs: 0 });
    afterThisTest(() => nic.close());
    await until(() => del.queue(txQueueId(0)).enabled, 5000, "the delegate configured");
    const EOPNOTSUPP = { errno: 95 };
    const why = /emu_iavf0 cannot be migrated while its data queues are delegated \(provider "dpa"\)/;
    // The source's first step (PRE_COPY: emu_iavf offers it), refused before anything changes: the device runs on.
    await expect(client.setMigrationState(MigrationState.PRE_COPY)).rejects.toMatchObject(EOPNOTSUPP);
    expect(await client.getMigrationState()).toBe(MigrationState.RUNNING);
    expect(errors.filter((e) => why.test(e))).toHaveLength(1);
    // Without pre-copy (RUNNING → STOP_COPY, walked through STOP) the request is refused as a whole: not even paused.
    await expect(client.setMigrationState(MigrationState.STOP_COPY)).rejects.toMatchObject(EOPNOTSUPP);
    expect(await client.getMigrationState()).toBe(MigrationState.RUNNING);
    // A pause is allowed; from it, the transfer and the destination's RESUMING are refused.
    await client.setMigrationState(MigrationState.STOP);
    await expect(client.setMigrationState(MigrationState.STOP_COPY)).rejects.toMatchObject(EOPNOTSUPP);
    await expect(client.setMigrationState(MigrationState.RESUMING)).rejects.toMatchObject(EOPNOTSUPP);
    expect(await client.getMigrationState()).toBe(MigrationState.STOP);
    await client.setMigrationState(MigrationState.RUNNING);
    expect(errors.filter((e) => why.test(e))).toHaveLength(4);
    // Still bound and serving: the guest's TX tail reaches the delegate's queue.
    expect(front.provider).toBe(IAVF_DPA);
    expect(delegateOf(front)).toBe(d);
    expect(nic.io.txBurst(0, [new Uint8Array(60).fill(3)])).toBe(1);
    await until(() => tail(del, txQueueId(0)) === 1, 5000, "the TX tail on the delegate");
    expect(del.queue(txQueueId(0)).enabled).toBe(true);
  });

  it("refuses what it cannot do, with clear errors", async () => {
    const { dir, front, errors } = await setup(1);
    await expect(openDelegateDevice(join(dir, "nothing.sock"))).rejects.toThrow(/nothing\.sock/);
    await expect(openDelegateDevice("not an address")).rejects.toThrow(/not a PCI address/);
    front.detach();
    front.attach(IAVF_DPA); // without attachDelegate: no delegate to bind
    expect(errors.join("\n")).toMatch(/attachDelegate/);
    front.detach();
    expect(front.provider).toBeUndefined();
  });

  it('a registry whose provider "dpa" is not ours: refused, nothing bound, the delegate let go', async () => {
    // e.g. another copy of this package's provider
    const { dir, emudev, del, front } = await devices({ providers: [{ ...iavfDpSw, name: IAVF_DPA }] });
    await expect(
      attachDelegate(front, await VfioUserClient.connect(join(dir, "emu_iavf1.sock")), emudev),
    ).rejects.toThrow(/emu_iavf0: the provider "dpa" registered in its registry is not @emu\/iavf-dp-dpa's iavfDpa/);
    expect(front.provider).toBeUndefined();
    expect(delegateOf(front)).toBeUndefined();
    await until(() => !del.connected, 5000, "the delegate's connection closed");
  });
});
