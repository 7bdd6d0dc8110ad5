// The main thread's handle on the doorbell relay thread: started with the front's doorbell file and the delegate's
// doorbell areas, stopped (and awaited) before either goes away.
import { Worker } from "node:worker_threads";
import {
  C_COPIES,
  C_ENABLED,
  C_PASSES,
  C_STOP,
  C_WORDS,
  type RelayFile,
  type RelayParams,
  type RelayTail,
} from "./relay-layout.js";

export class DoorbellRelay {
  readonly #ctl = new Int32Array(new SharedArrayBuffer(C_WORDS * 4));
  readonly #worker: Worker;
  readonly #exited: Promise<void>;

  constructor(
    from: RelayFile,
    to: readonly RelayFile[],
    tails: readonly RelayTail[],
    onError: (e: unknown) => void,
    idleUs = 20,
  ) {
    const params: RelayParams = { ctl: this.#ctl.buffer as SharedArrayBuffer, from, to, tails, idleUs };
    this.#worker = new Worker(new URL("./relay-worker.js", import.meta.url), { workerData: params });
    this.#worker.unref();
    this.#exited = new Promise((resolve) => {
      this.#worker.once("error", (e) => {
        onError(e);
        resolve();
      });
      this.#worker.once("exit", () => resolve());
    });
  }

  /** Tail values copied so far (published every pass that copied, and every 1024 passes). */
  get copies(): number {
    return Atomics.load(this.#ctl, C_COPIES);
  }

  get passes(): number {
    return Atomics.load(this.#ctl, C_PASSES);
  }

  /** Which tails are copied: bit i for tail i (the order the relay was given them). */
  setEnabled(mask: number): void {
    Atomics.store(this.#ctl, C_ENABLED, mask | 0);
  }

  /** Stops the thread; resolves once it exited (it unmapped both files). */
  stop(): Promise<void> {
    Atomics.store(this.#ctl, C_STOP, 1);
    Atomics.notify(this.#ctl, C_STOP);
    return this.#exited;
  }
}
