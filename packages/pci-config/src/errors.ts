/** Why @emu/pci-config refused something. */
export type PciConfigErrorReason =
  | "InvalidDescription" // a builder description that no hardware could have (sizes, BIR, overlaps, space)
  | "Truncated"; // bytes too short to hold the part being decoded

/** The one error family of @emu/pci-config. */
export class PciConfigError extends Error {
  readonly _tag = "PciConfigError" as const;
  override readonly name = "PciConfigError";
  readonly reason: PciConfigErrorReason;

  constructor(reason: PciConfigErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

export function isPciConfigError(e: unknown): e is PciConfigError {
  return typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "PciConfigError";
}

/** Result of decoding untrusted bytes (never throws): the one `Result` shape of emu, `@emu/vfio-user-proto`'s. */
export type { Result } from "@emu/vfio-user-proto";
