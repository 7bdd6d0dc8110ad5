import { writeSync } from "node:fs";
import type { EmudevEvent } from "@emu/emudev";
import { until } from "@emu/test-kit";
import { MigrationState, PciIrq } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { REG } from "./fixtures/counter-driver.js";
import { connect, le32, recordingProvider, registry, started } from "./fixtures/harness.js";

function describeEvent(e: EmudevEvent): string {
  switch (e.kind) {
    case "queueState":
      return `queueState ${e.queue} ${e.enabled}`;
    case "reset":
      return `reset ${e.reason}`;
    case "dmaTable":
      return `dmaTable ${e.change} 0x${e.region.iova.toString(16)}`;
    case "attribute":
      return `attribute ${e.name}=${String(e.value)}`;
    case "connection":
      return `connection ${e.connected}`;
    default:
      return e.kind;
  }
}

async function setup() {
  const { emu, errors } = registry();
  const rec = recordingProvider();
  emu.registerProvider(rec.provider);
  const dev = await started(emu);
  const events: string[] = [];
  dev.on("*", (e) => events.push(describeEvent(e)));
  dev.attach("rec");
  const client = await connect(dev);
  return { emu, errors, rec, dev, client, events };
}

describe("a provider bound at attach, driven by a real client", () => {
  it("sees queue state, features, ready, reset and the guest's queue info", async () => {
    const { rec, dev, client, events } = await setup();
    const q1 = REG.queue(1);
    await client.regionWrite(0, BigInt(q1 + REG.BASE_LO), le32(0x2000));
    await client.regionWrite(0, BigInt(q1 + REG.BASE_HI), le32(0x1));
    await client.regionWrite(0, BigInt(q1 + REG.SIZE), le32(256));
    await client.regionWrite(0, BigInt(q1 + REG.CTRL), le32(0x101));
    expect(dev.queue(1)).toEqual({ id: 1, base: 0x1_0000_2000n, size: 256, doorbell: 1, irqVector: 1, enabled: true });
    await client.regionWrite(0, BigInt(REG.FEATURES), le32(0xff));
    expect(dev.features).toBe(0b101n);
    await client.regionWrite(0, BigInt(REG.STATUS), le32(1));
    expect(dev.ready).toBe(true);
    await client.regionWrite(0, BigInt(REG.LINK), le32(1));
    expect(dev.attribute("link")).toBe(true);
    await client.reset(); // DEVICE_RESET
    expect(dev.ready).toBe(false);
    expect(dev.queue(1).enabled).toBe(false);
    expect(rec.log).toEqual([
      "attached counter0",
      "queue counter0 1 on",
      "features 5",
      "configured counter0 q=1",
      "closed counter0",
      "queue counter0 1 off",
    ]);
    expect(events).toEqual([
      "connection true",
      "queueState 1 true",
      "ready",
      "attribute link=true",
      "notReady",
      "queueState 1 false",
      "reset client",
    ]);
    // The driver's own reset register.
    await client.regionWrite(0, BigInt(REG.STATUS), le32(1));
    await client.regionWrite(0, BigInt(REG.RESET), le32(1));
    expect(events.slice(-3)).toEqual(["ready", "notReady", "reset driver"]);
    expect(rec.seen.every((d) => d === dev)).toBe(true);
  });

  it("a provider attached to a configured device is told at once; the client going away closes it", async () => {
    const { rec, dev, client, events, emu } = await setup();
    dev.detach();
    await client.regionWrite(0, BigInt(REG.FEATURES), le32(1));
    await client.regionWrite(0, BigInt(REG.STATUS), le32(1));
    const late = recordingProvider("late");
    emu.registerProvider(late.provider);
    dev.attach("late");
    expect(late.log).toEqual(["attached counter0", "features 1", "configured counter0 q=0"]);
    await client.close();
    await until(() => !dev.connected, 5000, "the disconnect");
    expect(late.log.at(-1)).toBe("closed counter0");
    expect(events.slice(-2)).toEqual(["notReady", "connection false"]);
    expect(rec.log).toEqual(["attached counter0", "detached counter0"]);
  });

  it("DMA table changes after the client's DMA_MAP and DMA_UNMAP", async () => {
    const { dev, client, events } = await setup();
    const g0 = dev.dma.generation;
    await client.dmaMap(0x10000n, 0x4000n);
    await client.dmaMap(0x40000n, 0x1000n, { messageBased: true });
    expect(dev.dma.regions().map((r) => [r.iova, r.size, r.direct])).toEqual([
      [0x10000n, 0x4000n, true],
      [0x40000n, 0x1000n, false],
    ]);
    await client.dmaUnmap(0x10000n, 0x4000n);
    expect(dev.dma.regions().map((r) => r.iova)).toEqual([0x40000n]);
    expect(dev.dma.generation).toBe(g0 + 3);
    expect(events.filter((e) => e.startsWith("dmaTable"))).toEqual([
      "dmaTable map 0x10000",
      "dmaTable map 0x40000",
      "dmaTable unmap 0x10000",
    ]);
    await dev.stop();
    expect(dev.dma.regions()).toEqual([]);
  });

  it("interrupts reach the client's eventfds; doorbells written through the mmapped page are seen in place", async () => {
    const { dev, client } = await setup();
    const got: number[] = [];
    await client.enableIrqs(PciIrq.MSIX, 0, 2, (vector) => got.push(vector));
    expect(dev.irq(1).trigger()).toBe("delivered");
    await until(() => got.length > 0, 5000, "the interrupt");
    expect(got).toEqual([1]);
    const fd = dev.irq(0).eventfd();
    expect(fd).toBeTypeOf("number");
    writeSync(fd!, Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0)); // what a data-path thread does
    await until(() => got.length > 1, 5000, "the interrupt through the eventfd");
    expect(got).toEqual([1, 0]);

    const bar0 = await client.mapRegion(0);
    const page = bar0.areas.find((a) => a.offset === BigInt(REG.DOORBELL));
    expect(page).toBeDefined();
    new DataView(page!.bytes.buffer, page!.bytes.byteOffset).setUint32(4, 0x1234, true); // queue 1's doorbell
    const db = dev.doorbell(1);
    expect(new DataView(db.bytes.buffer, db.bytes.byteOffset).getUint32(0, true)).toBe(0x1234);
    await client.regionWrite(0, BigInt(REG.DOORBELL), le32(7)); // the slow path lands in the same memory
    expect(dev.doorbell(0).bytes).toEqual(le32(7));
    bar0.unmap();
  });

  it("watchIrqs: told the MSI-X vectors a client's SET_IRQS changed, and the client's reply waits for the watcher", async () => {
    const { dev, client } = await setup();
    const seen: number[][] = [];
    let release = (): void => undefined;
    const off = dev.watchIrqs(
      (vectors) =>
        new Promise<void>((r) => {
          seen.push([...vectors]);
          release = r;
        }),
    );
    let replied = false;
    const enabling = client
      .enableIrqs(PciIrq.MSIX, 0, 2, () => undefined)
      .then((b) => {
        replied = true;
        return b;
      });
    await until(() => seen.length > 0, 5000, "the watcher");
    expect(seen).toEqual([[0, 1]]);
    expect(dev.irq(1).eventfd()).toBeTypeOf("number"); // already the client's when the watcher is told
    await new Promise((r) => setTimeout(r, 50));
    expect(replied).toBe(false); // the reply waits for the watcher
    release();
    const binding = await enabling;
    off();
    await binding.disable(); // unsubscribed: not told, not held
    expect(seen).toHaveLength(1);
  });

  it("migrationDone once the device leaves RESUMING; migrationRunning around the stopped states", async () => {
    const { rec, client } = await setup();
    await client.setMigrationState(MigrationState.STOP);
    expect(rec.log.at(-1)).toBe("stopped counter0");
    await client.setMigrationState(MigrationState.RESUMING);
    expect(rec.log.at(-1)).toBe("stopped counter0");
    await client.setMigrationState(MigrationState.STOP);
    expect(rec.log.at(-1)).toBe("migrated counter0");
    await client.setMigrationState(MigrationState.RUNNING);
    expect(rec.log.at(-1)).toBe("running counter0");
    expect(rec.log.filter((l) => l.startsWith("migrated"))).toHaveLength(1);
    expect(rec.log.filter((l) => l.startsWith("stopped") || l.startsWith("running"))).toEqual([
      "stopped counter0",
      "running counter0",
    ]);
  });

  it("a provider that cannot stop refuses the arc: the client's STOP fails, the device runs on", async () => {
    const { rec, client } = await setup();
    const stop = rec.provider.ops.migrationRunning as NonNullable<typeof rec.provider.ops.migrationRunning>;
    rec.provider.ops.migrationRunning = (d, running) => {
      stop(d, running);
      if (!running) throw new Error("a data-path thread did not finish its burst in time");
    };
    await expect(client.setMigrationState(MigrationState.STOP)).rejects.toThrow();
    expect(await client.getMigrationState()).toBe(MigrationState.RUNNING);
    expect(rec.log.slice(-2)).toEqual(["stopped counter0", "running counter0"]);
    rec.provider.ops.migrationRunning = stop;
    await client.setMigrationState(MigrationState.STOP);
    expect(await client.getMigrationState()).toBe(MigrationState.STOP);
  });

  it("a provider that cannot be migrated refuses PRE_COPY, STOP_COPY and RESUMING before anything changes; a pause is not refused", async () => {
    const { rec, errors, client } = await setup();
    const asked: string[] = [];
    rec.provider.ops.migrationTransfer = (d) => {
      asked.push(d.name);
      throw new Error(`${d.name}: this data path cannot be migrated`);
    };
    const before = rec.log.length;
    await expect(client.setMigrationState(MigrationState.PRE_COPY)).rejects.toMatchObject({ errno: 95 }); // EOPNOTSUPP
    expect(await client.getMigrationState()).toBe(MigrationState.RUNNING);
    expect(rec.log.length).toBe(before); // not stopped: refused before anything
    expect(errors.map(String).join("\n")).toMatch(/counter0: this data path cannot be migrated/);
    // RUNNING → STOP_COPY (walked RUNNING → STOP → STOP_COPY) is refused as a whole: not even paused.
    await expect(client.setMigrationState(MigrationState.STOP_COPY)).rejects.toMatchObject({ errno: 95 });
    expect(await client.getMigrationState()).toBe(MigrationState.RUNNING);
    expect(rec.log.length).toBe(before);
    // A pause is not a migration; from it, the transfer states are refused and the device stays paused.
    await client.setMigrationState(MigrationState.STOP);
    await expect(client.setMigrationState(MigrationState.STOP_COPY)).rejects.toMatchObject({ errno: 95 });
    await expect(client.setMigrationState(MigrationState.RESUMING)).rejects.toMatchObject({ errno: 95 });
    expect(await client.getMigrationState()).toBe(MigrationState.STOP);
    await client.setMigrationState(MigrationState.RUNNING);
    expect(asked).toEqual(["counter0", "counter0", "counter0", "counter0"]);
    expect(rec.log.slice(before)).toEqual(["stopped counter0", "running counter0"]);
  });

  it("listeners and provider ops that throw are reported, the device carries on", async () => {
    const { errors, dev, client, emu } = await setup();
    dev.detach();
    const bad = recordingProvider("bad");
    bad.provider.ops.queueStateSet = () => {
      throw new Error("provider bug");
    };
    bad.provider.ops.deviceConfigured = async () => {
      throw new Error("async provider bug");
    };
    emu.registerProvider(bad.provider);
    dev.attach("bad");
    const off = dev.on("queueState", () => {
      throw new Error("listener bug");
    });
    await client.regionWrite(0, BigInt(REG.CTRL), le32(1));
    await client.regionWrite(0, BigInt(REG.STATUS), le32(1));
    await until(() => errors.length === 3, 5000, "three reports");
    expect(errors.map((e) => (e as Error).message).sort()).toEqual([
      "async provider bug",
      "listener bug",
      "provider bug",
    ]);
    off();
    await client.regionWrite(0, BigInt(REG.CTRL), le32(0));
    expect(errors.length).toBe(4); // the provider op again, not the listener
    expect(dev.queue(0).enabled).toBe(false);
  });
});
