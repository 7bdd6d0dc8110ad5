/**
 * @emu/fuzz-kit — the fuzzing engine the packages' fuzz targets share: seeded randomness (`Rng`), byte mutation
 * (`mutate`) and split plans (`splitLengths`), the process under test forked and watched (`Subject`; its own side is
 * `@emu/fuzz-kit/subject`), the run loop (`runFuzz` over a `FuzzTarget`), resources from /proc (`probe`), the report
 * (`formatReport`, `verdict`) and the command line (`fuzzMain`). Protocol-free: vfio-user frames are in
 * `@emu/fuzz-kit/vfio-user`. TypeScript source, run under tsx or vitest.
 */
export { CI_MESSAGES, fuzzMain, LONG_MESSAGES } from "./cli.js";
export {
  type Failure,
  type FuzzOptions,
  type FuzzReport,
  type FuzzTarget,
  runFuzz,
  type SessionContext,
} from "./engine.js";
export { type FailureKind, FuzzFailure, isFuzzFailure } from "./failure.js";
export { mutate } from "./mutate.js";
export { formatReport, verdict } from "./report.js";
export { DEFAULT_TOLERANCE, probe, type Resources, type Tolerance } from "./resources.js";
export { Rng } from "./rng.js";
export { type SplitStyle, splitLengths, splitStyle } from "./split.js";
export { Subject, type SubjectSpec } from "./subject.js";
