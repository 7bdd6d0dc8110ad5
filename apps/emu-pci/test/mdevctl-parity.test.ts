/**
 * `emu-pci mdev types`/`mdev list` against mdevctl 1.2.0 on the same sysfs tree. mdevctl has no root option, so it
 * runs in a private mount namespace with the fixture bind-mounted over /sys and /etc/mdevctl.d. Skipped, with the
 * reason, where mdevctl or the namespace is unavailable (@emu/mdev-pci's test setup installs mdevctl when it may).
 */
import { spawnSync } from "node:child_process";
import { runCli } from "@emu/app-emu-pci";
import { runMdevctl } from "@emu/mdev-pci/testing";
import { expect, test } from "vitest";
import { fixture } from "./fixtures/tmp.js";

const has = (tool: string): boolean => spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;

/** Why mdevctl cannot be run on a fixture here, or undefined when it can. */
function whyNoMdevctl(): string | undefined {
  if (!has("mdevctl")) return "mdevctl not found";
  if (!has("unshare")) return "no unshare(1) on this host";
  const r = spawnSync("unshare", ["-m", "sh", "-c", "mount -t tmpfs none /mnt"], { encoding: "utf8" });
  if (r.status !== 0) return `unshare -m with a mount is denied here: ${(r.stderr || "").trim() || `exit ${r.status}`}`;
  return undefined;
}

/** mdevctl's output on the fixture under `root`; a failure throws with what it said. */
function mdevctl(root: string, args: string[]): string {
  const r = runMdevctl(root, args);
  if (r.status !== 0) throw new Error(`mdevctl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

test("emu-pci mdev types prints what mdevctl types prints, byte for byte; mdev list its first three columns", async (ctx) => {
  const why = whyNoMdevctl();
  if (why) return ctx.skip(why);
  const { root, sys } = fixture();
  const ours = async (argv: string[]) => {
    let out = "";
    await runCli(["--sysfs", sys, ...argv], {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: () => 0 },
    });
    return out;
  };
  expect(await ours(["mdev", "types"])).toBe(mdevctl(root, ["types"]));
  const theirs = mdevctl(root, ["list"])
    .trim()
    .split("\n")
    .map((l) => l.split(" ").slice(0, 3).join(" "));
  expect((await ours(["mdev", "list"])).trim().split("\n")).toEqual(theirs);
});
