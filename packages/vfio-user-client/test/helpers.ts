import type { ChildProcess } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterThisTest, forkChild, tempDir, whenReady } from "@emu/test-kit";
import { VfioUserClient, type VfioUserConnectOptions } from "@emu/vfio-user-client";

const PACKAGE_DIR = join(import.meta.dirname, "..");
const FIXTURES = join(import.meta.dirname, "fixtures");

export const fdCount = (): number => readdirSync("/proc/self/fd").length;

/** Connects and closes the client after the test. */
export async function connect(socketPath: string, options?: VfioUserConnectOptions): Promise<VfioUserClient> {
  const c = await VfioUserClient.connect(socketPath, options);
  afterThisTest(() => c.close());
  return c;
}

/** A child process running a fixture script under tsx, with an IPC channel. Killed after the test. */
export interface Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Calls an op of the child (see the fixture) and resolves with its value; a failure rejects with its message. */
  call<T = unknown>(op: string, args?: Record<string, unknown>): Promise<T>;
  /** Messages the child sent on its own (not answers to `call`), in order. */
  readonly events: Record<string, unknown>[];
}

export class ChildOpError extends Error {
  constructor(
    message: string,
    readonly reason: string | undefined,
    readonly errno: number | undefined,
  ) {
    super(message);
  }
}

export async function forkFixture(script: string, args: string[]): Promise<Child> {
  const proc = forkChild(join(FIXTURES, script), args, { cwd: PACKAGE_DIR });
  let nextId = 1;
  const events: Record<string, unknown>[] = [];
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const exited = new Promise<number | null>((resolve) =>
    proc.on("exit", (code) => {
      for (const w of waiting.values()) w.reject(new Error(`${script} exited (${code})`));
      waiting.clear();
      resolve(code);
    }),
  );
  proc.on(
    "message",
    (m: {
      ready?: true;
      id?: number;
      ok?: boolean;
      value?: unknown;
      error?: string;
      reason?: string;
      errno?: number;
      [k: string]: unknown;
    }) => {
      if (m.ready) return;
      if (m.id === undefined) {
        events.push(m);
        return;
      }
      const w = waiting.get(m.id);
      if (w === undefined) return;
      waiting.delete(m.id);
      if (m.ok) w.resolve(m.value);
      else w.reject(new ChildOpError(m.error ?? "failed", m.reason, m.errno));
    },
  );
  await whenReady(proc, script);
  return {
    proc,
    exited,
    events,
    call: <T>(op: string, a?: Record<string, unknown>) =>
      new Promise<T>((res, rej) => {
        const id = nextId++;
        waiting.set(id, { resolve: res as (v: unknown) => void, reject: rej });
        proc.send({ id, op, args: a ?? {} });
      }),
  };
}

/** The test device (test/fixtures/device-server.ts) served in another process on a fresh socket. */
export interface TestDevice extends Child {
  readonly socketPath: string;
}

export async function startDevice(options: Record<string, unknown> = {}): Promise<TestDevice> {
  const socketPath = join(tempDir(), "dev.sock");
  const child = await forkFixture("device-server.ts", [socketPath, JSON.stringify(options)]);
  return { ...child, socketPath };
}
