// The benchmarks' child processes: a script of this directory under tsx, killed when the benchmark exits.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

const HERE = import.meta.dirname;
const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

export function tsx(script: string, args: string[], stdio: ("ignore" | "inherit" | "pipe" | number)[]): ChildProcess {
  const c = spawn(process.execPath, ["--import", "tsx", join(HERE, script), ...args], { stdio, cwd: join(HERE, "..") });
  children.add(c);
  c.on("exit", () => children.delete(c));
  return c;
}

/** Resolves once the child printed its first line ("ready"). */
export async function ready(c: ChildProcess): Promise<ChildProcess> {
  const lines = createInterface({ input: c.stdout as NodeJS.ReadableStream });
  await new Promise<void>((resolve) => lines.once("line", () => resolve()));
  return c;
}
