#!/usr/bin/env node
import { tolerateBrokenPipe } from "./broken-pipe.js";
import { runLspci } from "./cli.js";

tolerateBrokenPipe(process.stdout, process.stderr);
runLspci(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`emu-lspci: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
