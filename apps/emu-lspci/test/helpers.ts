import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { forkChild, tempDir, whenReady } from "@emu/test-kit";

const APP_DIR = join(import.meta.dirname, "..");
const FIXTURES = join(import.meta.dirname, "fixtures");
/** The vfio-user client's test fixtures: its test device and its scripted (libvfio-user-like) peer. */
export const CLIENT_FIXTURES = join(APP_DIR, "..", "..", "packages", "vfio-user-client", "test", "fixtures");

/** Runs a device-server script under tsx in a child process (killed after the test); resolves once it serves. */
export async function forkFixture(script: string, args: string[]): Promise<ChildProcess> {
  const proc = forkChild(script.includes("/") ? script : join(FIXTURES, script), args, { cwd: APP_DIR });
  await whenReady(proc, script);
  return proc;
}

/** The client's test device served in another process on a fresh socket. */
export async function startDevice(): Promise<{ readonly socketPath: string }> {
  const socketPath = join(tempDir(), "dev.sock");
  await forkFixture(join(CLIENT_FIXTURES, "device-server.ts"), [socketPath, "{}"]);
  return { socketPath };
}
