// The kernel-to-kernel TCP transfer across a live migration: B (its own network namespace, net_iavf_client + a TAP)
// sends 64 MiB over TCP to the kernel of A's namespace (A: emu_iavf0 + net_iavfbe + a TAP); mid-transfer B's port
// moves to C, a back-end in A's namespace with a TAP of its own (A's TAP's Ethernet address, as the far end keeps
// its address across the move), and A's kernel routes B's subnet through C's TAP.
// The connection survives and every byte arrives (same SHA-256). Needs root (CI runs as root): skipped otherwise.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { tempDir, until } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { inNs, tcpSend, tcpServer, testpmdIn as testpmd } from "./fixtures/kernel.js";
import { figure } from "./fixtures/nic.js";

const isRoot = process.getuid?.() === 0;
const usable = isRoot && existsSync("/dev/net/tun");
// Enough that the transfer outlasts the move by far: it flows through all of the move but the downtime, and at the
// rate it goes here a few MiB would be over before the switch.
const BYTES = 64 * 1024 * 1024;

describe.skipIf(!usable)(usable ? "the kernel at both ends" : "the kernel at both ends (skipped: not root)", () => {
  it("a TCP transfer between the kernels carries on, byte-exact, across port migrate", async () => {
    const dir = tempDir({ prefix: "mig-kernel-" });
    const [x, y] = [join(dir, "x.sock"), join(dir, "y.sock")];
    const iavfbe = "net_iavfbe,emu=emu_iavf0";
    const dev = (sock: string) => `emu_iavf0,sock=${sock},queues=1,mac=02:00:00:00:00:01`; // the same device twice
    const a = await testpmd(["--vdev", dev(x), "--vdev", "net_tap0,iface=emuA"], ["unshare", "-n"], iavfbe);
    const ns = ["nsenter", "-t", String(a.pid), "-n"];
    const c = await testpmd(["--vdev", dev(y), "--vdev", "net_tap0,iface=emuC"], ns, iavfbe);
    const b = await testpmd(
      ["--vdev", `net_iavf_client0,path=${x}`, "--vdev", "net_tap0,iface=emuB", "--no-pci"],
      ["unshare", "-n"],
    );
    for (const t of [a, c, b]) await t.ask("start");
    await inNs(a.pid, "ip", "addr", "add", "10.77.0.1/24", "dev", "emuA");
    await inNs(b.pid, "ip", "addr", "add", "10.77.0.2/24", "dev", "emuB");
    // The far end keeps its Ethernet address across the move (B's kernel has it in its neighbour table).
    const link = (await inNs(a.pid, "ip", "-o", "link", "show", "emuA")).stdout;
    const emuA = /link\/ether ([0-9a-f:]{17})/.exec(link)?.[1] ?? "";
    expect(emuA).not.toBe("");
    await inNs(a.pid, "ip", "link", "set", "emuC", "address", emuA);

    const server = await tcpServer(a.pid, "10.77.0.1", 7000);
    let over = false;
    void server.received.then(() => {
      over = true;
    });
    const sending = tcpSend(b.pid, "10.77.0.1", 7000, BYTES);
    await until(async () => figure(await a.ask("show port stats 1"), "RX-packets:") > 2000, 30_000, "TCP under way");

    const moved = await b.ask(`port migrate 0 ${y}`);
    expect(moved).toMatch(/Port 0 migrated/);
    await inNs(a.pid, "ip", "route", "replace", "10.77.0.0/24", "dev", "emuC"); // A's kernel now reaches B through C
    expect(over).toBe(false); // the transfer was not over before the move
    const sent = await sending;
    const got = await server.received;
    expect(got).toBe(sent);
    expect(got.startsWith(`${BYTES} `)).toBe(true);
    expect(figure(await c.ask("show port stats 1"), "RX-packets:")).toBeGreaterThan(1000); // C carried the rest
  }, 180_000);
});
