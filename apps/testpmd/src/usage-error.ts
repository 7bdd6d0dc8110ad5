/** A mistake in the command line: printed with a hint, exit status 2. */
export class UsageError extends Error {
  readonly _tag = "UsageError" as const;
  override readonly name = "UsageError";
}

export function isUsageError(e: unknown): e is UsageError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "UsageError";
}
