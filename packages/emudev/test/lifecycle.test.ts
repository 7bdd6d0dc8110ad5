import { existsSync } from "node:fs";
import { type DriverHost, type EmudevDevice, isEmudevError } from "@emu/emudev";
import { closeFd, memfdCreate, mmap } from "@emu/sys";
import type { DeviceModel } from "@emu/vfio-user-server";
import { describe, expect, it } from "vitest";
import { connect, recordingProvider, registry, sockPath, started } from "./fixtures/harness.js";

async function refusal(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    if (isEmudevError(e)) return `${e.reason}: ${e.message}`;
    throw e;
  }
  throw new Error("no EmudevError");
}

describe("lifecycle", () => {
  it("created → configured → started ⇄ stopped → closed, serving only while started", async () => {
    const { emu } = registry();
    const path = sockPath();
    const dev = emu.create(`counter0,sock=${path}`);
    expect(dev.state).toBe("created");
    dev.configure({ link: true });
    expect(dev.state).toBe("configured");
    expect(dev.attribute("link")).toBe(true);
    await dev.start();
    expect(dev.state).toBe("started");
    expect(existsSync(path)).toBe(true);
    const client = await connect(dev);
    expect(dev.connected).toBe(true);
    await client.close();
    await dev.stop();
    expect(dev.state).toBe("stopped");
    expect(existsSync(path)).toBe(false);
    dev.configure();
    await dev.start();
    await connect(dev);
    await dev.close();
    expect(dev.state).toBe("closed");
    expect(existsSync(path)).toBe(false);
    expect(emu.device("counter0")).toBeUndefined();
    await dev.close(); // idempotent
  });

  it("misuse is refused with the state and what to do", async () => {
    const { emu } = registry();
    const dev: EmudevDevice = emu.create(`counter0,sock=${sockPath()}`);
    expect(await refusal(() => dev.start())).toBe("BadState: cannot start counter0: it is created; configure it first");
    expect(await refusal(() => dev.stop())).toBe("BadState: cannot stop counter0: it is created");
    expect(await refusal(() => dev.irq(0))).toBe(
      "BadState: cannot use the resources of counter0: it is created; start it first",
    );
    expect(await refusal(() => dev.doorbell(0))).toMatch(/start it first/);
    expect(await refusal(() => dev.configure({ speed: 5 }))).toBe(
      "InvalidValue: counter0 refused its configuration: unknown setting speed",
    );
    dev.configure();
    await dev.start();
    expect(await refusal(() => dev.start())).toBe("BadState: cannot start counter0: it is started");
    expect(await refusal(() => dev.configure())).toBe(
      "BadState: cannot configure counter0: it is started; stop it first",
    );
    await dev.close();
    expect(await refusal(() => dev.start())).toBe("BadState: cannot start counter0: it is closed");
    expect(await refusal(() => dev.attach("rec"))).toBe("BadState: cannot attach a provider to counter0: it is closed");
    expect(await refusal(() => dev.setAttribute("link", true))).toMatch(/it is closed/);
  });

  it("a stop or close while starting waits for the start and undoes it", async () => {
    const { emu } = registry();
    const path = sockPath();
    const dev = emu.create(`counter0,sock=${path}`);
    dev.configure();
    const starting = dev.start();
    await dev.stop();
    await starting;
    expect(dev.state).toBe("stopped");
    expect(existsSync(path)).toBe(false);
    const again = dev.start();
    await dev.close();
    await again;
    expect(dev.state).toBe("closed");
    expect(existsSync(path)).toBe(false);
  });

  it("a socket path nobody can use fails start and leaves the device stopped", async () => {
    const { emu } = registry();
    const dev = emu.create("counter0,sock=/nonexistent-dir/x.sock");
    dev.configure();
    await expect(dev.start()).rejects.toThrow();
    expect(dev.state).toBe("stopped");
  });

  it("resources: queues, IRQs, doorbells, regions, attributes", async () => {
    const { emu } = registry();
    const dev = await started(emu, ",queues=1,label=mine");
    expect(dev.queues()).toEqual([{ id: 0, base: 0n, size: 0, doorbell: -1, irqVector: -1, enabled: false }]);
    expect(await refusal(() => dev.queue(1))).toBe("UnknownResource: no queue 1 (the device has 1)");
    expect(dev.irq(1)).toMatchObject({ vector: 1, index: 2 }); // MSI-X;
    expect(dev.irq(1).masked()).toBe(false);
    expect(dev.irq(1).trigger()).toBe("dropped"); // no client eventfd yet
    expect(dev.irq(1).eventfd()).toBeUndefined();
    expect(await refusal(() => dev.irq(2))).toBe("UnknownResource: no interrupt vector 2 (the device has 2)");
    expect(dev.doorbells().map((d) => [d.id, d.region, d.offset, d.bytes.length])).toEqual([[0, 0, 0x1000, 4]]);
    expect(await refusal(() => dev.doorbell(1))).toBe("UnknownResource: counter0 has no doorbell 1");
    expect(dev.regions().map((r) => [r.index, r.memory?.length])).toEqual([[0, 0x2000]]);
    expect(dev.attributes()).toEqual(["link", "label", "boundTo"]);
    expect(dev.attribute("label")).toBe("mine");
    expect(await refusal(() => dev.setAttribute("label", "x"))).toBe('InvalidValue: attribute "label" is read-only');
    expect(await refusal(() => dev.setAttribute("link", 1))).toBe(
      'InvalidValue: attribute "link" refused 1: link is a boolean',
    );
    expect(await refusal(() => dev.attribute("speed"))).toBe(
      'UnknownResource: no attribute "speed" (the device has: link, label, boundTo)',
    );
  });
});

describe("the driver's model", () => {
  it("a class-based model keeps its this (and #private fields) in its getters and every callback", async () => {
    const { emu } = registry();
    class Model implements DeviceModel {
      #writes = 0;
      #resets = 0;
      #pci = { vendorId: 0x1234, deviceId: 1, classCode: 0xff0000 };
      get pci() {
        return this.#pci;
      }
      onConfigWrite(): void {
        this.#writes++;
      }
      reset(): void {
        this.#resets++;
      }
      counts(): [number, number] {
        return [this.#writes, this.#resets];
      }
    }
    const model = new Model();
    emu.registerDriver({
      name: "plain",
      args: {},
      create: () => ({ info: { type: "plain", queueCount: 0, features: 0n }, model: () => model }),
    });
    const dev = emu.create(`plain0,sock=${sockPath()}`);
    dev.configure();
    await dev.start();
    const client = await connect(dev);
    await client.regionWrite(7, 4n, Uint8Array.of(0x06, 0)); // COMMAND: memory + bus master
    await client.reset();
    expect(model.counts()).toEqual([1, 1]);
    await dev.close();
  });
});

describe("the driver-facing side", () => {
  it("checks queue fields and refuses readiness before start", async () => {
    const { emu } = registry();
    let host: DriverHost | undefined;
    emu.registerDriver({
      name: "q",
      args: {},
      create: (h) => {
        host = h;
        return {
          info: { type: "q", queueCount: 1, features: 0n },
          model: () => ({ pci: { vendorId: 1, deviceId: 1, classCode: 0 } }),
        };
      },
    });
    emu.create(`q0,sock=${sockPath()}`);
    const h = host!;
    expect(h.name).toBe("q0");
    expect(await refusal(() => h.ready())).toBe("BadState: cannot make ready q0: it is created; start it first");
    expect(await refusal(() => h.setQueue(0, { base: -1n }))).toBe(
      "InvalidValue: queue 0: base -1 must be a 64-bit guest address",
    );
    expect(await refusal(() => h.setQueue(0, { base: 1n << 64n }))).toMatch(/must be a 64-bit guest address/);
    expect(await refusal(() => h.setQueue(0, { size: 1.5 }))).toBe("InvalidValue: queue 0: size 1.5 must be >= 0");
    expect(await refusal(() => h.setQueue(0, { irqVector: -2 }))).toMatch(/irqVector -2 must be a vector or -1/);
    expect(await refusal(() => h.setQueue(1, { size: 1 }))).toBe("UnknownResource: no queue 1 (the device has 1)");
    expect(h.setQueue(0, { base: 0x1000n, size: 64 })).toMatchObject({ base: 0x1000n, size: 64, enabled: false });
  });
});

describe("provider binding", () => {
  it("binds by name, one provider at a time, within the provider's limits", async () => {
    const { emu } = registry();
    const a = recordingProvider("a", { deviceCount: 1 });
    const small = recordingProvider("small", { queueCount: 1 });
    emu.registerProvider(a.provider);
    emu.registerProvider(small.provider);
    expect(await refusal(() => emu.registerProvider(a.provider))).toBe("Duplicate: provider a is already registered");
    expect(await refusal(() => emu.registerProvider({ ...a.provider, name: "b", ops: {} as never }))).toMatch(
      /ops need deviceConfigured and deviceClosed/,
    );
    const d0 = emu.create(`counter0,sock=${sockPath()}`);
    const d1 = emu.create(`counter1,sock=${sockPath()}`);
    expect(await refusal(() => d0.attach("nope"))).toBe('UnknownProvider: no provider "nope" (registered: a, small)');
    expect(await refusal(() => d0.attach("small"))).toBe(
      "ProviderLimit: provider small serves at most 1 queues; counter0 has 2",
    );
    expect(d0.offeredFeatures).toBe(0b101n); // unbound: all the driver's
    d0.attach("a");
    expect(d0.provider).toBe("a");
    expect(d0.attribute("boundTo")).toBe("a"); // the driver's providerChanged
    expect(d0.offeredFeatures).toBe(0b101n); // a supports 0xff
    expect(await refusal(() => d0.attach("a"))).toMatch(/already attached to provider a; detach first/);
    expect(await refusal(() => d1.attach("a"))).toBe("ProviderLimit: provider a serves at most 1 device(s)");
    expect(await refusal(() => emu.unregisterProvider("a"))).toMatch(/still has 1 device/);
    d0.detach();
    expect(d0.attribute("boundTo")).toBeUndefined();
    expect(await refusal(() => d0.detach())).toBe("NotBound: counter0 has no provider attached");
    const narrow = recordingProvider("narrow", { features: 0b100n });
    emu.registerProvider(narrow.provider);
    d1.attach("narrow");
    expect(d1.offeredFeatures).toBe(0b100n);
    d1.detach();
    d1.attach("a");
    expect(a.log).toEqual(["attached counter0", "detached counter0", "attached counter1"]);
    await d1.close();
    expect(a.log.at(-1)).toBe("detached counter1");
    emu.unregisterProvider("a");
    expect(emu.providerNames()).toEqual(["small", "narrow"]);
  });
});

describe("a file offered for a region's mmap areas", () => {
  it("is what the next client maps: regions() and doorbell() show it while that client is connected", async () => {
    const { emu } = registry();
    const dev = await started(emu, ",queues=1");
    const fd = memfdCreate("offered", 0x2000);
    const file = new Uint8Array(mmap(fd, 0, 0x2000, "rw").buffer);
    try {
      const offer = { fd, offset: 0n };
      dev.offerRegionFile(0, offer);
      expect(dev.regions()[0]).toMatchObject({ offset: 0n, offer: undefined }); // nobody connected yet
      const client = await connect(dev);
      expect(dev.regions()[0]?.offer).toBe(offer);
      // The client's doorbell store lands in the offered file, and the provider's view of the doorbell is that file.
      const mapping = await client.mapRegion(0);
      const area = mapping.areas.find((a) => a.bytes.length > 0)!;
      new DataView(area.bytes.buffer, area.bytes.byteOffset).setUint32(0, 0xabcd, true);
      expect(new DataView(file.buffer).getUint32(0x1000, true)).toBe(0xabcd);
      expect(Array.from(dev.doorbell(0).bytes)).toEqual([0xcd, 0xab, 0, 0]);
      mapping.unmap();
      await client.close();
      expect(await refusal(() => dev.offerRegionFile(0, { fd, offset: 0x100n }))).toMatch(
        /^InvalidValue: counter0: region 0: .*page-aligned/,
      );
    } finally {
      closeFd(fd);
    }
  });
});
