// What a fuzz run can find. A crash: the process under test died. A hang: it did not answer, reply or close within
// the deadline. A finding: it answered, but broke a promise the target checks (an untagged error, a reply out of order,
// a leak). Each is thrown as a `FuzzFailure` by the target or the engine, and recorded with the session that found it.

export type FailureKind = "crash" | "hang" | "finding";

export class FuzzFailure extends Error {
  readonly _tag = "FuzzFailure" as const;
  override readonly name = "FuzzFailure";
  readonly kind: FailureKind;

  constructor(kind: FailureKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

export function isFuzzFailure(e: unknown): e is FuzzFailure {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "FuzzFailure";
}
