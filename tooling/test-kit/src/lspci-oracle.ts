// The real lspci (pciutils) as an oracle for emu-lspci: installed with apt-get when missing and we are root, else the
// tests that need it are skipped with the reason.
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./temp-dir.js";

let checked = false;
let why: string | undefined;

/** Why lspci cannot be used here, or undefined when it can (installs pciutils on first call if it may). */
export function lspciUnavailable(): string | undefined {
  if (checked) return why;
  checked = true;
  const has = (): boolean => spawnSync("lspci", ["--version"], { stdio: "ignore" }).status === 0;
  if (has()) return undefined;
  if (process.getuid?.() !== 0) {
    why = "pciutils is not installed and we are not root to install it";
    return why;
  }
  if (spawnSync("apt-get", ["--version"], { stdio: "ignore" }).status !== 0) {
    why = "pciutils is not installed and there is no apt-get to install it";
    return why;
  }
  const r = spawnSync("apt-get", ["install", "-y", "pciutils"], { stdio: "ignore", timeout: 120_000 });
  if (r.status !== 0 || !has()) why = `apt-get install -y pciutils failed (status ${r.status})`;
  return why;
}

/** `lspci -F file <args>` on a hex dump, with the libkmod noise of a container (stderr) left out. */
export function lspciF(dump: string, args: string[]): string {
  const file = join(tempDir(), "dump.txt");
  writeFileSync(file, dump);
  return execFileSync("lspci", ["-F", file, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
}
