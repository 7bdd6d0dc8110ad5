// The port layer's one error family: every refusal of @emu/port is a PortError with a reason.

export type PortErrorReason =
  /** A devargs string that cannot be read (a bad key, value or name). */
  | "Devargs"
  /** No port driver of that name is registered. */
  | "UnknownDriver"
  /** A port or driver of that name exists already. */
  | "Duplicate"
  /** An operation in a state that does not allow it (configure while started, start before configure...). */
  | "BadState"
  /** A value out of range: queue counts, ring sizes, buffer indices, a bad file. */
  | "InvalidValue"
  /** The mbuf pool has no buffer left or is not the one a peer uses. */
  | "Pool"
  /** The operating system refused (a file, a TAP interface). */
  | "Io"
  /** The driver does not do this (e.g. live migration). */
  | "Unsupported";

/** Every refusal of @emu/port. */
export class PortError extends Error {
  readonly _tag = "PortError" as const;
  override readonly name = "PortError";
  constructor(
    readonly reason: PortErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True for a PortError (by its tag, so copies from another module instance count too). */
export function isPortError(e: unknown): e is PortError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "PortError";
}
