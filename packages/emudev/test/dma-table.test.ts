import { isEmudevError } from "@emu/emudev";
import { describe, expect, it } from "vitest";
import { connect, registry, sockPath, started } from "./fixtures/harness.js";

async function reason(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    if (isEmudevError(e)) return e.reason;
    throw e;
  }
  return "none";
}

async function setup() {
  const { emu } = registry();
  const dev = await started(emu);
  const client = await connect(dev);
  const ram = await client.dmaMap(0x10000n, 0x4000n);
  const rom = await client.dmaMap(0x20000n, 0x1000n, { write: false });
  const msg = await client.dmaMap(0x30000n, 0x1000n, { messageBased: true });
  return { dev, client, ram, rom, msg };
}

describe("DMA translation", () => {
  it("gives a direct view of fd-backed guest memory, both ways, without a message", async () => {
    const { dev, client, ram } = await setup();
    let messages = 0;
    client.on("dma", () => messages++);
    ram.bytes.set([1, 2, 3, 4], 0x100);
    const v = dev.dma.translate(0x10100n, 4);
    expect(v.bytes).toEqual(Uint8Array.of(1, 2, 3, 4));
    const w = dev.dma.translate(0x13ff0, 16, "rw"); // the last 16 bytes, number address
    w.bytes.fill(0xab);
    w.release();
    expect(ram.bytes.subarray(0x3ff0)).toEqual(new Uint8Array(16).fill(0xab));
    expect(dev.dma.translate(0x20000n, 0x1000).bytes.length).toBe(0x1000); // read-only mapping, read view
    expect(messages).toBe(0);
    await client.dmaUnmap(0x10000n, 0x4000n);
    expect(v.bytes.length).toBe(0); // a view of an unmapped range reads empty
    expect(await reason(() => dev.dma.translate(0x10100n, 4))).toBe("NotMapped");
  });

  it("checks bounds: crossing the end, unmapped, between mappings, permissions, message-based memory", async () => {
    const { dev, client } = await setup();
    expect(await reason(() => dev.dma.translate(0x13ff0n, 17))).toBe("NotMapped"); // one past the end
    expect(await reason(() => dev.dma.translate(0x13fffn, 0x10002))).toBe("NotMapped"); // far past it
    await client.dmaMap(0x14000n, 0x1000n); // adjacent: a range over both is still two mappings
    expect(await reason(() => dev.dma.translate(0x13ff0n, 0x20))).toBe("NotMapped");
    expect(dev.dma.translate(0x14000n, 0x20).bytes.length).toBe(0x20);
    expect(await reason(() => dev.dma.translate(0xfff0n, 0x20))).toBe("NotMapped"); // starts before
    expect(await reason(() => dev.dma.translate(0x50000n, 1))).toBe("NotMapped");
    expect(await reason(() => dev.dma.translate(0x20000n, 4, "rw"))).toBe("Permission");
    expect(await reason(() => dev.dma.write(0x20000n, new Uint8Array(4)))).toBe("Permission");
    expect(await reason(() => dev.dma.translate(0x30000n, 4))).toBe("NotDirect");
  });

  it("refuses hostile sizes and addresses before looking anything up", async () => {
    const { dev } = await setup();
    for (const [iova, len] of [
      [0x10000n, 0],
      [0x10000n, -1],
      [0x10000n, 1.5],
      [0x10000n, Number.NaN],
      [0x10000n, 2 ** 53],
      [-1n, 4],
      [0x10000 + 0.5, 4],
      [(1n << 64n) - 2n, 4],
      [1n << 70n, 1],
    ] as const)
      expect(await reason(() => dev.dma.translate(iova, len)), `${iova}+${len}`).toBe("BadRange");
    expect(await reason(() => dev.dma.read(0x10000n, -5))).toBe("BadRange");
  });

  it("reads and writes message-based memory by messages, fd-backed memory in place", async () => {
    const { dev, msg, ram, client } = await setup();
    let messages = 0;
    client.on("dma", () => messages++);
    await dev.dma.write(0x30010n, Uint8Array.of(9, 8, 7));
    expect(msg.bytes.subarray(0x10, 0x13)).toEqual(Uint8Array.of(9, 8, 7));
    msg.bytes.set([5, 5], 0x800);
    expect(await dev.dma.read(0x30800n, 2)).toEqual(Uint8Array.of(5, 5));
    expect(messages).toBe(2);
    await dev.dma.write(0x10000n, Uint8Array.of(1));
    expect(ram.bytes[0]).toBe(1);
    expect(await reason(() => dev.dma.read(0x30ff0n, 0x20))).toBe("NotMapped");
  });

  it("has no table before start", async () => {
    const { emu } = registry();
    const dev = emu.create(`counter0,sock=${sockPath()}`);
    expect(dev.dma.regions()).toEqual([]);
    expect(await reason(() => dev.dma.translate(0x1000n, 4))).toBe("NotMapped");
  });
});
