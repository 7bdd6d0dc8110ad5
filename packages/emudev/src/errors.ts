/** Why emudev refused something. */
export type EmudevErrorReason =
  | "Devargs" // a devargs string that does not parse, or a key/value the driver does not accept (the message names it)
  | "UnknownDriver" // no emudev driver registered under that name
  | "UnknownProvider" // no data-path provider registered under that name
  | "Duplicate" // a driver, provider or device name already taken
  | "BadState" // a lifecycle call in a state that does not allow it (the message says which state and what to do)
  | "ProviderLimit" // the provider cannot take this device (its device count or queue count)
  | "NotBound" // no provider is attached
  | "UnknownResource" // a queue, vector, doorbell, region or attribute the device does not have
  | "InvalidValue" // an attribute value or a queue field the device refuses
  | "NotMapped" // a guest range not (entirely) inside the DMA table
  | "NotDirect" // a guest range mapped without an fd: reachable by messages only, never as a view
  | "Permission" // a write view of a read-only mapping (or a read view of a write-only one)
  | "BadRange"; // a hostile or malformed address/length (negative, not an integer, beyond 2^64)

/** Every error emudev throws. */
export class EmudevError extends Error {
  readonly _tag = "EmudevError" as const;
  override readonly name = "EmudevError";
  readonly reason: EmudevErrorReason;

  constructor(reason: EmudevErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
  }
}

export function isEmudevError(e: unknown): e is EmudevError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "EmudevError";
}
