/**
 * @emu/test-kit — the mechanisms the packages' tests share, written once: cleanup after each test (`afterThisTest`),
 * per-test temporary directories (`tempDir`), child processes SIGKILLed and awaited after the test (`forkChild`,
 * `whenReady`, `reapAfterTest`), children that talk in lines (`linePeer`), what a socket received (`collect`),
 * polling for a condition (`until`), and the real lspci as an oracle (`lspciUnavailable`, `lspciF`). TypeScript source, imported by tests through
 * vitest only.
 */
export { afterThisTest } from "./after-test.js";
export { forkChild, reapAfterTest, whenReady } from "./child-process.js";
export { type LinePeer, linePeer } from "./line-peer.js";
export { lspciF, lspciUnavailable } from "./lspci-oracle.js";
export { bytesOf, collect, type Received } from "./received.js";
export { tempDir } from "./temp-dir.js";
export { until } from "./until.js";
