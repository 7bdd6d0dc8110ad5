// `pnpm --filter @emu/vfio-user-client fuzz [--long] [--messages N] [--seed N] [--from SESSION]`: the client fuzzed
// by a hostile server (CI mode 10^6 messages, --long 10^7). See the README's Reliability section.
import { fuzzMain } from "@emu/fuzz-kit";
import { clientTarget } from "./target.js";

await fuzzMain([clientTarget]);
