// The Linux kernel at both ends of the emulated NIC: process A (in a network namespace of its own) forwards between
// net_iavfbe and a TAP interface, process B (in another) between net_iavf_client and another TAP; the kernel in B's
// namespace pings the kernel in A's and sends it a few MiB over TCP. Addresses exist only inside the two namespaces,
// which go away with the processes. Needs root (CI runs as root): skipped otherwise.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "@emu/test-kit";
import { describe, expect, it } from "vitest";
import { hostAddresses, inNs, tcpSend, tcpServer, testpmdIn } from "./fixtures/kernel.js";

const isRoot = process.getuid?.() === 0;
const usable = isRoot && existsSync("/dev/net/tun");
const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const NS = ["unshare", "-n"];

/** Tcp InCsumErrors of the namespace of `pid` (/proc/net/snmp: a header line, then a values line). */
async function tcpChecksumErrors(pid: number): Promise<number> {
  const lines = (await inNs(pid, "cat", "/proc/net/snmp")).stdout.split("\n").filter((l) => l.startsWith("Tcp:"));
  const names = lines[0]?.split(/\s+/) ?? [];
  return Number(lines[1]?.split(/\s+/)[names.indexOf("InCsumErrors")]);
}

/**
 * B pings A and sends it `bytes` of TCP through the NIC; `tapB` are the devargs of B's TAP after its name (e.g.
 * ",offload=1": B's kernel leaves the checksums of what it sends to the NIC), `appB` B's app options, `tapA` those
 * of A's TAP (",offload=1": A's kernel leaves its ACKs' checksums to net_iavfbe, which finishes them for the guest). Returns A's
 * net_iavfbe port info and the TCP checksum errors A's kernel counted.
 */
async function kernelToKernel(bytes: number, tapB = "", appB: string[] = [], tapA = "") {
  const sock = join(tempDir({ prefix: "nic-kernel-" }), "x.sock");
  const a = await testpmdIn(
    ["--vdev", `emu_iavf0,sock=${sock},queues=1`, "--vdev", `net_tap0,iface=emuA${tapA}`],
    NS,
    "net_iavfbe,emu=emu_iavf0",
  );
  const b = await testpmdIn(
    ["--vdev", `net_iavf_client0,path=${sock}`, "--vdev", `net_tap0,iface=emuB${tapB}`, "--no-pci"],
    NS,
    undefined,
    appB,
  );
  await a.ask("start");
  await b.ask("start");
  await inNs(a.pid, "ip", "addr", "add", "10.77.0.1/24", "dev", "emuA");
  await inNs(b.pid, "ip", "addr", "add", "10.77.0.2/24", "dev", "emuB");
  // Nothing of this is outside the namespaces: the host has no emuA/emuB and no 10.77.0.0/24.
  expect(await hostAddresses()).not.toContain("10.77.0.");

  const ping = await inNs(b.pid, "python3", join(FIXTURES, "ping.py"), "10.77.0.1", "5");
  expect(ping.stdout.trim()).toBe("5 5");

  const server = await tcpServer(a.pid, "10.77.0.1", 7000);
  const sent = await tcpSend(b.pid, "10.77.0.1", 7000, bytes);
  const got = await server.received;
  expect(got).toBe(sent);
  expect(got.startsWith(`${bytes} `)).toBe(true);

  await b.ask("stop");
  const stats = await a.ask("stop");
  expect(stats).toContain("Accumulated forward statistics");
  return { infoA: await a.ask("show port info 1"), csumErrorsA: await tcpChecksumErrors(a.pid) };
}

describe.skipIf(!usable)(usable ? "the kernel at both ends" : "the kernel at both ends (skipped: not root)", () => {
  it("one namespace's kernel pings the other's through the emulated NIC, and 4 MiB of TCP arrive byte-exact", async () => {
    const { infoA, csumErrorsA } = await kernelToKernel(4 * 1024 * 1024);
    expect(infoA).toContain("checksums filled in 0 frames");
    expect(csumErrorsA).toBe(0);
  }, 120_000); // two testpmd processes, namespaces and a TCP transfer: slow on a loaded machine

  it("with B's kernel leaving its checksums to the NIC (B's TAP offload=1), the device fills them in: TCP arrives byte-exact", async () => {
    // B's kernel sends TCP with CHECKSUM_PARTIAL; net_tap hands the request on, net_iavf_client asks the device
    // (CMD.IIPT, CMD.L4T, OFFSET) and net_iavfbe computes the checksums that A's kernel then checks.
    // A's TAP too: A's kernel leaves its ACKs' checksums unfinished, and net_iavfbe finishes them on their way to B.
    const { infoA, csumErrorsA } = await kernelToKernel(4 * 1024 * 1024, ",offload=1", [], ",offload=1");
    const filled = Number(/checksums filled in (\d+) frames/.exec(infoA)?.[1]);
    expect(filled).toBeGreaterThan(2000); // (4 MiB is about 2900 full-sized segments, each with its checksum asked)
    expect(csumErrorsA).toBe(0);
  }, 120_000);

  it("with B's kernel leaving TCP segmentation to the NIC too (tso=1): the device cuts its 64 KiB packets, byte-exact", async () => {
    // B's kernel sends TCP packets of up to 64 KiB (TUN_F_TSO4): net_tap hands them on whole in 64 KiB buffers
    // (--mbuf-size=65535) with a segmentation request, net_iavf_client writes a context descriptor (CMD.TSO, TSO_LEN,
    // MSS) and the buffer in 12 KiB chunks, and net_iavfbe cuts the segments that A's kernel receives.
    const { infoA, csumErrorsA } = await kernelToKernel(8 * 1024 * 1024, ",offload=1,tso=1", [
      "--mbuf-size=65535",
      "--total-num-mbufs=4096",
    ]);
    const tso = Number(/TSO (\d+) packets/.exec(infoA)?.[1]);
    expect(tso).toBeGreaterThan(10);
    expect(csumErrorsA).toBe(0);
  }, 120_000);
});
