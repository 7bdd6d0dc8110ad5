#!/usr/bin/env node
// @ts-check
// The application: node examples/emudev-uppercase/serve.mjs 'upper0,sock=/tmp/upper.sock'. Makes the device from
// devargs, binds it to the provider and serves it; prints "listening <socket>"; SIGTERM or SIGINT closes it.
import { EmudevRegistry } from "@emu/emudev";
import { upperDriver } from "./driver.mjs";
import { upperProvider } from "./provider.mjs";

const devargs = process.argv[2];
if (!devargs) {
  console.error("usage: serve.mjs 'upper0,sock=<path>[,ring=N]'");
  process.exit(2);
}
const emu = new EmudevRegistry();
emu.registerDriver(upperDriver);
emu.registerProvider(upperProvider);
let dev;
try {
  dev = emu.create(devargs);
} catch (e) {
  console.error(`serve.mjs: ${e instanceof Error ? e.message : e}`);
  process.exit(2);
}
dev.attach(upperProvider.name);
dev.on("queueState", (e) => console.log(`queue ${e.queue} ${e.enabled ? "enabled" : "disabled"}`));
dev.configure();
await dev.start();
console.log(`listening ${devargs}`);
const stop = () => void emu.closeAll().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
