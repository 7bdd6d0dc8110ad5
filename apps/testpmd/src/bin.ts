#!/usr/bin/env node
import { runMain } from "@emu/cli-kit";
import { runTestpmd } from "./main.js";

// SIGINT and SIGTERM stop forwarding and shut the ports down, as testpmd does, instead of killing the process.
const stop = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => stop.abort());
runMain("emu-testpmd", (argv, io) =>
  runTestpmd(argv, { ...io, stdin: process.stdin, terminal: process.stdin.isTTY === true, signal: stop.signal }),
);
