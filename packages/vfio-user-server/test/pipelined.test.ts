// A pipelining client sends many commands in one write: the server answers REGION_READ/WRITE of such a chunk in place
// (no message objects) and every other frame the general way. These tests mix the two in one chunk and check that
// nothing about the answers changes: order, NO_REPLY, device failures, asynchronous callbacks, refusals.
import type { Message } from "@emu/vfio-user-proto";
import { createServer, type DeviceContext } from "@emu/vfio-user-server";
import { describe, expect, it } from "vitest";
import { Client, le32, socketPath, track, u32 } from "./fixtures/harness.js";

interface Arrived {
  readonly msgId: number;
  readonly message: Message;
}

async function setup() {
  const path = socketPath();
  const regs = new Uint8Array(0x1000);
  const order: string[] = [];
  const reported: unknown[] = [];
  track(
    await createServer({
      socketPath: path,
      device: {
        pci: { vendorId: 1, deviceId: 2, classCode: 0, bars: [{ index: 0, kind: "memory32", size: 0x1000 }] },
        regions: {
          0: {
            read: (offset, length) => {
              if (offset === 0xffc) throw new Error("register 0xffc fails");
              order.push(`r${offset.toString(16)}`);
              return regs.slice(offset, offset + length);
            },
            write: (offset, data) => {
              order.push(`w${offset.toString(16)}`);
              if (offset === 0xff8) {
                // A slow register: the commands behind it wait.
                return new Promise<void>((resolve) =>
                  setTimeout(() => {
                    regs.set(data, offset);
                    resolve();
                  }, 20),
                );
              }
              regs.set(data, offset);
              return undefined;
            },
          },
        },
      },
      onError: (e) => reported.push(e),
    }),
  );
  const client = await Client.spawn();
  await client.connect(path);
  return { client, order, regs, reported };
}

const read = (offset: number, count = 4): Message => ({
  kind: "RegionReadRequest",
  offset: BigInt(offset),
  region: 0,
  count,
});
const write = (offset: number, value: number): Message => ({
  kind: "RegionWriteRequest",
  offset: BigInt(offset),
  region: 0,
  data: le32(value),
});

describe("a chunk of pipelined commands", () => {
  it("more replies than one sendmsg has iovecs (1024): all answered, in order, one per command", async () => {
    const { client } = await setup();
    const calls: { message: Message }[] = [];
    for (let i = 0; i < 1500; i++) calls.push({ message: i % 2 === 0 ? write(4 * (i >> 1), i) : read(4 * (i >> 1)) });
    const { arrived, firstId } = await client.op<{ arrived: Arrived[]; firstId: number }>("pipelined", { calls });
    expect(arrived).toHaveLength(1500);
    for (let i = 0; i < 1500; i++) {
      const r = arrived[i]!;
      expect(r.msgId).toBe(firstId + i);
      if (i % 2 === 0)
        expect(r.message).toEqual({ kind: "RegionWriteReply", offset: BigInt(4 * (i >> 1)), region: 0, count: 4 });
      else expect(u32((r.message as Extract<Message, { kind: "RegionReadReply" }>).data)).toBe(i - 1);
    }
  });

  it("NO_REPLY, a failing callback, an asynchronous one, refusals and other commands keep their answers and order", async () => {
    const { client, order, regs, reported } = await setup();
    const calls: { message: Message; flags?: number }[] = [
      { message: write(0x10, 0x11111111), flags: 0x10 }, // NO_REPLY: applied, not answered
      { message: read(0x10) },
      { message: read(0xffc) }, // the callback throws: EIO
      { message: read(0x1000) }, // beyond the region: EINVAL (the general path)
      { message: { kind: "DeviceGetInfoRequest", argsz: 16 } }, // not a region access
      { message: write(0xff8, 0x22222222) }, // asynchronous: what follows waits for it
      { message: read(0xff8) },
      { message: read(0x10, 0) }, // count 0 (the general path)
      { message: write(0x20, 0x33333333) },
      { message: read(0x20) },
    ];
    const { arrived, firstId } = await client.op<{ arrived: Arrived[]; firstId: number }>("pipelined", { calls });
    expect(arrived.map((r) => r.msgId - firstId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const m = arrived.map((r) => r.message);
    expect(u32((m[0] as Extract<Message, { kind: "RegionReadReply" }>).data)).toBe(0x11111111);
    expect(m[1]).toMatchObject({ kind: "ErrorReply", command: 9, errno: 5 });
    expect(m[2]).toMatchObject({ kind: "ErrorReply", command: 9, errno: 22 });
    expect(m[3]).toMatchObject({ kind: "DeviceGetInfoReply" });
    expect(m[4]).toEqual({ kind: "RegionWriteReply", offset: 0xff8n, region: 0, count: 4 });
    expect(u32((m[5] as Extract<Message, { kind: "RegionReadReply" }>).data)).toBe(0x22222222);
    expect(m[6]).toMatchObject({ kind: "RegionReadReply", data: new Uint8Array(0) });
    expect(m[7]).toEqual({ kind: "RegionWriteReply", offset: 0x20n, region: 0, count: 4 });
    expect(u32((m[8] as Extract<Message, { kind: "RegionReadReply" }>).data)).toBe(0x33333333);
    expect(order).toEqual(["w10", "r10", "wff8", "rff8", "w20", "r20"]);
    expect(u32(regs, 0x20)).toBe(0x33333333);
    expect(reported.map((e) => (e as Error).message)).toEqual(["register 0xffc fails"]);
  });
});

describe("backpressure on the main socket", () => {
  for (const when of ["at once", "after the socket was paused"] as const)
    it(`more than 4096 frames queued behind a callback that awaits message-based DMA (${when}): the DMA reply is still read (no twin socket)`, async () => {
      const path = socketPath();
      const regs = new Uint8Array(0x1000);
      let ctx: DeviceContext | undefined;
      const server = track(
        await createServer({
          socketPath: path,
          device: {
            pci: { vendorId: 1, deviceId: 2, classCode: 0, bars: [{ index: 0, kind: "memory32", size: 0x1000 }] },
            regions: {
              0: {
                read: (offset, length) => regs.slice(offset, offset + length),
                write: (offset, data) => {
                  regs.set(data, offset);
                  // A doorbell: the device fetches a descriptor from guest memory before it is done.
                  if (offset === 0x100) {
                    const fetch = () => (ctx as DeviceContext).dma.read(0x100000n, 4).then((d) => regs.set(d, 0x200));
                    if (when === "at once") return fetch();
                    return new Promise((resolve) => setTimeout(resolve, 50)).then(fetch);
                  }
                  return undefined;
                },
              },
            },
          },
        }),
      );
      ctx = server.context;
      const client = await Client.spawn();
      await client.connect(path);
      await client.op("dmaMem", { iova: 0x100000, size: 0x1000 });
      await client.op("dmaMemWrite", { iova: 0x100000, data: Uint8Array.of(9, 8, 7, 6) });
      await client.ok(
        { kind: "DmaMapRequest", argsz: 32, flags: 3, offset: 0n, address: 0x100000n, size: 0x1000n },
        "DmaMapReply",
      );
      const calls: { message: Message; flags?: number }[] = [{ message: write(0x100, 1) }];
      for (let i = 0; i < 6000; i++) calls.push({ message: write(0x10, i), flags: 0x10 });
      calls.push({ message: read(0x200) });
      const { arrived, firstId } = await client.op<{ arrived: Arrived[]; firstId: number }>("pipelined", { calls });
      expect(arrived.map((r) => r.msgId - firstId)).toEqual([0, 6001]);
      expect(u32((arrived[1]!.message as Extract<Message, { kind: "RegionReadReply" }>).data)).toBe(0x06070809);
      expect(u32(regs, 0x10)).toBe(5999);
    });
});

describe("the server closing mid-chunk", () => {
  it("a device callback that closes the server: the commands behind it in the chunk do not reach the device", async () => {
    const path = socketPath();
    const order: string[] = [];
    const holder: { server?: { close(): Promise<void> } } = {};
    holder.server = track(
      await createServer({
        socketPath: path,
        device: {
          pci: { vendorId: 1, deviceId: 2, classCode: 0, bars: [{ index: 0, kind: "memory32", size: 0x1000 }] },
          regions: {
            0: {
              read: (offset, length) => {
                order.push(`r${offset.toString(16)}`);
                return new Uint8Array(length);
              },
              write: (offset) => {
                order.push(`w${offset.toString(16)}`);
                if (offset === 0x40) void holder.server?.close(); // a "power off" register
                return undefined;
              },
            },
          },
        },
      }),
    );
    const client = await Client.spawn();
    await client.connect(path);
    const calls: { message: Message; flags?: number }[] = [
      { message: write(0x10, 1) },
      { message: write(0x40, 1) },
      { message: write(0x20, 2) },
      { message: read(0x20) },
      { message: { kind: "DeviceGetInfoRequest", argsz: 16 } },
    ];
    await client.op("pipelined", { calls });
    expect(order).toEqual(["w10", "w40"]);
  });

  it("a region's write callback may keep its data: bytes of their own, not of the reused receive buffer", async () => {
    const path = socketPath();
    const kept: Uint8Array[] = [];
    track(
      await createServer({
        socketPath: path,
        device: {
          pci: { vendorId: 1, deviceId: 2, classCode: 0, bars: [{ index: 0, kind: "memory32", size: 0x1000 }] },
          regions: { 0: { read: () => new Uint8Array(4), write: (_offset, data) => void kept.push(data) } },
        },
      }),
    );
    const client = await Client.spawn();
    await client.connect(path);
    for (let i = 0; i < 20; i++) await client.ok(write(4 * i, 0x01010101 * (i + 1)), "RegionWriteReply");
    expect(kept.map((d) => u32(d))).toEqual(Array.from({ length: 20 }, (_, i) => 0x01010101 * (i + 1)));
  });
});
