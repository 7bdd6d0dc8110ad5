// The engine finds what it promises to find: a crash (uncaught exception, signal), a hang, a finding the subject
// reports, an fd or a mapping not given back; and a run that finds nothing says so, with the same seed the same way.
import { join } from "node:path";
import { type FuzzTarget, runFuzz, verdict } from "@emu/fuzz-kit";
import { describe, expect, it } from "vitest";

const TOY = join(import.meta.dirname, "fixtures", "toy-subject.ts");

/** A target whose sessions ask the toy to work; session `bad` (and only it) asks it to misbehave `how`. */
function toy(how: string, bad: number): FuzzTarget & { plays: number[] } {
  const plays: number[] = [];
  return {
    name: `toy-${how}`,
    plays,
    subject: () => ({ script: TOY, cwd: join(import.meta.dirname, "..") }),
    session: async (ctx) => {
      plays.push(ctx.rng.u32());
      ctx.note(`session ${ctx.index}`);
      ctx.sent(10);
      await ctx.subject.call("work", { how: ctx.index === bad ? how : "ok" }, ctx.hangMs);
    },
    idle: async () => undefined,
    sessionBudget: () => 10,
  };
}

const options = { seed: 7, messages: 200, hangMs: 1000, warmup: 20 };

describe("runFuzz", () => {
  it("a clean run: no failure, resources compared and back, messages counted", async () => {
    const t = toy("ok", -1);
    const r = await runFuzz(t, options);
    expect(verdict(r)).toEqual([]);
    expect(r.messages).toBe(200);
    expect(r.sessions).toBe(20);
    expect(r.start?.fds).toBe(r.end?.fds);
    // The same seed plays the same sessions.
    const again = toy("ok", -1);
    await runFuzz(again, options);
    expect(again.plays).toEqual(t.plays);
  });

  it.each([
    ["crash", "crash", /uncaught exception: Error: the toy crashed/],
    ["abort", "crash", /signal SIGSEGV/],
    ["hang", "hang", /did not answer work within 1000 ms/],
    ["finding", "finding", /the toy broke a promise/],
  ])("finds a %s (%s) in the session that caused it", async (how, kind, message) => {
    const r = await runFuzz(toy(how, 12), options);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatchObject({
      kind,
      session: 12,
      note: "session 12",
      message: expect.stringMatching(message),
    });
    expect(verdict(r).length).toBeGreaterThan(0);
  });

  it.each([
    ["leak-fd", /^fds \d+ -> \d+$/],
    ["leak-map", /^memfd mappings 0 -> 1$/],
    ["leak-heap", /^V8 heap in use .* \(more than \+4\.0 MiB\)$/],
  ])("finds a resource not given back (%s)", async (how, leak) => {
    const r = await runFuzz(toy(how, 15), options);
    expect(r.failures).toEqual([]);
    expect(r.leaks[0]).toMatch(leak); // (a heap that grew 30 MiB shows in RSS and mappings too)
    expect(verdict(r).length).toBeGreaterThan(0);
    expect(verdict(r).every((v) => v.startsWith("leak: "))).toBe(true);
  });
});
