#!/usr/bin/env node
// @ts-check
// emu's demo (pnpm demo): a DMA engine served over vfio-user in one process, driven from another.
//
//   1. starts server.mjs (beside this file) on a socket in a fresh temporary directory (a separate process);
//   2. connects a vfio-user client from this process and prints the device as lspci -vv would;
//   3. maps guest memory two ways (a memfd the server maps, and memory it can only reach with DMA_READ/DMA_WRITE
//      messages), asks the engine to copy between them, waits for the MSI-X completion interrupt, checks the bytes;
//   4. stops the server, removes the directory, exits 0 (1 on any failure, with the reason).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { formatLspci, readDeviceReport } from "@emu/app-emu-lspci";
import { VfioUserClient } from "@emu/vfio-user-client";
import { openEngine } from "./driver.mjs";

const dir = mkdtempSync(join(tmpdir(), "emu-demo-"));
const socketPath = join(dir, "dma-engine.sock");
const say = (/** @type {string} */ s) => process.stdout.write(`${s}\n`);

const server = spawn(process.execPath, [join(import.meta.dirname, "server.mjs"), socketPath], {
  stdio: ["ignore", "pipe", "inherit"],
});
const serverExit = new Promise((resolve) => server.once("exit", (code, signal) => resolve(signal ?? code)));
/** @type {VfioUserClient | undefined} */
let client;

async function main() {
  say(
    `emu demo: a DMA engine served over vfio-user (server pid ${server.pid}), driven from this process (pid ${process.pid})`,
  );
  await new Promise((resolve, reject) => {
    const lines = createInterface({ input: /** @type {import("node:stream").Readable} */ (server.stdout) });
    lines.once("line", resolve);
    server.once("exit", (code) => reject(new Error(`the server exited (${code}) before listening`)));
  });
  say(`server listening on ${socketPath}\n`);

  const c = await VfioUserClient.connect(socketPath);
  client = c;
  const n = c.negotiated;
  say(
    `connected: vfio-user ${n.major}.${n.minor}, server max_data_xfer_size ${n.server.maxDataXferSize}, max_msg_fds ${n.server.maxMsgFds}\n`,
  );
  say("--- the device, as emu-lspci -vv prints it ---");
  process.stdout.write(formatLspci(await readDeviceReport(c), { verbose: 2 }));

  let dmaMessages = 0;
  c.on("dma", () => dmaMessages++);
  const engine = await openEngine(c, { ringIova: 0x1000_0000n });
  say("--- DMA and an interrupt, end to end ---");
  say("descriptor ring: 4 KiB at IOVA 0x10000000 (a memfd the server maps: the device reads it directly)");

  const SIZE = 64 * 1024;
  const src = await c.dmaMap(0x2000_0000n, BigInt(SIZE)); // fd-backed
  const dst = await c.dmaMap(0x3000_0000n, BigInt(SIZE), { messageBased: true }); // reachable only by messages
  for (let i = 0; i < SIZE; i++) src.bytes[i] = (i * 31 + 7) & 0xff;
  say(`source:      ${SIZE / 1024} KiB at IOVA 0x20000000, fd-backed (shared memory), filled with a pattern`);
  say(`destination: ${SIZE / 1024} KiB at IOVA 0x30000000, message-based (the server must use DMA_WRITE messages)`);

  const t0 = performance.now();
  const status = await engine.copy(0x2000_0000n, 0x3000_0000n, SIZE);
  const ms = (performance.now() - t0).toFixed(1);
  const same = Buffer.from(dst.bytes).equals(Buffer.from(src.bytes));
  say(
    `copy: descriptor status ${status === 1 ? "DONE" : `FAILED (${status})`} after ${ms} ms; MSI-X interrupts received: ${engine.interrupts}`,
  );
  say(`server DMA_WRITE/DMA_READ messages served by this client: ${dmaMessages}`);
  say(`destination ${same ? "matches" : "DOES NOT match"} the source (${SIZE} bytes compared)`);

  const bad = await engine.copy(0x7000_0000n, 0x3000_0000n, 16); // nothing mapped at 0x70000000
  say(`a copy from unmapped IOVA 0x70000000: descriptor status ${bad === 2 ? "FAILED, as it should" : bad}`);
  const regs = await engine.registers();
  const page = engine.status();
  say(`registers (REGION_READ): completed ${regs.completed}, errors ${regs.errors}, head ${regs.head}`);
  if (page)
    say(
      `status page (mmapped sparse area, no message): completed ${page.completed}, errors ${page.errors}, head ${page.head}`,
    );
  await engine.close();
  if (!(status === 1 && same && engine.interrupts >= 2 && bad === 2 && regs.completed === 1 && regs.errors === 1))
    throw new Error("the engine did not do what it should");
}

let code = 0;
const watchdog = setTimeout(() => {
  say("demo: timed out");
  server.kill("SIGKILL");
  process.exit(1);
}, 30_000);
try {
  await main();
  say("\ndemo: OK");
} catch (e) {
  say(`\ndemo: FAILED: ${e instanceof Error ? e.message : String(e)}`);
  code = 1;
} finally {
  await client?.close();
  server.kill("SIGTERM");
  await serverExit;
  rmSync(dir, { recursive: true, force: true });
  clearTimeout(watchdog);
}
process.exit(code);
