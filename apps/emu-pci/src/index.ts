/** emu-pci as a library: `runCli(argv, io)` runs the command with injected output streams (what the tests use). */
export { type CliIo, runCli, USAGE } from "./cli.js";
