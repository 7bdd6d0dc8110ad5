/**
 * vitest globalSetup: makes sure the real tools the scan is compared with (pciutils' lspci, mdevctl 1.2.0) are
 * present. When they are missing and we are root, installs them with apt-get; otherwise records why not, and the
 * tests that need them skip with that reason.
 */
import { execFileSync, spawnSync } from "node:child_process";
import type { TestProject } from "vitest/node";

export interface ToolStatus {
  readonly lspci: string | undefined; // undefined: available; a string: why not
  readonly mdevctl: string | undefined;
  readonly unshare: string | undefined;
}

declare module "vitest" {
  export interface ProvidedContext {
    tools: ToolStatus;
  }
}

function has(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

function tryInstall(): string | undefined {
  if (process.getuid?.() !== 0) return "not root, so apt-get install pciutils mdevctl was not attempted";
  if (!has("apt-get")) return "no apt-get on this host";
  try {
    execFileSync("apt-get", ["install", "-y", "-qq", "pciutils", "mdevctl"], { stdio: "pipe", timeout: 240_000 });
    return undefined;
  } catch {
    try {
      execFileSync("apt-get", ["update", "-qq"], { stdio: "pipe", timeout: 240_000 });
      execFileSync("apt-get", ["install", "-y", "-qq", "pciutils", "mdevctl"], { stdio: "pipe", timeout: 240_000 });
      return undefined;
    } catch (e) {
      return `apt-get install pciutils mdevctl failed: ${String((e as { stderr?: Buffer }).stderr ?? e)
        .trim()
        .split("\n")
        .pop()}`;
    }
  }
}

function unshareStatus(): string | undefined {
  if (!has("unshare")) return "no unshare(1) on this host";
  const r = spawnSync("unshare", ["-m", "sh", "-c", "mount -t tmpfs none /mnt"], { encoding: "utf8" });
  if (r.status !== 0) return `unshare -m with a mount is denied here: ${(r.stderr || "").trim() || `exit ${r.status}`}`;
  return undefined;
}

export default function setup(project: TestProject): void {
  let why: string | undefined;
  if (!has("lspci") || !has("mdevctl")) why = tryInstall();
  const tools: ToolStatus = {
    lspci: has("lspci") ? undefined : (why ?? "lspci not found"),
    mdevctl: has("mdevctl") ? undefined : (why ?? "mdevctl not found"),
    unshare: unshareStatus(),
  };
  project.provide("tools", tools);
}
