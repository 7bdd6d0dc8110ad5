// tuneJitForDataPath: V8's own trace of its inlining decisions shows a callee over the default budget inlined once the
// limits are raised, and refused without them.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const child = fileURLToPath(new URL("./fixtures/jit-child.mjs", import.meta.url));
const trace = (...args: string[]) => {
  const r = spawnSync(process.execPath, ["--trace-turbo-inlining", child, ...args], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^result -?\d+$/m);
  return r.stdout;
};
const inlined = /Inlining \S+ \{\S+ <SharedFunctionInfo bigCallee>\} into \S+ \{\S+ <SharedFunctionInfo hotCaller>\}/;

describe("tuneJitForDataPath", () => {
  it("raises V8's inlining limits for the process: a callee over the default budget gets inlined", () => {
    const untuned = trace();
    expect(untuned).toMatch(/Cannot consider \S+ \{\S+ <SharedFunctionInfo bigCallee>\} for inlining/);
    expect(untuned).not.toMatch(inlined);
    expect(trace("tuned")).toMatch(inlined);
  });
});
