// The fuzzer (fuzz/, see the README's Reliability section) in short: hostile guests against emu_iavf in a child
// process, 20 000 messages with seed 1. CI runs it at 10^6 messages in a step of its own (`pnpm fuzz`, .ci/run).
import { formatReport, runFuzz, verdict } from "@emu/fuzz-kit";
import { expect, it } from "vitest";
import { iavfTarget } from "../fuzz/target.js";

it("20 000 fuzzed admin-queue messages: no crash, no hang, no broken promise, fds and mappings back", async () => {
  const report = await runFuzz(iavfTarget, { seed: 1, messages: 20_000, warmup: 5_000 });
  console.log(formatReport(report).join("\n"));
  expect(verdict(report)).toEqual([]);
  expect(report.messages).toBeGreaterThanOrEqual(20_000);
  expect(report.tally["message: mutated"]).toBeGreaterThan(0);
  expect(report.tally["replies checked"]).toBeGreaterThan(1000);
}, 180_000);
