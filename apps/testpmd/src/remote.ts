// emu-testpmd in a process of its own, driven at its prompt as a person would: `ask` types a line and resolves with
// what is printed until the next prompt. What the composition tests, the demo and the benchmark use to run the two
// ends of the emulated NIC as separate processes.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const PROMPT = "testpmd> ";
const BIN = fileURLToPath(new URL("../bin/emu-testpmd.js", import.meta.url));

export interface RemoteTestpmd {
  readonly process: ChildProcess;
  /** Output up to the first prompt. */
  readonly banner: string;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** Types `line`; resolves with the output up to the next prompt (rejects if the process ends or after `ms`). */
  ask(line: string, ms?: number): Promise<string>;
  /** Types `quit` and resolves with the exit status (SIGKILL after `ms`). */
  quit(ms?: number): Promise<number | null>;
}

/** Spawns `emu-testpmd <argv>` (which must include `-i`) and waits for its first prompt. */
export async function spawnTestpmd(
  argv: readonly string[],
  options: {
    readonly env?: NodeJS.ProcessEnv;
    readonly node?: readonly string[];
    /** A command that runs node in its place, e.g. ["unshare", "-n"]: testpmd in a network namespace of its own. */
    readonly wrap?: readonly string[];
  } = {},
): Promise<RemoteTestpmd> {
  const cmd = [...(options.wrap ?? []), process.execPath, ...(options.node ?? []), BIN, ...argv];
  const proc = spawn(cmd[0] as string, cmd.slice(1), {
    stdio: ["pipe", "pipe", "pipe"],
    env: options.env ?? process.env,
  });
  let out = "";
  let mark = 0;
  let waiter: (() => void) | undefined;
  let ended = false;
  const exited = new Promise<number | null>((resolve) => {
    proc.once("exit", (code) => {
      ended = true;
      waiter?.();
      resolve(code);
    });
  });
  const take = (chunk: Buffer) => {
    out += chunk.toString();
    waiter?.();
  };
  proc.stdout?.on("data", take);
  proc.stderr?.on("data", take);
  const untilPrompt = (ms: number) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiter = undefined;
        reject(new Error(`emu-testpmd: no prompt in ${ms} ms; output so far:\n${out.slice(mark)}`));
      }, ms);
      const check = () => {
        const at = out.indexOf(PROMPT, mark);
        if (at < 0 && !ended) return;
        clearTimeout(timer);
        waiter = undefined;
        const text = out.slice(mark, at < 0 ? out.length : at);
        mark = at < 0 ? out.length : at + PROMPT.length;
        if (at < 0) reject(new Error(`emu-testpmd ended (status ${proc.exitCode}):\n${text}`));
        else resolve(text);
      };
      waiter = check;
      check();
    });
  const banner = await untilPrompt(30_000);
  return {
    process: proc,
    banner,
    output: () => out,
    ask(line, ms = 30_000) {
      proc.stdin?.write(`${line}\n`);
      return untilPrompt(ms);
    },
    async quit(ms = 10_000) {
      if (ended) return proc.exitCode;
      proc.stdin?.end("quit\n");
      const timer = setTimeout(() => proc.kill("SIGKILL"), ms);
      const status = await exited;
      clearTimeout(timer);
      return status;
    },
  };
}
