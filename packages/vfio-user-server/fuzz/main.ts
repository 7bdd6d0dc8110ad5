// `pnpm --filter @emu/vfio-user-server fuzz [--long] [--messages N] [--seed N] [--from SESSION]`: the server fuzzed
// by hostile clients (CI mode 10^6 messages, --long 10^7). See the README's Reliability section.
import { fuzzMain } from "@emu/fuzz-kit";
import { serverTarget } from "./target.js";

await fuzzMain([serverTarget]);
