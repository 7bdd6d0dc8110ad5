#!/usr/bin/env node
import { runLspci } from "./cli.js";

runLspci(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`emu-lspci: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
