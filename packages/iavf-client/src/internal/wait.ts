/** Waiting for the driver to reach a condition: re-checked on each change, refused when the driver stops or in time. */
import { IavfClientError } from "../errors.js";

/**
 * Resolves with `check()`'s first defined value, re-checked whenever `subscribe`'s events fire; rejects with `Closed`
 * when `stopped()` names a state, or `Timeout` after `timeoutMs`.
 */
export function waitForChange<T>(
  what: string,
  timeoutMs: number,
  check: () => T | undefined,
  stopped: () => string | undefined,
  subscribe: (test: () => void) => (() => void)[],
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let offs: (() => void)[] = [];
    const done = (f: () => void) => {
      clearTimeout(timer);
      for (const off of offs) off();
      f();
    };
    const test = () => {
      const v = check();
      if (v !== undefined) return done(() => resolve(v));
      const s = stopped();
      if (s !== undefined)
        done(() => reject(new IavfClientError("Closed", `the driver is ${s} (waiting for ${what})`)));
    };
    const timer = setTimeout(
      () => done(() => reject(new IavfClientError("Timeout", `no ${what} in ${timeoutMs} ms`))),
      timeoutMs,
    );
    offs = subscribe(test);
    test();
  });
}
