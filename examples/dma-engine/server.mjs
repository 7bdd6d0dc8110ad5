#!/usr/bin/env node
// @ts-check
// Serves the DMA engine: node examples/dma-engine/server.mjs <socket>. Prints "listening <socket>" when ready;
// SIGTERM or SIGINT closes it (socket file removed).
import { serveDmaEngine } from "./device.mjs";

const socketPath = process.argv[2];
if (!socketPath) {
  console.error("usage: server.mjs <socket>");
  process.exit(2);
}
const server = await serveDmaEngine(socketPath);
console.log(`listening ${socketPath}`);
const stop = () => {
  void server.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
