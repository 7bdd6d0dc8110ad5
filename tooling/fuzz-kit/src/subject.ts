// The process under test, seen from the fuzzer: forked with an IPC channel (a .ts script under tsx, with --expose-gc
// so a settle can collect garbage), watched for its exit (a crash, whatever the code) and called with deadlines (a call
// that does not come back in time is a hang). Its side is `serveAsSubject` (subject-side.ts).
import { type ChildProcess, fork } from "node:child_process";
import { FuzzFailure } from "./failure.js";

export interface SubjectSpec {
  /** The script to fork. */
  readonly script: string;
  readonly args?: readonly string[];
  /** Its working directory (where `--import tsx` resolves from). */
  readonly cwd?: string;
}

/** A message the subject sent on its own (not an answer): `{ event, ... }`. */
export interface SubjectEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

interface Answer {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
}

export class Subject {
  readonly pid: number;
  /** Resolves when the process exits: how it ended. */
  readonly exited: Promise<string>;
  /** Events it sent, oldest first (the engine takes them after each session). */
  readonly events: SubjectEvent[] = [];
  private readonly proc: ChildProcess;
  private exit: string | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, { op: string; resolve(v: unknown): void; reject(e: unknown): void }>();

  private constructor(proc: ChildProcess, pid: number, exited: Promise<string>) {
    this.proc = proc;
    this.pid = pid;
    this.exited = exited;
    exited.then((how) => {
      this.exit = how;
      for (const w of this.waiting.values()) w.reject(this.crash());
      this.waiting.clear();
    });
    proc.on("message", (m: Answer | SubjectEvent) => {
      if ("event" in m) {
        this.events.push(m);
        return;
      }
      const w = this.waiting.get(m.id);
      if (w === undefined) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m.value);
      else w.reject(new FuzzFailure("finding", `the process under test failed ${w.op}: ${m.error}`));
    });
  }

  /** Forks `spec` and resolves once it is ready (it sends `{ ready: true }`); a crash or hang before that rejects. */
  static start(spec: SubjectSpec, timeoutMs = 30_000): Promise<Subject> {
    const proc = fork(spec.script, spec.args ?? [], {
      // EMU_FUZZ_SUBJECT_ARGS: node options for the process under test only (e.g. "--cpu-prof").
      execArgv: [
        "--expose-gc",
        ...(spec.script.endsWith(".ts") ? ["--import", "tsx"] : []),
        ...(process.env.EMU_FUZZ_SUBJECT_ARGS?.split(" ").filter((a) => a !== "") ?? []),
      ],
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
    });
    const exited = new Promise<string>((resolve) =>
      proc.once("exit", (code, signal) => resolve(signal === null ? `exit code ${code}` : `signal ${signal}`)),
    );
    return new Promise<Subject>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill("SIGKILL");
        reject(new FuzzFailure("hang", `${spec.script} was not ready within ${timeoutMs} ms`));
      }, timeoutMs);
      const onReady = (m: { ready?: boolean }): void => {
        if (m?.ready !== true) return;
        clearTimeout(timer);
        proc.off("message", onReady);
        resolve(new Subject(proc, proc.pid as number, exited));
      };
      proc.on("message", onReady);
      exited.then((how) => {
        clearTimeout(timer);
        reject(new FuzzFailure("crash", `${spec.script} ended (${how}) before it was ready`));
      });
    });
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** The crash this subject's end is (the error to throw once it has exited). */
  crash(): FuzzFailure {
    return new FuzzFailure("crash", `the process under test ended: ${this.exit ?? "still running"}`);
  }

  /** Calls an op of the subject; no answer within `timeoutMs` is a hang, its exit a crash. */
  call<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
    if (this.exit !== undefined) return Promise.reject(this.crash());
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new FuzzFailure("hang", `the process under test did not answer ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        op,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.send({ id, op, args });
    });
  }

  /** SIGKILLs the process and waits for it to exit. */
  async kill(): Promise<void> {
    if (this.exit === undefined) this.proc.kill("SIGKILL");
    await this.exited;
  }

  /** Asks the process to exit (it exits when the IPC channel closes), SIGKILL after `graceMs`. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.exit === undefined && this.proc.connected) {
      this.proc.disconnect();
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await this.kill();
  }
}
