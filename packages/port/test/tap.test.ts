// net_tap against the Linux kernel's own network stack, inside a network namespace this test makes (`unshare -n`):
// nothing outside it is touched, and it goes away with the child process.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { isPortError, netTap, PortRegistry, TxL3, TxL4 } from "@emu/port";
import { reapAfterTest } from "@emu/test-kit";
import { describe, expect, it } from "vitest";

const isRoot = process.getuid?.() === 0;
const hasTun = existsSync("/dev/net/tun");
const title =
  isRoot && hasTun
    ? "net_tap with the kernel in a network namespace"
    : `net_tap (skipped: ${isRoot ? "no /dev/net/tun" : "not root"})`;

function inNamespace(script: string): Promise<Record<string, unknown>> {
  const child = reapAfterTest(
    spawn("unshare", ["-n", process.execPath, new URL(script, import.meta.url).pathname], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    }),
  );
  return new Promise((resolve, reject) => {
    child.once("message", (m) => resolve(m as Record<string, unknown>));
    child.once("exit", (code) => reject(new Error(`the namespace child exited (${code}) before reporting`)));
  });
}

describe.skipIf(!(isRoot && hasTun))(title, () => {
  it("the kernel's packets arrive on the port and the port's reach the kernel's sockets", async () => {
    const r = await inNamespace("./fixtures/tap-child.mjs");
    expect(r.linkBeforeStart).toBe(false);
    expect(r.linkAfterStart).toBe(true);
    expect(r.info).toMatchObject({
      driver: "net_tap",
      macText: "02:00:00:00:00:02",
      rxQueues: 2,
      details: { iface: "emutap0" },
    });
    const kernelMac = (r.info as { details: Record<string, string> }).details["kernel MAC"];
    expect(r.udpFromKernel).toEqual([{ dst: "02:00:00:00:00:02", src: kernelMac, payload: "hello from the kernel" }]);
    expect(r.arpFromKernel).toContain("10.99.0.3"); // the kernel asks who has 10.99.0.3
    expect(r.sent).toBe(1);
    expect(r.udpToKernel).toEqual({ text: "hello from the port", from: "10.99.0.2" });
    const stats = r.stats as { ipackets: number; opackets: number; obytes: number; oerrors: number };
    expect(stats.ipackets).toBeGreaterThanOrEqual(2);
    expect(stats).toMatchObject({ opackets: 1, obytes: 61, oerrors: 0 });
    expect(r.linkAfterStop).toBe(false);
    expect(r.gone).toBe(true);
    expect(r.poolBack).toBe(256);
  });
});

describe.skipIf(!(isRoot && hasTun))(`${title}: checksum offload (offload=1)`, () => {
  it("the kernel's TCP and UDP checksums arrive as requests, and the port's requests are finished by the kernel", async () => {
    const r = await inNamespace("./fixtures/tap-offload-child.mjs");
    expect(r.details).toMatchObject({ iface: "emutap1", offload: "checksums" });
    // The kernel left the checksums to the NIC: not valid as they came, valid once finished from the request.
    const ipv4 = { l3: TxL3.IPV4, l2Len: 14, l3Len: 20 };
    expect(r.udp).toEqual({ request: { ...ipv4, l4: TxL4.UDP }, validAsSent: false, validFinished: true });
    expect(r.tcp).toEqual({ request: { ...ipv4, l4: TxL4.TCP }, validAsSent: false, validFinished: true });
    // Without a request the kernel drops the unfinished datagram; with one (and the IPv4 header's asked for) it takes it.
    expect(r.sent).toEqual([1, 1, 1]);
    expect(r.heard).toEqual(["IPv4 and UDP checksums requested", "UDP checksum requested"]);
    expect(r.stats).toMatchObject({ opackets: 3, oerrors: 0, ierrors: 0 });
    expect(r.poolBack).toBe(256);
  });
});

describe("net_tap devargs", () => {
  it("refuses interface names the kernel would not take", async () => {
    const r = new PortRegistry([netTap]);
    const e = await r.create("net_tap0,iface=a-name-far-too-long").catch((x: unknown) => x);
    expect(isPortError(e) && e.reason).toBe("Devargs");
    expect((e as Error).message).toBe(
      'net_tap0: bad interface name "a-name-far-too-long" (at most 15 bytes, no /, : or spaces)',
    );
  });
});
