// Child processes of a test: forked with an IPC channel (a .ts script under tsx), SIGKILLed after the test and awaited,
// so no test leaves a process behind or races the next one for its sockets.
import { type ChildProcess, fork } from "node:child_process";
import { afterThisTest } from "./after-test.js";

/** SIGKILLs `proc` after the test and waits for it to exit. Returns `proc`. */
export function reapAfterTest<P extends ChildProcess>(proc: P): P {
  afterThisTest(
    () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill("SIGKILL");
      }),
  );
  return proc;
}

export interface ForkOptions {
  /** The child's working directory (where `--import tsx` is resolved from); the test process's by default. */
  readonly cwd?: string;
}

/**
 * Forks `script` (a .ts one under tsx, any other with the test process's node options) with an IPC channel using
 * advanced serialization, stdout and stderr shared with the test; killed and awaited after the test.
 */
export function forkChild(script: string, args: readonly string[] = [], options: ForkOptions = {}): ChildProcess {
  return reapAfterTest(
    fork(script, args, {
      ...(script.endsWith(".ts") ? { execArgv: ["--import", "tsx"] } : {}),
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    }),
  );
}

/** Resolves once the child sends `{ ready: true }` (it serves); rejects, naming it `name`, if it exits first. */
export function whenReady(proc: ChildProcess, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    proc.on("message", (m: { ready?: true }) => {
      if (m?.ready) resolve();
    });
    proc.on("exit", (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
  });
}
