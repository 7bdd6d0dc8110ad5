// Cleanup after each test, in one place: every kit piece (and a package's helpers) registers what undoes it; after
// the test the cleanups run last-registered first, as nested resources unwind (a client before the server process it
// talks to, that process before the directory holding its socket). Registered outside a test (at a test file's top
// level), a cleanup runs after the file's first test.
import { afterEach } from "vitest";

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  const errors: unknown[] = [];
  for (let c = cleanups.pop(); c !== undefined; c = cleanups.pop()) {
    try {
      await c();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, "cleanups failed after the test");
});

/** Runs `cleanup` after the current test (after the file's next test when called outside one). */
export function afterThisTest(cleanup: () => unknown): void {
  cleanups.push(cleanup);
}
