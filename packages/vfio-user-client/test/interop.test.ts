// What other servers do that ours does not, from a scripted peer in another process that answers with frames
// captured from libvfio-user (test/fixtures/libvfio-user-replies.json).
import { join } from "node:path";
import { tempDir, until } from "@emu/test-kit";
import { VfioUserClient, type VfioUserClientError } from "@emu/vfio-user-client";
import { Command, PciRegion } from "@emu/vfio-user-proto";
import { describe, expect, it } from "vitest";
import { connect, forkFixture } from "./helpers.js";

async function scripted(mode: string) {
  const socketPath = join(tempDir(), "peer.sock");
  const child = await forkFixture("scripted-server.ts", [socketPath, mode]);
  return { ...child, socketPath };
}

async function refusal(p: Promise<unknown>): Promise<VfioUserClientError> {
  return p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: VfioUserClientError) => e,
  );
}

describe("a libvfio-user server (captured replies)", () => {
  it("accepts its VERSION reply: json-c spacing, the legacy migration capability, minor min(ours, 2)", async () => {
    const peer = await scripted("libvfio-user");
    const c = await connect(peer.socketPath);
    expect([c.negotiated.major, c.negotiated.minor]).toEqual([0, 2]);
    expect(c.negotiated.serverJson).toContain('"capabilities": {');
    expect(c.negotiated.server).toMatchObject({ maxMsgFds: 8, maxDataXferSize: 1048576, writeMultiple: false });
    expect(c.negotiated.serverCapabilities.migration).toEqual({ pgsize: 4096 });
    expect(c.negotiated.writeMultiple).toBe(false);
  });

  it("retries GET_REGION_INFO after the truncated reply and maps the sparse areas from the fd", async () => {
    const peer = await scripted("libvfio-user");
    const c = await connect(peer.socketPath);
    const info = await c.getRegionInfo(1);
    expect(info).toMatchObject({
      size: 0x4000n,
      mmappable: true,
      sparseAreas: [
        { offset: 0n, size: 0x1000n },
        { offset: 0x2000n, size: 0x1000n },
      ],
    });
    const map = await c.mapRegion(1);
    expect(map.areas.map((a) => a.bytes.length)).toEqual([0x1000, 0x1000]);
  });

  it("takes error replies that carry a payload", async () => {
    const peer = await scripted("libvfio-user");
    const c = await connect(peer.socketPath);
    const e = await refusal(c.regionWrite(PciRegion.CONFIG, 0n, Uint8Array.of(1, 2, 3, 4)));
    expect([e.reason, e.code, e.command, e.payload?.length]).toEqual([
      "ErrorReply",
      "EINVAL",
      Command.REGION_WRITE,
      16,
    ]);
    const f = await refusal(c.setMigrationState(0));
    expect([f.reason, f.code, f.payload?.length]).toEqual(["ErrorReply", "EINVAL", 16]);
    expect((await c.getInfo()).numRegions).toBe(9); // the stream is still in step
  });

  it("trusts MIG_DATA_READ's size, not the padded message length", async () => {
    const peer = await scripted("libvfio-user");
    const c = await connect(peer.socketPath);
    expect((await c.readMigrationData(64)).length).toBe(64);
    expect((await c.readMigrationData(32)).length).toBe(0); // argsz 8, size 0, 64 bytes of padding
  });

  it("serves DMA_WRITE / DMA_READ interleaved with replies on the main socket, EFAULT outside its memory", async () => {
    const peer = await scripted("libvfio-user");
    const c = await connect(peer.socketPath);
    const buf = await c.dmaMap(0n, 0x1000n, { messageBased: true });
    const data = await c.regionRead(2, 0n, 4);
    expect([...data]).toEqual([0x5a, 0x5a, 0x5a, 0x5a]);
    expect(buf.bytes.subarray(0, 1024).every((b) => b === 0x41)).toBe(true); // the captured DMA_WRITE: 1024 × 'A'
    await until(() => peer.events.length === 3, 5000, "three DMA replies");
    const replies = peer.events.map((e) => e.reply as Record<string, unknown>);
    expect(replies[0]).toMatchObject({ command: Command.DMA_WRITE, error: 0, size: 32, kind: "DmaWriteReply" });
    expect(replies[1]).toMatchObject({
      command: Command.DMA_READ,
      error: 0,
      size: 16 + 16 + 1024,
      kind: "DmaReadReply",
    });
    expect([...(replies[1]!.data as Uint8Array)]).toEqual(new Array(8).fill(0x41));
    expect(replies[2]).toMatchObject({ command: Command.DMA_READ, error: 14, size: 16, kind: "ErrorReply" }); // EFAULT
  });
});

describe("VERSION replies the client must refuse", () => {
  for (const [mode, what] of [
    ["minor3", "minor version 3"],
    ["twin-no-fd", "twin_socket"],
    ["extra-caps", "write_multiple"],
  ] as const) {
    it(`${mode}: a Negotiation error naming ${what}, socket closed`, async () => {
      const peer = await scripted(mode);
      const e = await refusal(
        VfioUserClient.connect(peer.socketPath, { writeMultiple: mode !== "extra-caps", twinSocket: false }),
      );
      expect(e.reason).toBe("Negotiation");
      expect(e.message).toContain(what);
    });
  }

  it("no reply at all: Negotiation error after the timeout", async () => {
    const peer = await scripted("no-version");
    const e = await refusal(VfioUserClient.connect(peer.socketPath, { negotiationTimeoutMs: 200 }));
    expect([e.reason, e.message]).toEqual(["Negotiation", "no VERSION reply within 200 ms"]);
  });
});

describe("a server hanging up mid-request", () => {
  it("fails the request with Disconnected and emits disconnected", async () => {
    const peer = await scripted("hangup");
    const c = await connect(peer.socketPath);
    const lost: VfioUserClientError[] = [];
    c.on("disconnected", (e) => lost.push(e));
    const e = await refusal(c.getInfo());
    expect(e.reason).toBe("Disconnected");
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBe(e);
  });
});
