// A file offered for a region's mmap areas (`ctx.offerRegionFile`): the next client is sent that file and the
// region's start in it, maps it, and its stores land in the file; `regionMemory` and REGION_READ/WRITE of the areas
// are that file for that client, who keeps it after the offer is withdrawn; the next client gets the own memfd.
import { closeFd, memfdCreate, mmap } from "@emu/sys";
import { until } from "@emu/test-kit";
import type { SparseMmapCapability } from "@emu/vfio-user-proto";
import { createServer, type DeviceContext } from "@emu/vfio-user-server";
import { afterEach, describe, expect, it } from "vitest";
import { NIC_BAR0, NIC_DOORBELL_PAGE, newLog, nic } from "./fixtures/devices.js";
import { Client, le32, socketPath, track, u32 } from "./fixtures/harness.js";

const OFFSET = 0x2000n;
const fds: number[] = [];
afterEach(() => {
  for (const fd of fds.splice(0)) closeFd(fd);
});

async function setup() {
  const path = socketPath();
  const holder: { ctx?: DeviceContext } = {};
  track(await createServer({ socketPath: path, device: nic(newLog(), holder) }));
  const fd = memfdCreate("offered", Number(OFFSET) + NIC_BAR0);
  fds.push(fd);
  const file = mmap(fd, 0, Number(OFFSET) + NIC_BAR0, "rw");
  return { path, ctx: () => holder.ctx!, fd, file: new Uint8Array(file.buffer) };
}

async function regionInfo(client: Client) {
  return client.ok({ kind: "DeviceGetRegionInfoRequest", argsz: 128, index: 0 }, "DeviceGetRegionInfoReply");
}

describe("a file offered for a region's mmap areas", () => {
  it("is what the next client maps and writes; regionMemory and REGION_READ follow it; withdrawn, the next client gets the own memfd", async () => {
    const { path, ctx, fd, file } = await setup();
    const offer = { fd, offset: OFFSET };
    ctx().offerRegionFile(0, offer);
    expect(ctx().regionFileOffer(0)).toBeUndefined(); // nobody connected yet
    const client = await Client.spawn();
    await client.connect(path);
    expect(ctx().regionFileOffer(0)).toBe(offer);
    const info = await regionInfo(client);
    expect(info.offset).toBe(OFFSET);
    expect(info.fdNames).toHaveLength(1);
    const area = (info.capabilities[0] as SparseMmapCapability).areas[0]!;
    await client.op("mapFd", { name: info.fdNames[0], as: "bar0", offset: Number(OFFSET + area.offset), size: 0x1000 });
    await client.op("memWrite", { name: "bar0", offset: 0x10, data: le32(0xfeed) });
    await until(() => u32(file, Number(OFFSET) + NIC_DOORBELL_PAGE + 0x10) === 0xfeed);
    expect(u32(ctx().regionMemory(0)!, NIC_DOORBELL_PAGE + 0x10)).toBe(0xfeed);
    const rr = await client.ok(
      { kind: "RegionReadRequest", offset: BigInt(NIC_DOORBELL_PAGE + 0x10), region: 0, count: 4 },
      "RegionReadReply",
    );
    expect(u32(rr.data)).toBe(0xfeed);
    // Withdrawn while the client is connected: it keeps what it mapped, and so does the server.
    ctx().offerRegionFile(0, undefined);
    expect(ctx().regionFileOffer(0)).toBe(offer);
    expect(u32(ctx().regionMemory(0)!, NIC_DOORBELL_PAGE + 0x10)).toBe(0xfeed);
    await client.kill();
    const next = await Client.spawn();
    await until(async () => {
      try {
        await next.connect(path);
        return true;
      } catch {
        return false;
      }
    });
    const own = await regionInfo(next);
    expect(own.offset).toBe(0n);
    expect(ctx().regionFileOffer(0)).toBeUndefined();
    expect(u32(ctx().regionMemory(0)!, NIC_DOORBELL_PAGE + 0x10)).toBe(0);
  });

  it("refuses what cannot serve the region: no shared memory, a bad fd or offset, a short file", async () => {
    const { ctx, fd } = await setup();
    const short = memfdCreate("short", 0x1000);
    fds.push(short);
    for (const [index, offer, why] of [
      [1, { fd, offset: 0n }, /no shared memory/],
      [9, { fd, offset: 0n }, /no region 9/],
      [0, { fd: -1, offset: 0n }, /bad fd/],
      [0, { fd, offset: 0x800n }, /page-aligned/],
      [0, { fd: short, offset: 0n }, /holds 4096 bytes/],
    ] as const)
      expect(() => ctx().offerRegionFile(index, offer)).toThrow(
        expect.objectContaining({ reason: "InvalidFile", message: expect.stringMatching(why) }),
      );
    expect(ctx().regionFileOffer(0)).toBeUndefined();
  });
});
