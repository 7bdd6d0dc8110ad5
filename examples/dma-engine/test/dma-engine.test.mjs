// The DMA engine served in another process (server.mjs), driven through the vfio-user client; and the demo.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VfioUserClient } from "@emu/vfio-user-client";
import { afterEach, describe, expect, it } from "vitest";
import { DESC } from "../device.mjs";
import { openEngine } from "../driver.mjs";
import { spawnEngine } from "./engine-process.mjs";

const HERE = join(import.meta.dirname, "..");
/** @type {(() => Promise<void>)[]} */
const cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startEngine() {
  const dir = mkdtempSync(join(tmpdir(), "emu-dma-engine-"));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const socketPath = join(dir, "engine.sock");
  return { socketPath, ...(await spawnEngine(socketPath, cleanups)) };
}

async function client(socketPath) {
  const c = await VfioUserClient.connect(socketPath);
  cleanups.push(() => c.close());
  return c;
}

const pattern = (n, seed) => Uint8Array.from({ length: n }, (_, i) => (i * seed + 3) & 0xff);

describe("DMA engine", () => {
  for (const [what, srcMsg, dstMsg, ringMsg] of [
    ["fd-backed memory everywhere", false, false, false],
    ["message-based memory everywhere (DMA_READ/DMA_WRITE)", true, true, true],
    ["fd-backed source, message-based destination", false, true, false],
  ]) {
    it(`copies and interrupts: ${what}`, async () => {
      const { socketPath } = await startEngine();
      const c = await client(socketPath);
      const engine = await openEngine(c, { messageBased: ringMsg });
      const src = await c.dmaMap(0x100000n, 0x40000n, { messageBased: srcMsg });
      const dst = await c.dmaMap(0x200000n, 0x40000n, { messageBased: dstMsg });
      src.bytes.set(pattern(0x40000, 13));
      // 32 copies in flight through a 64-entry ring, 8 KiB each.
      const statuses = await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          engine.copy(0x100000n + BigInt(i * 0x2000), 0x200000n + BigInt(i * 0x2000), 0x2000),
        ),
      );
      expect(statuses.every((s) => s === DESC.DONE)).toBe(true);
      expect(Buffer.from(dst.bytes).equals(Buffer.from(src.bytes))).toBe(true);
      expect(engine.interrupts).toBeGreaterThanOrEqual(1);
      expect(await engine.registers()).toEqual({ completed: 32, errors: 0, head: 32 });
      expect(engine.status()).toEqual({ completed: 32, errors: 0, head: 32, mapped: true });
      await engine.close();
    });
  }

  it("fails a descriptor that names memory the driver did not map, and goes on", async () => {
    const { socketPath } = await startEngine();
    const c = await client(socketPath);
    const engine = await openEngine(c);
    const buf = await c.dmaMap(0x100000n, 0x1000n);
    buf.bytes.fill(9, 0, 16);
    expect(await engine.copy(0x900000n, 0x100000n, 16)).toBe(DESC.FAILED);
    expect(await engine.copy(0x100000n, 0x100800n, 16)).toBe(DESC.DONE);
    expect([...buf.bytes.subarray(0x800, 0x810)]).toEqual(new Array(16).fill(9));
    expect(await engine.registers()).toMatchObject({ completed: 1, errors: 1 });
  });

  it("a second driver after the first disconnected reprograms it from scratch", async () => {
    const { socketPath } = await startEngine();
    const a = await client(socketPath);
    const e1 = await openEngine(a);
    await a.dmaMap(0x100000n, 0x1000n);
    expect(await e1.copy(0x100000n, 0x100100n, 4)).toBe(DESC.DONE);
    await a.close();
    const b = await client(socketPath);
    await b.reset();
    const e2 = await openEngine(b);
    await b.dmaMap(0x100000n, 0x1000n);
    expect(await e2.copy(0x100000n, 0x100100n, 4)).toBe(DESC.DONE);
    expect(await e2.registers()).toEqual({ completed: 1, errors: 0, head: 1 });
  });
});

describe("demo.mjs", () => {
  it("runs end to end, exits 0 and leaves nothing behind", () => {
    const r = spawnSync(process.execPath, [join(HERE, "demo.mjs")], { encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("destination matches the source (65536 bytes compared)");
    expect(r.stdout).toContain("00:00.0 System peripheral: Device 1234:11ec (rev 01)");
    expect(r.stdout.trimEnd().endsWith("demo: OK")).toBe(true);
    const socket = /server listening on (\S+)/.exec(r.stdout)?.[1];
    expect(socket).toBeDefined();
    expect(existsSync(join(socket, ".."))).toBe(false); // the temporary directory is gone
    const pid = /server pid (\d+)/.exec(r.stdout)?.[1];
    expect(spawnSync("kill", ["-0", String(pid)]).status).not.toBe(0); // the server process is gone
  });
});
