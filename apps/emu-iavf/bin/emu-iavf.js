#!/usr/bin/env node
// A committed launcher, so package managers can link the command before the TypeScript is built.
import "../dist/bin.js";
