// Test helper: serves the engine (server.mjs) in a process of its own on `socketPath`, resolving once it listens.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

const HERE = join(import.meta.dirname, "..");

/**
 * @param {string} socketPath
 * @param {(() => Promise<void>)[]} cleanups the test's cleanup list: killing the process is pushed onto it
 */
export async function spawnEngine(socketPath, cleanups) {
  const proc = spawn(process.execPath, [join(HERE, "server.mjs"), socketPath], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  cleanups.push(async () => {
    proc.kill("SIGKILL");
    await exited;
  });
  await new Promise((resolve, reject) => {
    createInterface({ input: /** @type {any} */ (proc.stdout) }).once("line", resolve);
    proc.once("exit", () => reject(new Error("server.mjs exited")));
  });
  return { proc, exited };
}
