// The driver's periodic work — the watchdog, the statistics refresh, the ARQ poll of a mailbox without interrupt —
// as unref'd intervals; a round is skipped while the task's previous run is still going, so a slow device never
// stacks calls up. A task handles its own errors (one that escapes is dropped: the watchdog reports a dead device).

export interface PeriodicTask {
  readonly name: string;
  readonly everyMs: number;
  run(): Promise<unknown> | undefined;
}

export class Periodic {
  #timers: NodeJS.Timeout[] = [];
  readonly #running = new Set<string>();

  /** Starts the tasks (after `stop`, or on a fresh instance). */
  start(tasks: readonly PeriodicTask[]): void {
    for (const t of tasks) {
      const timer = setInterval(() => {
        if (this.#running.has(t.name)) return;
        const run = t.run();
        if (run === undefined) return;
        this.#running.add(t.name);
        run
          .catch(() => undefined)
          .finally(() => {
            this.#running.delete(t.name);
          });
      }, t.everyMs);
      timer.unref();
      this.#timers.push(timer);
    }
  }

  /** Whether task `name` is running now. */
  running(name: string): boolean {
    return this.#running.has(name);
  }

  /** Stops every interval (a run under way finishes on its own). */
  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
  }
}
