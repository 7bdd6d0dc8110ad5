#!/usr/bin/env node
// Builds the @emu/sys N-API addon with node-gyp against the headers of the node binary running this script.
// It never relies on a user's npm config (nodedir) and never downloads headers: no network is assumed.
// --if-missing: do nothing when the addon is already built and newer than its sources (binding.gyp, src/native/*)
// (used by `build`, so `tsc -b` stays fast, yet a changed C file is never left with a stale addon).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const pkgRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const addon = join(pkgRoot, "build", "Release", "emu_sys.node");
function upToDate() {
  if (!existsSync(addon)) return false;
  const built = statSync(addon).mtimeMs;
  const nativeDir = join(pkgRoot, "src", "native");
  const sources = [join(pkgRoot, "binding.gyp"), ...readdirSync(nativeDir).map((f) => join(nativeDir, f))];
  return sources.every((f) => statSync(f).mtimeMs <= built);
}
if (process.argv.includes("--if-missing") && upToDate()) process.exit(0);
if (!existsSync(join(pkgRoot, "binding.gyp"))) {
  console.error("@emu/sys: binding.gyp is missing; nothing to build");
  process.exit(1);
}

// The running node's prefix: <prefix>/bin/node -> <prefix>/include/node/node_api.h
const nodedir = resolve(dirname(process.execPath), "..");
if (!existsSync(join(nodedir, "include", "node", "node_api.h"))) {
  console.error(
    `@emu/sys: Node's headers were not found under ${nodedir}/include/node (from ${process.execPath}).\n` +
      "Install the Node.js development headers for this node (e.g. the nodejs package's include files).",
  );
  process.exit(1);
}

function findNodeGyp() {
  const candidates = [];
  try {
    candidates.push(createRequire(join(pkgRoot, "package.json")).resolve("node-gyp/bin/node-gyp.js"));
  } catch {}
  // The copy bundled with npm, next to the running node.
  candidates.push(join(nodedir, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  return candidates.find((c) => existsSync(c));
}
const gyp = findNodeGyp();
if (!gyp) {
  console.error("@emu/sys: node-gyp was not found (neither as a dependency nor bundled with npm)");
  process.exit(1);
}
const r = spawnSync(process.execPath, [gyp, "rebuild", `--nodedir=${nodedir}`, "--jobs=max"], {
  cwd: pkgRoot,
  stdio: "inherit",
  env: { ...process.env, npm_config_nodedir: nodedir },
});
process.exit(r.status ?? 1);
