/**
 * vfio-user command numbers (spec "Commands" table). 14 is unassigned (it was DIRTY_PAGES before migration v2);
 * a frame with 14 or any other number not listed here decodes to an `Unknown` message.
 */
export const Command = {
  VERSION: 1,
  DMA_MAP: 2,
  DMA_UNMAP: 3,
  DEVICE_GET_INFO: 4,
  DEVICE_GET_REGION_INFO: 5,
  DEVICE_GET_REGION_IO_FDS: 6,
  DEVICE_GET_IRQ_INFO: 7,
  DEVICE_SET_IRQS: 8,
  REGION_READ: 9,
  REGION_WRITE: 10,
  /** server → client */
  DMA_READ: 11,
  /** server → client */
  DMA_WRITE: 12,
  DEVICE_RESET: 13,
  REGION_WRITE_MULTI: 15,
  DEVICE_FEATURE: 16,
  MIG_DATA_READ: 17,
  MIG_DATA_WRITE: 18,
} as const;

/** One of the assigned command numbers. */
export type Command = (typeof Command)[keyof typeof Command];
/** The name of an assigned command, e.g. `"DMA_MAP"`. */
export type CommandName = keyof typeof Command;

const NAMES: readonly (CommandName | undefined)[] = (() => {
  const names: (CommandName | undefined)[] = [];
  for (const [name, value] of Object.entries(Command)) names[value] = name as CommandName;
  return names;
})();

/** True if `n` is an assigned command number. */
export function isKnownCommand(n: number): n is Command {
  return Number.isInteger(n) && NAMES[n] !== undefined;
}

/** `"DMA_MAP"` for 2, `"UNKNOWN_14"` for unassigned numbers — for logs and error messages. */
export function commandName(n: number): string {
  return (Number.isInteger(n) ? NAMES[n] : undefined) ?? `UNKNOWN_${n}`;
}
