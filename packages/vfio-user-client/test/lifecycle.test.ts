// Twin socket, lost connections, a client killed and a new one connecting, fd counts over many cycles, and DMA memory
// a server cannot shrink.
import { closeFd, ftruncate } from "@emu/sys";
import { until } from "@emu/test-kit";
import { isVfioUserClientError, type VfioUserClientError } from "@emu/vfio-user-client";
import { PciIrq, PciRegion } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { connect, fdCount, forkFixture, startDevice } from "./helpers.js";

describe("twin socket", () => {
  it("server commands travel on the twin socket when it is negotiated", async () => {
    const dev = await startDevice();
    const c = await connect(dev.socketPath, { twinSocket: true });
    expect(c.negotiated.twinSocket).toBe(true);
    expect(c.negotiated.serverCapabilities.twinSocket).toEqual({ supported: true, fdIndex: 0 });
    const twins: boolean[] = [];
    c.on("dma", (a) => twins.push(a.twin));
    const buf = await c.dmaMap(0x10000n, 0x2000n, { messageBased: true });
    buf.bytes.set([5, 6, 7], 0x1000);
    expect([...(await dev.call<Uint8Array>("dmaRead", { iova: 0x11000n, length: 3 }))]).toEqual([5, 6, 7]);
    await dev.call("dmaWrite", { iova: 0x10000n, data: Uint8Array.of(42) });
    expect(buf.bytes[0]).toBe(42);
    expect(twins).toEqual([true, true]);
    // Requests and their replies still use the main socket, interleaved with the DMA traffic.
    const [r] = await Promise.all([
      c.regionRead(PciRegion.CONFIG, 0n, 2),
      dev.call("dmaRead", { iova: 0x10000n, length: 1 }),
    ]);
    expect([...r]).toEqual([0x34, 0x12]);
  });

  it("without it, server commands interleave with replies on the main socket", async () => {
    const dev = await startDevice();
    const c = await connect(dev.socketPath);
    const twins: boolean[] = [];
    c.on("dma", (a) => twins.push(a.twin));
    await c.dmaMap(0x10000n, 0x1000n, { messageBased: true });
    const reads = Array.from({ length: 50 }, (_, i) => c.regionRead(2, BigInt(4 * i), 4));
    const dmas = Array.from({ length: 50 }, (_, i) =>
      dev.call("dmaWrite", { iova: 0x10000n + BigInt(i), data: Uint8Array.of(i) }),
    );
    await Promise.all([...reads, ...dmas]);
    expect(twins).toHaveLength(50);
    expect(twins.every((t) => !t)).toBe(true);
  });
});

describe("connection loss", () => {
  it("a server that dies fails every pending request and emits disconnected", async () => {
    const dev = await startDevice({ asyncBar2: true });
    const c = await connect(dev.socketPath);
    const events: VfioUserClientError[] = [];
    c.on("disconnected", (e) => events.push(e));
    const pending = Array.from({ length: 64 }, () => c.regionRead(2, 0n, 4).catch((e: unknown) => e));
    dev.proc.kill("SIGKILL");
    const results = await Promise.all(pending);
    const failed = results.filter((r) => isVfioUserClientError(r)) as VfioUserClientError[];
    // Some may have been answered before the kill; the rest fail, all with the same tagged error.
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(f.reason).toBe("Disconnected");
    await until(() => events.length === 1, 5000, "disconnected event");
    expect(c.connected).toBe(false);
    await expect(c.getInfo()).rejects.toMatchObject({ reason: "Disconnected" });
  });

  it("close() fails pending requests with Closed and is idempotent", async () => {
    const dev = await startDevice({ asyncBar2: true });
    const c = await connect(dev.socketPath);
    const p = c.regionRead(2, 0n, 4).catch((e: unknown) => e);
    await c.close();
    await c.close();
    expect(await p).toMatchObject({ reason: "Closed" });
    await expect(c.regionRead(2, 0n, 4)).rejects.toMatchObject({ reason: "Closed" });
  });

  it("a new client after the first one was killed: state kept, DMA maps and eventfds dropped", async () => {
    const dev = await startDevice();
    const child = await forkFixture("client-child.ts", [dev.socketPath]);
    expect((await dev.call<{ iova: bigint }[]>("dmaRegions")).map((r) => r.iova)).toEqual([0x100000n, 0x200000n]);
    child.proc.kill("SIGKILL");
    await child.exited;
    await dev.call("waitDisconnected");
    expect(await dev.call("dmaRegions")).toEqual([]);
    expect(await dev.call("trigger", { vector: 0, index: PciIrq.INTX })).toBe("dropped");
    const c = await connect(dev.socketPath);
    expect([...(await c.regionRead(2, 0x20n, 4))]).toEqual([0xca, 0xfe, 0xba, 0xbe]); // device state kept
    const buf = await c.dmaMap(0x100000n, 0x1000n); // the same IOVA maps again
    buf.bytes.set([9]);
    expect([...(await dev.call<Uint8Array>("dmaRead", { iova: 0x100000n, length: 1 }))]).toEqual([9]);
    const fired: number[] = [];
    await c.enableIrqs(PciIrq.INTX, 0, 1, (v) => fired.push(v));
    await dev.call("trigger", { vector: 0, index: PciIrq.INTX });
    await until(() => fired.length === 1, 5000, "INTx after reconnect");
    const log = await dev.call<{ connects: number; disconnects: number }>("log");
    expect([log.connects, log.disconnects]).toEqual([2, 1]);
  });
});

describe("resources", () => {
  it("fd counts are back where they started after 100 connect/use/close cycles (both processes)", async () => {
    const dev = await startDevice();
    const cycle = async (): Promise<void> => {
      const c = await connect(dev.socketPath, { twinSocket: true });
      const map = await c.mapRegion(0); // region fd + mapping
      map.areas[0]!.bytes[0] = 1;
      for (const fd of (await c.getRegionIoFds(0)).fds) closeFd(fd);
      await c.enableIrqs(PciIrq.INTX, 0, 1, () => undefined);
      const a = await c.dmaMap(0x100000n, 0x1000n);
      await c.dmaMap(0x200000n, 0x1000n, { messageBased: true });
      a.bytes[0] = 1;
      await dev.call("dmaRead", { iova: 0x200000n, length: 8 });
      await c.dmaUnmap(0x100000n, 0x1000n);
      await c.close();
      await dev.call("waitDisconnected");
    };
    await cycle(); // warm up lazily opened things (module loading, the first poller)
    await new Promise((r) => setTimeout(r, 50));
    const ours = fdCount();
    const theirs = await dev.call<number>("fdCount");
    for (let i = 0; i < 100; i++) await cycle();
    await new Promise((r) => setTimeout(r, 50));
    expect(fdCount()).toBe(ours);
    expect(await dev.call<number>("fdCount")).toBe(theirs);
  });
});

// The client's own DMA memory is a memfd it hands the server (DMA_MAP). A server that shrank it would turn the client's
// next touch of the lost pages into a SIGBUS: the file is size-sealed, for every holder of the fd.
describe("DMA memory a server cannot resize", () => {
  it("truncating or growing the DMA memfd is refused with EPERM, and the memory stays in use on both sides", async () => {
    const dev = await startDevice();
    const c = await connect(dev.socketPath);
    const buf = await c.dmaMap(0x100000n, 0x2000n);
    expect(() => ftruncate(buf.file!.fd, 0)).toThrow(expect.objectContaining({ code: "EPERM" }));
    expect(() => ftruncate(buf.file!.fd, 0x1000)).toThrow(expect.objectContaining({ code: "EPERM" }));
    expect(() => ftruncate(buf.file!.fd, 0x4000)).toThrow(expect.objectContaining({ code: "EPERM" }));
    buf.bytes.set([7], 0x1fff); // the last page is still there
    expect([...(await dev.call<Uint8Array>("dmaRead", { iova: 0x101fffn, length: 1 }))]).toEqual([7]);
    await c.close();
  });
});
