// The driver's pieces on their own, over a real vfio-user client to emu_iavf: the DMA pool, the admin queue's
// refusals, and what the raw mailbox gives back when the PF refuses or stays silent.
import { AdminQueue, DmaPool, isIavfClientError, Mailbox } from "@emu/iavf-client";
import { AqFlag, VirtchnlOp, VirtchnlStatus } from "@emu/iavf-common";
import { afterThisTest } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { serveIavf } from "./fixtures/device.js";
import { le, rawSession } from "./fixtures/raw.js";

const reason = (e: unknown) => (isIavfClientError(e) ? e.reason : String(e));

describe("DmaPool", () => {
  it("carves aligned, zeroed pieces out of DMA-mapped chunks, coalesces frees and unmaps on close", async () => {
    const served = await serveIavf({ queues: 1 });
    const client = await served.connect();
    const pool = new DmaPool(client, { iovaBase: 0x8000_0000n, chunkSize: 0x10000 });
    afterThisTest(() => pool.close());
    const a = await pool.alloc(100, 64);
    const b = await pool.alloc(4096);
    expect(a.iova).toBe(0x8000_0000n);
    expect(b.iova % 4096n).toBe(0n);
    expect(b.iova).toBeGreaterThanOrEqual(a.iova + 100n);
    b.bytes.fill(0xaa);
    pool.free(b);
    const b2 = await pool.alloc(4096);
    expect(b2.iova).toBe(b.iova);
    expect(b2.bytes.every((x) => x === 0)).toBe(true); // zeroed again
    const big = await pool.alloc(0x30000); // larger than a chunk: a mapping of its own
    expect(big.size).toBe(0x30000);
    expect(client.dmaBuffers().length).toBe(2);
    expect(pool.mappedBytes).toBe(0x10000 + 0x30000);
    expect(() => pool.free(b2)).not.toThrow();
    expect(() => pool.free(b2)).toThrow(/already free/);
    expect(() => pool.free({ ...a, iova: 0x1234_0000n })).toThrow(/did not give/);
    await expect(pool.alloc(0)).rejects.toMatchObject({ reason: "InvalidArgument" });
    await expect(pool.alloc(64, 3)).rejects.toMatchObject({ reason: "InvalidArgument" });
    await pool.close();
    expect(client.dmaBuffers()).toEqual([]);
    await expect(pool.alloc(64)).rejects.toMatchObject({ reason: "Closed" });
  });

  it("refuses a bad IOVA base or chunk size", async () => {
    const served = await serveIavf({ queues: 1 });
    const client = await served.connect();
    expect(reason(catching(() => new DmaPool(client, { iovaBase: 0x123n })))).toBe("InvalidArgument");
    expect(reason(catching(() => new DmaPool(client, { chunkSize: 1000 })))).toBe("InvalidArgument");
  });
});

describe("AdminQueue and Mailbox", () => {
  it("refuses bad ring sizes and messages larger than a buffer; nothing is posted before setup", async () => {
    const served = await serveIavf({ queues: 1 });
    const client = await served.connect();
    const { bar, pool, adminq } = await rawSession(client);
    await expect(AdminQueue.create(bar, pool, { atqLength: 1 })).rejects.toMatchObject({ reason: "InvalidArgument" });
    await expect(AdminQueue.create(bar, pool, { arqLength: 1024 })).rejects.toMatchObject({
      reason: "InvalidArgument",
    });
    await expect(adminq.post({ opcode: 0x0801, flags: AqFlag.SI })).rejects.toMatchObject({ reason: "Closed" });
    await adminq.setup();
    await expect(adminq.post({ opcode: 0x0801, flags: 0 }, new Uint8Array(4097))).rejects.toMatchObject({
      reason: "InvalidArgument",
    });
  });

  it("gives back the PF's refusal as a status (call) or a Status error (request)", async () => {
    const served = await serveIavf({ queues: 1 });
    const client = await served.connect();
    const { adminq, mailbox } = await rawSession(client);
    await adminq.setup();
    const r = await mailbox.call(VirtchnlOp.VERSION, le().u32(1).u32(1).bytes());
    expect(r.status).toBe(0);
    // GET_STATS of 3 bytes: a length no PF accepts
    const bad = await mailbox.call(VirtchnlOp.GET_STATS, new Uint8Array(3));
    expect(bad.status).toBe(VirtchnlStatus.ERR_OPCODE_MISMATCH);
    const err = await mailbox.request(VirtchnlOp.GET_STATS, new Uint8Array(3)).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "Status", status: VirtchnlStatus.ERR_OPCODE_MISMATCH, opcode: 15 });
    expect((err as Error).message).toMatch(/GET_STATS: the PF answered ERR_OPCODE_MISMATCH/);
    const unknown = await mailbox.call(200, new Uint8Array(8));
    expect(unknown.status).toBe(VirtchnlStatus.ERR_NOT_SUPPORTED);
  });

  it("times out on a request with no reply, and a closed mailbox refuses", async () => {
    const served = await serveIavf({ queues: 1 });
    const client = await served.connect();
    const { adminq } = await rawSession(client);
    await adminq.setup();
    const mailbox = new Mailbox(adminq, { replyTimeoutMs: 150 });
    // RESET_VF is never answered
    await expect(mailbox.call(VirtchnlOp.RESET_VF)).rejects.toMatchObject({ reason: "Timeout", opcode: 2 });
    mailbox.close();
    await expect(mailbox.call(VirtchnlOp.VERSION, new Uint8Array(8))).rejects.toMatchObject({ reason: "Closed" });
    await expect(mailbox.next(() => true, 50)).rejects.toMatchObject({ reason: "Timeout" });
  });
});

function catching(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}
