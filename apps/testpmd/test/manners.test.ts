// The installed command: usage errors, help, non-interactive runs (enter to exit, statistics every period) and
// signals that shut down cleanly — through a real process.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { reapAfterTest, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../bin/emu-testpmd.js", import.meta.url));
const run = (args: string[], input = "") =>
  spawnSync(process.execPath, [bin, ...args], { input, encoding: "utf8", timeout: 20_000 });

describe("emu-testpmd", () => {
  it("--help prints the usage; a bad option is exit 2 with the reason", () => {
    const help = run(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: emu-testpmd \[EAL options\] -- \[testpmd options\]\n/);
    expect(help.stdout).toContain("--forward-mode <mode>   io|mac|macswap|rxonly|txonly|flowgen");
    const bad = run(["--bogus"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("emu-testpmd: unknown EAL option --bogus\nTry emu-testpmd --help\n");
    expect(run(["--", "--forward-mode=warp"]).stderr).toMatch(/--forward-mode: "warp" is not one of io, mac/);
    expect(run(["--", "--rxq", "0"]).stderr).toMatch(/--rxq must be an integer from 1 to 1024, not "0"/);
    expect(run(["-l", "3-1"]).stderr).toMatch(/bad lcore "3-1"/);
    expect(run(["--", "--txpkts=64,64"]).stderr).toMatch(/multi-segment packets are not supported/);
    expect(help.stdout).toContain("--disable-rss           no RSS hashing");
  });

  it("one lcore is not enough: testpmd needs a forwarding lcore", () => {
    const r = run(["-l", "0", "--vdev", "net_null0"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("testpmd: No cores defined for forwarding\nCheck the core mask argument\n");
    expect(run(["--lcores=0@0,1@0", "--", "--nb-cores=2"]).stderr).toBe(
      "testpmd: The nb-cores must be >= 1 and <= 1\n",
    );
  });

  it("without -i it forwards until enter (or the end of the input), then shuts down", () => {
    const r = run(
      ["--lcores=0@0,1@0", "--no-huge", "-m", "1024", "--no-pci", "--file-prefix=t1", "--vdev", "net_null0"],
      "\n",
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("No commandline core given, start packet forwarding\n");
    expect(r.stdout).toContain("Press enter to exit\n");
    expect(r.stdout).toMatch(/Accumulated forward statistics for all ports[\s\S]*Port 0 is closed\nDone\n\nBye...\n$/);
  });

  it("--stats-period shows the statistics until a signal, which stops forwarding and shuts down", async () => {
    const child = reapAfterTest(
      spawn(
        process.execPath,
        [bin, "-l", "0-1", "--vdev", "net_null0", "--", "--stats-period", "1", "--forward-mode=rxonly"],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      ),
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    await until(() => (out.match(/Port statistics =+/g) ?? []).length >= 2, 10_000, "two statistics screens");
    expect(out).toContain("Set rxonly packet forwarding mode\n");
    expect(out).toContain("\x1b[2J\x1b[1;1H\nPort statistics ====================================\n  #####");
    child.kill("SIGINT");
    const code = await new Promise((r) => child.once("exit", r));
    expect(code).toBe(0);
    expect(out).toMatch(/Signal received, preparing to exit...\nTelling cores to stop...[\s\S]*Bye...\n$/);
  });
});
