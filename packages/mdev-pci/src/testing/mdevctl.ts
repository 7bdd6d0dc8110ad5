// mdevctl (1.2.0) run on a fixture tree, the oracle a scan or an app's `mdev` listing is compared with. mdevctl has no
// root option, so it runs in a private mount namespace (unshare -m, which needs root or CAP_SYS_ADMIN) with the
// tree bind-mounted over /sys and /etc/mdevctl.d.
import { spawnSync } from "node:child_process";

/** How an mdevctl run ended: its exit status (null when killed) and what it printed. */
export interface MdevctlRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `mdevctl <args>` on the tree `makeSysfs(root)` wrote (`root/sys` over /sys, `root/etc/mdevctl.d` over its own). */
export function runMdevctl(root: string, args: readonly string[]): MdevctlRun {
  const script =
    'mount --bind "$1/sys" /sys && mount --bind "$1/etc/mdevctl.d" /etc/mdevctl.d && shift && exec mdevctl "$@"';
  const r = spawnSync("unshare", ["-m", "sh", "-c", script, "sh", root, ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
