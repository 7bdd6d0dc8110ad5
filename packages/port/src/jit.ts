// V8's inlining limits for a process that runs data paths. A burst's loop calls small helpers per packet (classify,
// translate an address, plan a copy, write a descriptor); with V8's default budget (460 bytes of bytecode a callee,
// 920 in all, 4600 for the function being compiled) TurboFan stops inlining them part-way through a driver's burst,
// and each call left costs as much as the work it does. Raised, the same code ran markedly faster through the
// emulated NIC (README). The flags are the process's: set them before the data path first gets hot.
import { setFlagsFromString } from "node:v8";

/** The V8 flags `tuneJitForDataPath` sets. */
export const DATA_PATH_V8_FLAGS: readonly string[] = [
  "--max-inlined-bytecode-size=3000",
  "--max-inlined-bytecode-size-cumulative=10000",
  "--max-inlined-bytecode-size-absolute=10000",
];

/**
 * Raises V8's inlining limits for the whole process (worker threads included) to `DATA_PATH_V8_FLAGS`. Call it at
 * start-up, before any burst runs: code already optimised keeps the limits it was compiled with. An application
 * decides this, not a library: nothing in emu calls it but apps/testpmd's entry point.
 */
export function tuneJitForDataPath(): void {
  for (const flag of DATA_PATH_V8_FLAGS) setFlagsFromString(flag);
}
