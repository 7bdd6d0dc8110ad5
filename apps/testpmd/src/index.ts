/**
 * emu-testpmd as a library: `runTestpmd(argv, io)` runs it with injected streams (what the tests use); plugins
 * register port and emudev drivers before the devices are made.
 */
export { runTestpmd, type TestpmdIo } from "./main.js";
export type { PluginContext, TestpmdPlugin } from "./plugins.js";
export { type RemoteTestpmd, spawnTestpmd } from "./remote.js";
