// The fuzzer (fuzz/, see the README's Reliability section) in short: hostile clients against the server in a child
// process, 20 000 messages with seed 1. CI runs it at 10^6 messages in a step of its own (`pnpm fuzz`, .ci/run).
import { formatReport, runFuzz, verdict } from "@emu/fuzz-kit";
import { expect, it } from "vitest";
import { serverTarget } from "../fuzz/target.js";

it("20 000 fuzzed messages: no crash, no hang, no broken promise, fds and mappings back", async () => {
  const report = await runFuzz(serverTarget, { seed: 1, messages: 20_000, warmup: 5_000 });
  console.log(formatReport(report).join("\n"));
  expect(verdict(report)).toEqual([]);
  expect(report.messages).toBeGreaterThanOrEqual(20_000);
  expect(report.tally["case: mutated"]).toBeGreaterThan(0);
}, 180_000);
