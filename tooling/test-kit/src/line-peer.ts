import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/** A child that talks in lines: `next` is its next stdout line, `ask` writes a command line and awaits the answer. */
export interface LinePeer {
  next(): Promise<string>;
  ask(command: string): Promise<string>;
}

/** Talks to `proc` (spawned with piped stdin and stdout) one line at a time; lines not yet awaited are kept. */
export function linePeer(proc: ChildProcess): LinePeer {
  const { stdin, stdout } = proc;
  if (!stdin || !stdout) throw new Error("linePeer needs a child spawned with stdin and stdout piped");
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  createInterface({ input: stdout }).on("line", (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  });
  const next = (): Promise<string> =>
    new Promise((resolve) => {
      const l = lines.shift();
      if (l !== undefined) resolve(l);
      else waiters.push(resolve);
    });
  return {
    next,
    ask(command) {
      stdin.write(`${command}\n`);
      return next();
    },
  };
}
