import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

const APP_DIR = join(import.meta.dirname, "..");
const FIXTURES = join(import.meta.dirname, "fixtures");
/** The vfio-user client's test fixtures: its test device and its scripted (libvfio-user-like) peer. */
export const CLIENT_FIXTURES = join(APP_DIR, "..", "..", "packages", "vfio-user-client", "test", "fixtures");
const children = new Set<ChildProcess>();
const dirs: string[] = [];

afterEach(async () => {
  const exits = [...children].map(
    (c) =>
      new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) return resolve();
        c.once("exit", () => resolve());
        c.kill("SIGKILL");
      }),
  );
  await Promise.all(exits);
  children.clear();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the test. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "emu-lspci-"));
  dirs.push(d);
  return d;
}

/** Runs a device-server script under tsx in a child process (killed after the test); resolves once it serves. */
export function forkFixture(script: string, args: string[]): Promise<ChildProcess> {
  const path = script.includes("/") ? script : join(FIXTURES, script);
  const proc = fork(path, args, {
    execArgv: ["--import", "tsx"],
    serialization: "advanced",
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    cwd: APP_DIR,
  });
  children.add(proc);
  return new Promise((resolve, reject) => {
    proc.on("message", (m: { ready?: true }) => {
      if (m.ready) resolve(proc);
    });
    proc.on("exit", (code) => reject(new Error(`${script} exited (${code}) before it was ready`)));
  });
}

/** The client's test device served in another process on a fresh socket. */
export async function startDevice(): Promise<{ readonly socketPath: string }> {
  const socketPath = join(tempDir(), "dev.sock");
  await forkFixture(join(CLIENT_FIXTURES, "device-server.ts"), [socketPath, "{}"]);
  return { socketPath };
}
