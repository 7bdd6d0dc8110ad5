// The command line of a package's fuzz targets: `fuzz [--long] [--messages N] [--seed N] [--from SESSION]
// [--target NAME] [--hang-ms MS]`. CI mode is 10^6 messages per target, --long 10^7. Exits 1 on any failure or leak.
import { parseArgs } from "node:util";
import { type FuzzTarget, runFuzz } from "./engine.js";
import { formatReport, verdict } from "./report.js";

export const CI_MESSAGES = 1_000_000;
export const LONG_MESSAGES = 10_000_000;

/** Runs the targets named on the command line (all by default) and exits with their verdict. */
export async function fuzzMain(targets: readonly FuzzTarget[], argv = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      long: { type: "boolean", default: false },
      messages: { type: "string" },
      seed: { type: "string", default: "1" },
      from: { type: "string" },
      target: { type: "string" },
      "hang-ms": { type: "string" },
    },
  });
  const messages = Number(values.messages ?? (values.long ? LONG_MESSAGES : CI_MESSAGES));
  const seed = Number(values.seed);
  const chosen = targets.filter((t) => values.target === undefined || t.name === values.target);
  if (chosen.length === 0 || !Number.isSafeInteger(messages) || !Number.isSafeInteger(seed)) {
    console.error(
      `usage: fuzz [--long] [--messages N] [--seed N] [--from SESSION] [--target ${targets.map((t) => t.name).join("|")}]`,
    );
    process.exit(2);
  }
  let failed = false;
  for (const target of chosen) {
    const report = await runFuzz(target, {
      seed,
      messages,
      ...(values.from === undefined ? {} : { from: Number(values.from) }),
      ...(values["hang-ms"] === undefined ? {} : { hangMs: Number(values["hang-ms"]) }),
      log: (l) => console.log(l),
    });
    for (const l of formatReport(report)) console.log(l);
    const v = verdict(report);
    if (v.length > 0) {
      failed = true;
      console.log(`  replay: --target ${target.name} --seed ${seed} --from ${report.failures[0]?.session ?? 0}`);
    }
  }
  process.exit(failed ? 1 : 0);
}
