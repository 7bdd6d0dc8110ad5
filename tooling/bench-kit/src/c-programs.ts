// The C side of the benchmarks: the raw C ping-pong every figure is compared with (c/pingpong.c, the @emu/sys
// benchmark's baseline), other C programs built the same way, and running them pinned with taskset.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { basename, join } from "node:path";

/** The raw C ping-pong: `pingpong sock|sock-epoll|evfd|evfd-epoll ...` (usage in the file). */
export const PINGPONG_C = join(import.meta.dirname, "..", "c", "pingpong.c");

/** True when `taskset` can pin here (the benchmarks then pin; without it they say they did not). */
export const hasTaskset = spawnSync("taskset", ["-c", "0", "true"]).status === 0;

/** Compiles one C file with `cc -O2` into `dir` (a temporary directory of the run); returns the binary's path. */
export function buildC(source: string, dir: string): string {
  const out = join(dir, basename(source, ".c"));
  execFileSync("cc", ["-O2", "-Wall", "-Wextra", "-o", out, source], { stdio: "inherit" });
  return out;
}

/** `cmd args` pinned to `cpu` with taskset (when there is taskset and a CPU). */
export function pinned(cpu: number | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  return hasTaskset && cpu !== undefined ? ["taskset", ["-c", String(cpu), cmd, ...args]] : [cmd, [...args]];
}

/** Runs a program that prints one JSON line (the last line starting with "{"), resolves with it; rejects on failure. */
export function runJson<T>(cmd: string, args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .pop();
      if (code === 0 && line !== undefined) resolve(JSON.parse(line) as T);
      else reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}: ${out}`));
    });
  });
}
