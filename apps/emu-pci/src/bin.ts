#!/usr/bin/env node
import { tolerateBrokenPipe } from "./broken-pipe.js";
import { runCli } from "./cli.js";

tolerateBrokenPipe(process.stdout, process.stderr);
runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (status) => {
    process.exitCode = status;
  },
  (e: unknown) => {
    process.stderr.write(`emu-pci: unexpected failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 70;
  },
);
