#!/usr/bin/env node
import { runMain } from "@emu/cli-kit";
import { runEmuIavf } from "./cli.js";

const stop = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => stop.abort());
runMain("emu-iavf", (argv, io) => runEmuIavf(argv, io, stop.signal));
