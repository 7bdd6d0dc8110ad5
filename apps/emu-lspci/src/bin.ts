#!/usr/bin/env node
import { runMain } from "@emu/cli-kit";
import { runLspci } from "./cli.js";

runMain("emu-lspci", runLspci);
