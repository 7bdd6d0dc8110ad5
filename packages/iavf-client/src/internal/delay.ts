/** Resolves after `ms` milliseconds (an unref'd timer: a pending wait never keeps the process alive). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });
}
