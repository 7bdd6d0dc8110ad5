// What the real clients we cannot run here send and expect: QEMU 10.x's vfio-user-pci (DMA_READ/DMA_WRITE in its own
// layout, served by the harness client byte for byte as hw/vfio-user/pci.c does it) and cloud-hypervisor (ignores
// the ERROR flag and reads fixed-size replies, so guest-triggerable region errors must not become error replies).
import { Command, encodeMessage, HeaderFlags, type VersionCapabilities } from "@emu/vfio-user-proto";
import {
  createServer,
  type DeviceContext,
  type DmaError,
  type DmaErrorReason,
  isDmaError,
  type ServerOptions,
} from "@emu/vfio-user-server";
import { describe, expect, it } from "vitest";
import { newLog, nic } from "./fixtures/devices.js";
import { Client, type Reply, socketPath, track, u32 } from "./fixtures/harness.js";

const R = 1;
const W = 2;
const GUEST = 0x100000;

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed) & 0xff;
  return b;
}

async function dmaError(p: Promise<unknown>): Promise<DmaError> {
  try {
    await p;
  } catch (e) {
    if (isDmaError(e)) return e;
    throw e;
  }
  throw new Error("no DmaError");
}

interface Stat {
  address: bigint;
  count: number;
  size: number;
  frame: Uint8Array;
}

/** A server with the test NIC, a client connected with `connect`, 64 KiB of guest memory mapped without an fd. */
async function setup(
  connect: (client: Client, path: string) => Promise<Reply>,
  options: Partial<Pick<ServerOptions, "dmaMessageLayout" | "maxDataXferSize">> = {},
) {
  const path = socketPath();
  const holder: { ctx?: DeviceContext } = {};
  const errors: unknown[] = [];
  track(
    await createServer({ socketPath: path, device: nic(newLog(), holder), onError: (e) => errors.push(e), ...options }),
  );
  const client = await Client.spawn();
  const reply = await connect(client, path);
  await client.op("dmaMem", { iova: GUEST, size: 0x10000 });
  await client.ok(
    { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: BigInt(GUEST), size: 0x10000n },
    "DmaMapReply",
  );
  return { client, ctx: holder.ctx!, errors, reply };
}

const asQemu = (client: Client, path: string) => client.op<Reply>("connectQemu", { path });

describe("QEMU's DMA_READ/DMA_WRITE layout", () => {
  it("is used for a client whose VERSION is QEMU's: the device reads and writes guest memory byte-exact", async () => {
    // Our max_data_xfer_size is below QEMU's 1 MiB: QEMU refuses (E2BIG) a DMA_READ above the value of our reply and
    // drops the connection on a larger DMA_WRITE, so transfers are split to ours.
    const { client, ctx, reply } = await setup(asQemu, { maxDataXferSize: 4096 });
    expect(reply.message).toMatchObject({ kind: "VersionReply", minor: 0, capabilities: { maxDataXferSize: 4096 } });

    // Data that starts with 4 zero bytes: the spec layout would shift it silently rather than fail.
    const data = pattern(10000, 1);
    data.fill(0, 0, 4);
    await ctx.dma.write(GUEST + 0x10, data);
    expect(await client.op("dmaMemRead", { iova: GUEST + 0x10, length: 10000 })).toEqual(data);

    const back = pattern(9000, 2);
    back.fill(0, 0, 4);
    await client.op("dmaMemWrite", { iova: GUEST + 0x4000, data: back });
    expect(await ctx.dma.read(GUEST + 0x4000, 9000)).toEqual(back);
    // Small single-message accesses (the fast paths), several in flight.
    const small = await Promise.all([0, 4, 8].map((o) => ctx.dma.read(GUEST + 0x4000 + o, 4)));
    expect(small).toEqual([0, 4, 8].map((o) => back.subarray(o, o + 4)));
    await ctx.dma.write(GUEST + 0x9000, Uint8Array.of(0xd1, 0xd2, 0xd3));
    expect(await client.op("dmaMemRead", { iova: GUEST + 0x9000, length: 3 })).toEqual(Uint8Array.of(0xd1, 0xd2, 0xd3));

    const stats = await client.op<{ reads: Stat[]; writes: Stat[] }>("dmaStats");
    expect(stats.writes.map((w) => w.count)).toEqual([4096, 4096, 1808, 3]);
    expect(stats.reads.map((r) => r.count)).toEqual([4096, 4096, 808, 4, 4, 4]);
    for (const s of [...stats.reads, ...stats.writes]) expect(s.size).toBe(32 + (s.frame[2] === 12 ? s.count : 0));
    // The first DMA_WRITE as QEMU reads it: u32 count @24, data @28, then 4 zero bytes.
    const w = stats.writes[0]!;
    expect(u32(w.frame, 24)).toBe(4096);
    expect(w.frame.subarray(28, 28 + 4096)).toEqual(data.subarray(0, 4096));
    expect(w.frame.subarray(28 + 4096)).toEqual(new Uint8Array(4));
  });

  it("forcing the spec layout on QEMU shows the corruption the option prevents", async () => {
    const { client, ctx } = await setup(asQemu, { dmaMessageLayout: "spec" });
    // DMA_WRITE: QEMU takes the data from offset 28 — the upper half of the spec's u64 count, then the data — and
    // answers with the bare header, which the spec layout does not accept.
    const e = await dmaError(ctx.dma.write(GUEST, Uint8Array.of(9, 9, 9, 9, 1, 2, 3, 4)));
    expect([e.reason, e.errno]).toEqual(["ClientError" satisfies DmaErrorReason, undefined]);
    expect(await client.op("dmaMemRead", { iova: GUEST, length: 8 })).toEqual(Uint8Array.of(0, 0, 0, 0, 9, 9, 9, 9));
    // DMA_READ of data that starts with 4 zero bytes "succeeds" with the data shifted by 4 bytes...
    await client.op("dmaMemWrite", { iova: GUEST + 0x100, data: Uint8Array.of(0, 0, 0, 0, 5, 6, 7, 8) });
    expect(await ctx.dma.read(GUEST + 0x100, 8)).toEqual(Uint8Array.of(5, 6, 7, 8, 0, 0, 0, 0));
    // ...and of other data is refused as a reply that does not decode (a DmaError, not a raw ProtoError).
    await client.op("dmaMemWrite", { iova: GUEST + 0x200, data: Uint8Array.of(1, 0, 0, 0, 5, 6, 7, 8) });
    expect((await dmaError(ctx.dma.read(GUEST + 0x200, 8))).reason).toBe("ClientError");
  });

  it('"auto" picks QEMU\'s layout only for a QEMU-like VERSION; "qemu" forces it', async () => {
    const qemuCaps: VersionCapabilities = {
      migration: { pgsize: 4096, maxBitmapSize: 256 * 1048576 },
      maxMsgFds: 16,
      writeMultiple: true,
    };
    const cases: [string, number, VersionCapabilities, "spec" | "qemu", ServerOptions["dmaMessageLayout"]][] = [
      ["libvfio-user / our client, 0.2", 2, { maxMsgFds: 16, maxDataXferSize: 1048576 }, "spec", undefined],
      [
        "cloud-hypervisor, 0.1",
        1,
        { maxMsgFds: 1, maxDataXferSize: 1048576, migration: { pgsize: 4096 } },
        "spec",
        "auto",
      ],
      ["0.0 without QEMU's capabilities", 0, { maxMsgFds: 16 }, "spec", undefined],
      ["QEMU's capabilities but minor 1", 1, qemuCaps, "spec", undefined],
      // Our own client proposing 0.0 offers write_multiple too, and speaks the spec's layout.
      ["0.0 with write_multiple only", 0, { maxMsgFds: 16, writeMultiple: true }, "spec", undefined],
      [
        "0.0 with migration.max_bitmap_size",
        0,
        { migration: { pgsize: 4096, maxBitmapSize: 4096 } },
        "qemu",
        undefined,
      ],
      ["QEMU's VERSION, spec forced", 0, qemuCaps, "spec", "spec"],
      ["a spec-looking VERSION, qemu forced", 2, { maxMsgFds: 16 }, "qemu", "qemu"],
    ];
    for (const [name, minor, caps, expected, mode] of cases) {
      const { client, ctx } = await setup(
        async (c, path) => {
          const r = await c.connect(path, caps, { minor });
          await c.op("dmaServe", { layout: expected, maxXfer: 1048576 });
          return r;
        },
        mode === undefined ? {} : { dmaMessageLayout: mode },
      );
      await ctx.dma.write(GUEST, Uint8Array.of(0xa1, 0xa2, 0xa3, 0xa4));
      expect(await client.op("dmaMemRead", { iova: GUEST, length: 4 }), name).toEqual(
        Uint8Array.of(0xa1, 0xa2, 0xa3, 0xa4),
      );
      const frame = (await client.op<{ writes: Stat[] }>("dmaStats")).writes[0]!.frame;
      expect(frame[expected === "qemu" ? 28 : 32], name).toBe(0xa1);
      await client.kill();
    }
  });

  it("QEMU's error replies and malformed replies reject with DmaError ClientError", async () => {
    const { client, ctx } = await setup(asQemu);
    // Mapped, but not memory the peer backs: QEMU's pci_dma_read fails with a decode error (ENODEV).
    await client.ok(
      { kind: "DmaMapRequest", argsz: 32, flags: R | W, offset: 0n, address: 0x200000n, size: 0x1000n },
      "DmaMapReply",
    );
    const refused = await dmaError(ctx.dma.read(0x200000, 32));
    expect([refused.reason, refused.errno]).toEqual(["ClientError", 19]);
    // A DMA_READ reply cut short, a DMA_WRITE reply with a payload: not QEMU's, refused without a ProtoError.
    await client.op("dmaRawReply", { payload: Uint8Array.of(0, 0, 0x10, 0, 0, 0, 0, 0, 4, 0, 0, 0) });
    const short = await dmaError(ctx.dma.read(GUEST, 4));
    expect([short.reason, short.errno]).toEqual(["ClientError", undefined]);
    expect(short.message).toMatch(/does not decode/);
    await client.op("dmaRawReply", { payload: new Uint8Array(16) });
    expect((await dmaError(ctx.dma.write(GUEST, Uint8Array.of(1)))).reason).toBe("ClientError");
    // The connection carries on.
    await ctx.dma.write(GUEST, Uint8Array.of(7));
    expect(await ctx.dma.read(GUEST, 1)).toEqual(Uint8Array.of(7));
  });
});

describe("the spec layout's reply checks", () => {
  const asSpec = (client: Client, path: string) => client.connect(path, { maxMsgFds: 16, maxDataXferSize: 4096 });

  it("a malformed reply rejects with DmaError ClientError, a bare DMA_WRITE reply is not accepted", async () => {
    const { client, ctx } = await setup(asSpec);
    await client.op("dmaRawReply", { payload: Uint8Array.of(1, 2, 3, 4, 5) });
    const bad = await dmaError(ctx.dma.read(GUEST, 4));
    expect([bad.reason, bad.errno, bad.iova, bad.length]).toEqual(["ClientError", undefined, BigInt(GUEST), 4]);
    await client.op("dmaRawReply", {});
    expect((await dmaError(ctx.dma.write(GUEST, Uint8Array.of(1, 2)))).message).toMatch(/does not match/);
    await client.op("dmaRawReply", { flags: HeaderFlags.TYPE_REPLY | HeaderFlags.ERROR, error: 14 });
    expect((await dmaError(ctx.dma.write(GUEST, Uint8Array.of(1, 2)))).errno).toBe(14);
    await ctx.dma.write(GUEST, Uint8Array.of(1, 2));
    expect(await ctx.dma.read(GUEST, 2)).toEqual(Uint8Array.of(1, 2));
  });
});

describe("region accesses a region does not permit behave like hardware (cloud-hypervisor ignores ERROR)", () => {
  async function regionsSetup() {
    const path = socketPath();
    const calls: string[] = [];
    track(
      await createServer({
        socketPath: path,
        device: {
          pci: {
            vendorId: 1,
            deviceId: 2,
            classCode: 0,
            bars: [
              { index: 0, kind: "memory32", size: 4096 },
              { index: 1, kind: "memory32", size: 4096 },
            ],
            rom: { size: 2048 },
          },
          regions: {
            // read-only registers
            0: {
              writable: false,
              read: () => Uint8Array.of(1, 2, 3, 4),
              write: () => void calls.push("write BAR0"),
            },
            // write-only registers
            1: {
              readable: false,
              read: () => {
                calls.push("read BAR1");
                return new Uint8Array(4);
              },
              write: () => void calls.push("write BAR1"),
            },
          },
        },
      }),
    );
    const client = await Client.spawn();
    await client.connect(path, { maxMsgFds: 16, writeMultiple: true });
    return { client, calls };
  }

  it("a write to a region that is not writable is dropped with a normal reply; a read of one that is not readable returns all-ones", async () => {
    const { client, calls } = await regionsSetup();
    const w = await client.ok(
      { kind: "RegionWriteRequest", offset: 0x10n, region: 0, data: Uint8Array.of(9, 9, 9, 9) },
      "RegionWriteReply",
    );
    expect(w).toMatchObject({ offset: 0x10n, region: 0, count: 4 });
    const rom = await client.ok(
      { kind: "RegionWriteRequest", offset: 0n, region: 6, data: Uint8Array.of(9, 9) },
      "RegionWriteReply",
    );
    expect(rom.count).toBe(2);
    const r = await client.ok({ kind: "RegionReadRequest", offset: 0x20n, region: 1, count: 6 }, "RegionReadReply");
    expect(r.data).toEqual(new Uint8Array(6).fill(0xff));
    // The readable/writable side still works.
    expect(
      (await client.ok({ kind: "RegionReadRequest", offset: 0n, region: 0, count: 4 }, "RegionReadReply")).data,
    ).toEqual(Uint8Array.of(1, 2, 3, 4));
    await client.ok({ kind: "RegionWriteRequest", offset: 0n, region: 1, data: Uint8Array.of(5) }, "RegionWriteReply");
    // The same through the general path (a frame split across two writes) and REGION_WRITE_MULTI.
    const read = encodeMessage({ kind: "RegionReadRequest", offset: 0n, region: 1, count: 4 }, { msgId: 0x77 });
    const split = await client.op<Reply>("rawParts", {
      parts: [read.subarray(0, 20), read.subarray(20)],
      delayMs: 20,
      msgId: 0x77,
    });
    expect(split.message).toMatchObject({ kind: "RegionReadReply", data: Uint8Array.of(0xff, 0xff, 0xff, 0xff) });
    const multi = await client.ok(
      {
        kind: "RegionWriteMultiRequest",
        writes: [
          { offset: 0n, region: 0, data: Uint8Array.of(1) },
          { offset: 0n, region: 1, data: Uint8Array.of(2) },
        ],
      },
      "RegionWriteMultiReply",
    );
    expect(multi.wrCnt).toBe(2n);
    expect(calls).toEqual(["write BAR1", "write BAR1"]);
  });

  it("genuinely bad requests still get their error replies", async () => {
    const { client } = await regionsSetup();
    const errno = (m: Parameters<Client["errno"]>[0]) => client.errno(m);
    expect(await errno({ kind: "RegionReadRequest", offset: 0n, region: 9, count: 4 })).toBe(22); // no such region
    expect(await errno({ kind: "RegionReadRequest", offset: 4094n, region: 1, count: 4 })).toBe(22); // beyond the end
    expect(await errno({ kind: "RegionWriteRequest", offset: 4094n, region: 0, data: new Uint8Array(4) })).toBe(22);
    expect(await errno({ kind: "RegionReadRequest", offset: 0n, region: 0, count: 2 * 1048576 })).toBe(22);
    const r = await client.call({ kind: "RegionReadRequest", offset: 0n, region: 9, count: 4 });
    expect([r.size, r.header.command]).toEqual([16, Command.REGION_READ]);
  });
});
