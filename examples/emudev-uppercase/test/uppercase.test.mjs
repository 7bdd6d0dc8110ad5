// The example served in a process of its own (serve.mjs), driven through the vfio-user client as a guest would:
// the driver's registers, the provider's work in guest memory, its interrupt, and what it refuses.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { enableMsix, RegionIo } from "@emu/vfio-device";
import { VfioUserClient } from "@emu/vfio-user-client";
import { PciIrq } from "@emu/vfio-user-proto";
import { afterEach, describe, expect, it } from "vitest";
import { DESC, DOORBELL, ID_VALUE, REG } from "../driver.mjs";

/** @type {(() => Promise<void>)[]} */
const cleanups = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(extra = "") {
  const dir = mkdtempSync(join(tmpdir(), "emu-upper-"));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const sock = join(dir, "upper.sock");
  const proc = spawn(process.execPath, [join(import.meta.dirname, "..", "serve.mjs"), `upper0,sock=${sock}${extra}`], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  cleanups.push(async () => {
    proc.kill("SIGKILL");
    await exited;
  });
  const lines = createInterface({ input: /** @type {any} */ (proc.stdout) });
  /** @type {string[]} */
  const seen = [];
  lines.on("line", (l) => seen.push(l));
  await new Promise((resolve, reject) => {
    lines.once("line", resolve);
    proc.once("exit", () => reject(new Error("serve.mjs exited")));
  });
  const c = await VfioUserClient.connect(sock);
  cleanups.push(() => c.close());
  return { c, seen };
}

/** The guest's side: ring at 0x10000 (4 descriptors), data at 0x20000, MSI-X vector 0 counted. */
async function bringUp(c) {
  const bar0 = await RegionIo.open(c, 0);
  expect(await bar0.read32(BigInt(REG.ID))).toBe(ID_VALUE);
  const ring = await c.dmaMap(0x10000n, 0x1000n);
  const data = await c.dmaMap(0x20000n, 0x1000n);
  let interrupts = 0;
  await enableMsix(c);
  await c.enableIrqs(PciIrq.MSIX, 0, 1, () => void interrupts++);
  await bar0.write32(BigInt(REG.BASE_LO), 0x10000);
  await bar0.write32(BigInt(REG.BASE_HI), 0);
  await bar0.write32(BigInt(REG.SIZE), 4);
  await bar0.write32(BigInt(REG.ENABLE), 1);
  const doorbell = bar0.areas.find((a) => a.offset === BigInt(DOORBELL.offset));
  expect(doorbell).toBeDefined(); // the tail is a plain store into the mmapped page
  const rv = new DataView(ring.bytes.buffer, ring.bytes.byteOffset, ring.bytes.byteLength);
  let tail = 0;
  return {
    data,
    interrupts: () => interrupts,
    /** Posts one descriptor and rings the doorbell; resolves with its status once the device wrote it. */
    async submit(addr, len) {
      const d = (tail % 4) * DESC.size;
      rv.setBigUint64(d + DESC.ADDR, addr, true);
      rv.setUint32(d + DESC.LEN, len, true);
      rv.setUint32(d + DESC.STATUS, 0, true);
      tail++;
      new DataView(doorbell.bytes.buffer, doorbell.bytes.byteOffset).setUint32(0, tail % 4, true);
      const until = Date.now() + 5000;
      while (rv.getUint32(d + DESC.STATUS, true) === 0) {
        if (Date.now() > until) throw new Error("the device did not complete the descriptor");
        await new Promise((r) => setTimeout(r, 2));
      }
      return rv.getUint32(d + DESC.STATUS, true);
    },
  };
}

describe("emudev example: the upper driver with the upper-sw provider", () => {
  it("upper-cases guest memory in place, interrupts, and reports the queue the guest enabled", async () => {
    const { c, seen } = await serve();
    const g = await bringUp(c);
    const text = new TextEncoder().encode("hello, emudev! 123");
    g.data.bytes.set(text, 0x100);
    expect(await g.submit(0x20100n, text.length)).toBe(DESC.DONE);
    expect(new TextDecoder().decode(g.data.bytes.subarray(0x100, 0x100 + text.length))).toBe("HELLO, EMUDEV! 123");
    expect(g.data.bytes[0x100 + text.length]).toBe(0); // not a byte past the buffer
    await expect.poll(() => g.interrupts()).toBeGreaterThanOrEqual(1);
    expect(seen).toContain("queue 0 enabled");
  });

  it("fails a descriptor outside guest memory without touching anything, and keeps serving", async () => {
    const { c } = await serve();
    const g = await bringUp(c);
    expect(await g.submit(0x90000n, 16)).toBe(DESC.FAILED); // not mapped
    expect(await g.submit(0x20ff0n, 0x20)).toBe(DESC.FAILED); // runs past the end of the mapping
    g.data.bytes.set([0x61, 0x62], 0);
    expect(await g.submit(0x20000n, 2)).toBe(DESC.DONE);
    expect([...g.data.bytes.subarray(0, 2)]).toEqual([0x41, 0x42]);
  });

  it("refuses bad devargs with a message naming the key", async () => {
    const proc = spawn(process.execPath, [join(import.meta.dirname, "..", "serve.mjs"), "upper0,sock=/x,ring=0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    proc.stderr.on("data", (b) => (err += b));
    const code = await new Promise((resolve) => proc.once("exit", resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/bad value "0" for key "ring"/);
  });
});
