// emu-pci's command-line manners, through injected streams: unknown options, --version, usage errors exit 2, an
// unreadable --pci-ids, the spellings of dpdk-devbind and mdevctl, an empty `mdev types`, and a reader that goes away.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { runCli } from "@emu/app-emu-pci";
import { defaultSpec, fixtureKernelWriter, MTTY_UUID } from "@emu/mdev-pci/testing";
import { expect, test } from "vitest";
import { fixture } from "./fixtures/tmp.js";

async function run(argv: string[], writeAttribute?: (f: string, d: string) => void) {
  let stdout = "";
  let stderr = "";
  const status = await runCli(argv, {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    ...(writeAttribute ? { writeAttribute } : {}),
  });
  return { status, stdout, stderr };
}

test("unknown options are usage errors (exit 2), wherever they are", async () => {
  const { sys } = fixture();
  const bogus = await run(["--bogus"]);
  expect(bogus.status).toBe(2);
  expect(bogus.stderr).toMatch(/^emu-pci: unknown option --bogus\nUsage: emu-pci/);
  const jsn = await run(["--sysfs", sys, "list", "--jsn"]);
  expect(jsn).toMatchObject({ status: 2, stdout: "" });
  expect(jsn.stderr).toMatch(/^emu-pci: unknown option --jsn\n/);
  expect((await run(["--sysfs", sys, "status", "--json"])).stderr).toMatch(
    /^emu-pci: option --json does not apply to "status"\n/,
  );
  expect((await run(["--sysfs", sys, "list", "extra"])).status).toBe(2);
});

test("--version and -V", async () => {
  const r = await run(["--version"]);
  expect(r).toMatchObject({ status: 0, stderr: "" });
  expect(r.stdout).toMatch(/^emu-pci \d+\.\d+\.\d+ \(@emu\/mdev-pci \d+\.\d+\.\d+\)\n$/);
  expect((await run(["-V"])).stdout).toBe(r.stdout);
});

test("mdev remove with something that is not a UUID is a usage error (exit 2)", async () => {
  const r = await run(["mdev", "remove", "1234"]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^emu-pci: "1234" is not a UUID .*\nUsage: emu-pci/);
});

test("--pci-ids naming a file that cannot be read is an error, not a silent fallback", async () => {
  const { sys } = fixture();
  const r = await run(["--sysfs", sys, "--pci-ids", "/nope", "status"]);
  expect(r).toEqual({ status: 1, stdout: "", stderr: "emu-pci: cannot read the PCI ID database /nope: ENOENT\n" });
});

test("mdev types with no parents prints nothing", async () => {
  const base = defaultSpec();
  const { sys } = fixture({ pci: base.pci.filter((p) => p.mdevTypes === undefined), virtualParents: [], mdevs: [] });
  expect(await run(["--sysfs", sys, "mdev", "types"])).toEqual({ status: 0, stdout: "", stderr: "" });
});

test("dpdk-devbind's -s/--status and mdevctl's start/stop with -p/-t/-u", async () => {
  const { sys } = fixture();
  const status = await run(["--sysfs", sys, "--pci-ids", "none", "status"]);
  expect(await run(["--sysfs", sys, "--pci-ids", "none", "-s"])).toEqual(status);
  expect(await run(["--sysfs", sys, "--pci-ids", "none", "--status"])).toEqual(status);
  const writer = fixtureKernelWriter(sys);
  const uuid = "0e4b2f6a-1c3d-4e5f-8a9b-0c1d2e3f4a5b";
  const started = await run(["--sysfs", sys, "mdev", "start", "-u", uuid, "-p", "mtty", "-t", "mtty-1"], writer);
  expect(started).toEqual({ status: 0, stdout: `${uuid} mtty mtty-1\n`, stderr: "" });
  const ofMtty = (await run(["--sysfs", sys, "mdev", "list", "-p", "mtty"])).stdout.trimEnd().split("\n");
  expect(ofMtty.sort()).toEqual([`${uuid} mtty mtty-1`, `${MTTY_UUID} mtty mtty-2`].sort());
  expect((await run(["--sysfs", sys, "mdev", "list", "--uuid", uuid])).stdout).toBe(`${uuid} mtty mtty-1\n`);
  const types = (await run(["--sysfs", sys, "mdev", "types", "--parent=mtty"])).stdout;
  expect(types.startsWith("mtty\n  mtty-1\n")).toBe(true);
  expect(types).not.toContain("mdpy");
  expect(await run(["--sysfs", sys, "mdev", "stop", "-u", uuid], writer)).toEqual({
    status: 0,
    stdout: `removed ${uuid}\n`,
    stderr: "",
  });
});

test("a reader that goes away: EPIPE on stdout or stderr exits with the documented status", () => {
  const bin = path.join(import.meta.dirname, "..", "bin", "emu-pci.js");
  const run = (script: string) =>
    spawnSync("bash", ["-c", `${script}; echo "status=\${PIPESTATUS[0]}"`], { encoding: "utf8", timeout: 20_000 });
  expect(run(`"${process.execPath}" "${bin}" frob 2>&1 | head -1 >/dev/null`)).toMatchObject({
    stdout: "status=2\n",
    stderr: "",
  });
  expect(run(`"${process.execPath}" "${bin}" frob 2>&1 | true`)).toMatchObject({ stdout: "status=2\n", stderr: "" });
  expect(run(`"${process.execPath}" "${bin}" --help | true`)).toMatchObject({ stdout: "status=0\n", stderr: "" });
});
