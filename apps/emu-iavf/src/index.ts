/** emu-iavf as a library for the workspace's tests and apps: the command with injected streams and stop signal. */
export { runEmuIavf, USAGE } from "./cli.js";
