import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { reapAfterTest } from "@emu/test-kit";

const PEER = join(import.meta.dirname, "fixtures", "peer.mjs");

export const fdCount = (): number => readdirSync("/proc/self/fd").length;

export interface Peer {
  readonly proc: ChildProcess;
  /** The next JSON line the child reports. */
  next(): Promise<Record<string, unknown>>;
  command(line: string): void;
  exited: Promise<number | null>;
}

/**
 * Spawns test/fixtures/peer.mjs; `fds` become the child's fds 3, 4, ... (killed after the test). `maxFds` runs it
 * under `ulimit -n`.
 */
export function spawnPeer(mode: string, args: string[] = [], fds: number[] = [], maxFds?: number): Peer {
  const argv = [PEER, mode, ...args];
  const [cmd, ...rest] =
    maxFds === undefined
      ? [process.execPath, ...argv]
      : ["/bin/sh", "-c", `ulimit -n ${maxFds} && exec "$0" "$@"`, process.execPath, ...argv];
  const proc = reapAfterTest(
    spawn(cmd!, rest, {
      stdio: ["pipe", "pipe", "inherit", ...fds],
      cwd: import.meta.dirname,
    }),
  );
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  createInterface({ input: proc.stdout! }).on("line", (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  });
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return {
    proc,
    next: () =>
      new Promise((resolve, reject) => {
        const l = lines.shift();
        if (l !== undefined) return resolve(JSON.parse(l));
        waiters.push((x) => resolve(JSON.parse(x)));
        exited.then((code) => reject(new Error(`peer exited (${code}) before reporting`)));
      }),
    command: (line) => proc.stdin!.write(`${line}\n`),
    exited,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Flags of an fd from /proc/self/fdinfo (octal, as the kernel prints them). */
export function fdFlags(fd: number): number {
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
  return Number.parseInt(/flags:\s*([0-7]+)/.exec(info)![1]!, 8);
}
export const O_CLOEXEC = 0o2000000;
export const O_NONBLOCK = 0o4000;
