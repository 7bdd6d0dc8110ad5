#!/usr/bin/env node
import { runMain } from "@emu/cli-kit";
import { runCli } from "./cli.js";

runMain("emu-pci", runCli);
