// Waiting in a test for something another process or the event loop does: poll a condition every 5 ms.

/** Resolves once `check` holds (polled every 5 ms); fails after `ms`, naming `what`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 10_000, what = "a condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
