#!/usr/bin/env node
import { runMain } from "@emu/cli-kit";
import * as iavfDpSw from "@emu/iavf-dp-sw";
import { tuneJitForDataPath } from "@emu/port";
import { runTestpmd } from "./main.js";

// The forwarding lcores' bursts are compiled with a larger inlining budget (before any of them runs).
tuneJitForDataPath();

// SIGINT and SIGTERM stop forwarding and shut the ports down, as testpmd does, instead of killing the process.
const stop = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => stop.abort());
// Built in: emu_iavf devices (--vdev emu_iavf0,sock=…) and their software back-end port (port attach net_iavfbe,emu=…).
const plugins = [iavfDpSw];
runMain("emu-testpmd", (argv, io) =>
  runTestpmd(argv, {
    ...io,
    stdin: process.stdin,
    terminal: process.stdin.isTTY === true,
    signal: stop.signal,
    plugins,
  }),
);
