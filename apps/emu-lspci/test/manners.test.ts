// emu-lspci's command-line manners, through injected streams: what it says about a path that is not a socket, its
// version, a device found on the PCI bus (a stand-in kernel behind a fixture sysfs tree), and a reader that goes away.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runLspci } from "@emu/app-emu-lspci";
import { VfioHost } from "@emu/mdev-pci";
import { MTTY_UUID, makeSysfs, standInKernel, VF_BDF } from "@emu/mdev-pci/testing";
import { tempDir } from "@emu/test-kit";
import { describe, expect, it } from "vitest";

async function lspci(argv: string[], extra: { env?: Record<string, string>; vfioHost?: VfioHost } = {}) {
  let out = "";
  let err = "";
  const code = await runLspci(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    ...extra,
  });
  return { code, out, err };
}

function host(): { sys: string; vfioHost: VfioHost } {
  const root = tempDir({ prefix: "emu-sysfs-", tmpfs: true });
  return { sys: makeSysfs(root), vfioHost: new VfioHost({ kernel: standInKernel() }) };
}

describe("emu-lspci manners", () => {
  it("a regular file or a directory is 'not a UNIX socket', the path said once", async () => {
    const dir = tempDir();
    const file = join(dir, "plain");
    writeFileSync(file, "x");
    mkdirSync(join(dir, "sub"));
    expect(await lspci([file])).toEqual({ code: 1, out: "", err: `emu-lspci: ${file}: not a UNIX socket\n` });
    const sub = join(dir, "sub");
    expect(await lspci([sub])).toEqual({ code: 1, out: "", err: `emu-lspci: ${sub}: not a UNIX socket\n` });
  });

  it("--version and -V print the version", async () => {
    const r = await lspci(["--version"]);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toMatch(
      /^emu-lspci \d+\.\d+\.\d+ \(@emu\/vfio-user-client \d+\.\d+\.\d+, @emu\/mdev-pci \d+\.\d+\.\d+\)\n$/,
    );
    expect((await lspci(["-V"])).out).toBe(r.out);
  });

  it("a PCI function (BDF) and a mediated device (UUID) on the bus, through kernel VFIO", async () => {
    const { sys, vfioHost } = host();
    const r = await lspci(["--sysfs", sys, VF_BDF, MTTY_UUID], { vfioHost });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const heads = r.out.split("\n").filter((l) => /^00:0\d\.0 /.test(l));
    expect(heads[0]).toMatch(/^00:00\.0 Ethernet controller: Intel Corporation Ethernet Virtual Function 700 Series/);
    expect(heads[1]).toMatch(/^00:01\.0 .*: Device 4348:3253/);
    expect(r.out).toContain(`\tVFIO: ${VF_BDF} (kernel)\n`);
    expect(r.out).toContain(`\tVFIO: ${MTTY_UUID} (kernel)\n`);
    // The sysfs root may come from the environment too.
    expect((await lspci([MTTY_UUID], { env: { EMU_SYSFS_ROOT: sys }, vfioHost })).code).toBe(0);
  });

  it("a reader that goes away: EPIPE on stdout or stderr exits with the command's status", () => {
    const bin = join(import.meta.dirname, "..", "bin", "emu-lspci.js");
    const run = (script: string) =>
      spawnSync("bash", ["-c", `${script}; echo "status=\${PIPESTATUS[0]}"`], { encoding: "utf8", timeout: 20_000 });
    const usage = run(`"${process.execPath}" "${bin}" --bogus 2>&1 | true`);
    expect(usage.stdout).toBe("status=2\n");
    expect(usage.stderr).toBe("");
    const help = run(`"${process.execPath}" "${bin}" --help | true`);
    expect(help.stdout).toBe("status=0\n");
    expect(help.stderr).toBe("");
  });
});
