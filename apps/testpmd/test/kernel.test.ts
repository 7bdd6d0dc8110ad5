// The Linux kernel at both ends of the emulated NIC: process A (in a network namespace of its own) forwards between
// net_iavfbe and a TAP interface, process B (in another) between net_iavf_client and another TAP; the kernel in B's
// namespace pings the kernel in A's and sends it a few MiB over TCP. Addresses exist only inside the two namespaces,
// which go away with the processes. Needs root (CI runs as root): skipped otherwise.
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { type RemoteTestpmd, spawnTestpmd } from "@emu/app-testpmd";
import { afterThisTest, reapAfterTest, tempDir } from "@emu/test-kit";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const usable = isRoot && existsSync("/dev/net/tun");
const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

/** Runs `cmd` in the network namespace of `pid`. */
const inNs = (pid: number, cmd: string, ...args: string[]) => run("nsenter", ["-t", String(pid), "-n", cmd, ...args]);

async function end(name: string, vdevs: string[], attach?: string): Promise<RemoteTestpmd & { pid: number }> {
  const t = await spawnTestpmd([...vdevs, "--", "-i"], { wrap: ["unshare", "-n"] });
  afterThisTest(() => t.quit());
  if (attach !== undefined) {
    const out = await t.ask(`port attach ${attach}`);
    const id = /Port (\d+) is attached/.exec(out)?.[1];
    if (id === undefined) throw new Error(`${name}: ${out}`);
    await t.ask(`port start ${id}`);
  }
  return Object.assign(t, { pid: t.process.pid as number });
}

describe.skipIf(!usable)(usable ? "the kernel at both ends" : "the kernel at both ends (skipped: not root)", () => {
  it("one namespace's kernel pings the other's through the emulated NIC, and 4 MiB of TCP arrive byte-exact", async () => {
    const sock = join(tempDir({ prefix: "nic-kernel-" }), "x.sock");
    const a = await end(
      "A",
      ["--vdev", `emu_iavf0,sock=${sock},queues=1`, "--vdev", "net_tap0,iface=emuA"],
      "net_iavfbe,emu=emu_iavf0",
    );
    const b = await end("B", ["--vdev", `net_iavf_client0,path=${sock}`, "--vdev", "net_tap0,iface=emuB", "--no-pci"]);
    await a.ask("start");
    await b.ask("start");
    await inNs(a.pid, "ip", "addr", "add", "10.77.0.1/24", "dev", "emuA");
    await inNs(b.pid, "ip", "addr", "add", "10.77.0.2/24", "dev", "emuB");
    // Nothing of this is outside the namespaces: the host has no emuA/emuB and no 10.77.0.0/24.
    expect((await run("ip", ["-o", "addr"])).stdout).not.toContain("10.77.0.");

    const ping = await inNs(b.pid, "python3", join(FIXTURES, "ping.py"), "10.77.0.1", "5");
    expect(ping.stdout.trim()).toBe("5 5");

    const server = reapAfterTest(
      spawn("nsenter", [
        "-t",
        String(a.pid),
        "-n",
        process.execPath,
        join(FIXTURES, "tcp.mjs"),
        "serve",
        "10.77.0.1",
        "7000",
      ]),
    );
    // Listen for the exit now: the server may be gone before the sender has printed its line.
    const serverExited = new Promise((resolve) => server.once("exit", resolve));
    let received = "";
    server.stdout?.on("data", (d) => {
      received += String(d);
    });
    await new Promise<void>((resolve) => {
      const check = () => (received.includes("listening") ? resolve() : setTimeout(check, 20));
      check();
    });
    const bytes = 4 * 1024 * 1024;
    const sent = await inNs(
      b.pid,
      process.execPath,
      join(FIXTURES, "tcp.mjs"),
      "send",
      "10.77.0.1",
      "7000",
      String(bytes),
    );

    await serverExited;
    const [, got] = received.trim().split("\n");
    expect(got).toBe(sent.stdout.trim());
    expect(got?.startsWith(`${bytes} `)).toBe(true);

    await b.ask("stop");
    const stats = await a.ask("stop");
    expect(stats).toContain("Accumulated forward statistics");
  }, 120_000); // two testpmd processes, namespaces and a TCP transfer: slow on a loaded machine
});
