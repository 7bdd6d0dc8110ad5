// `pnpm --filter @emu/iavf-emu fuzz [--long] [--messages N] [--seed N] [--from SESSION]`: emu_iavf's admin queue and
// virtchnl PF side fuzzed by hostile guests (CI mode 10^6 messages, --long 10^7). See the README's Reliability section.
import { fuzzMain } from "@emu/fuzz-kit";
import { iavfTarget } from "./target.js";

await fuzzMain([iavfTarget]);
