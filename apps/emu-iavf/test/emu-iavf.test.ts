// emu-iavf as a user runs it: a separate process serving emu_iavf0 on a socket, seen by emu-lspci (and the real lspci
// reading emu-lspci's dump), logging the virtchnl conversation with -v, and closing cleanly on SIGINT/SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runEmuIavf } from "@emu/app-emu-iavf";
import { runLspci } from "@emu/app-emu-lspci";
import { AqFlag, AqLen, AqOpcode, encodeVirtchnl, Reg, readAqDescriptor, writeAqDescriptor } from "@emu/iavf-common";
import {
  afterThisTest,
  type LinePeer,
  linePeer,
  lspciF,
  lspciUnavailable,
  reapAfterTest,
  tempDir,
} from "@emu/test-kit";
import { RegionIo } from "@emu/vfio-device";
import { VfioUserClient } from "@emu/vfio-user-client";
import { beforeAll, describe, expect, it } from "vitest";

const BIN = join(import.meta.dirname, "..", "bin", "emu-iavf.js");

let noLspci: string | undefined;
beforeAll(() => {
  noLspci = lspciUnavailable();
}, 130_000);

/** Starts emu-iavf with `args`; resolves once it printed its banner (up to the QEMU line). */
async function serve(args: string[]): Promise<{ proc: ChildProcess; out: LinePeer; banner: string[] }> {
  const proc = reapAfterTest(spawn(process.execPath, [BIN, ...args], { stdio: ["pipe", "pipe", "inherit"] }));
  const out = linePeer(proc);
  const banner: string[] = [];
  for (;;) {
    const l = await out.next();
    banner.push(l);
    if (l.startsWith("QEMU:")) return { proc, out, banner };
  }
}

async function lspci(argv: string[]): Promise<string> {
  const out: string[] = [];
  const code = await runLspci(argv, { stdout: { write: (s: string) => out.push(s) }, stderr: process.stderr });
  expect(code).toBe(0);
  return out.join("");
}

function exited(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) resolve(proc.exitCode);
    else proc.once("exit", (code) => resolve(code));
  });
}

describe("emu-iavf", () => {
  it("serves emu_iavf0: emu-lspci -vv shows an Intel AVF VF, as the real lspci decodes the same config space", async () => {
    const sock = join(tempDir(), "iavf.sock");
    const { banner } = await serve([`emu_iavf0,sock=${sock},queues=4,mac=02:00:00:00:00:01`]);
    expect(banner).toEqual([
      "emu_iavf0: Intel Ethernet Adaptive Virtual Function [8086:1889], 4 queue pair(s), MAC 02:00:00:00:00:01, MTU 1500, link down (no data path)",
      `serving on ${sock}`,
      `QEMU: -device '{"driver":"vfio-user-pci","socket":{"type":"unix","path":"${sock}"}}'`,
    ]);
    const vv = (await lspci(["-vv", sock])).split("\n");
    expect(vv[0]).toBe("00:00.0 Ethernet controller: Intel Corporation Ethernet Adaptive Virtual Function (rev 01)");
    expect(vv).toContain("\tSubsystem: Intel Corporation Ethernet Adaptive Virtual Function");
    expect(vv).toContain("\tRegion 0: Memory at <unassigned> (64-bit, prefetchable) [disabled] [size=64K]");
    expect(vv).toContain("\tRegion 3: Memory at <unassigned> (64-bit, prefetchable) [disabled] [size=16K]");
    expect(vv.filter((l) => l.startsWith("\tCapabilities") && l.includes("MSI-X"))).toEqual([
      "\tCapabilities: [40] MSI-X: Enable- Count=17 Masked-",
    ]);
    expect(vv).toContain("\t\tVector table: BAR=3 offset=00000000");
    expect(vv).toContain("\t\tPBA: BAR=3 offset=00002000");
    expect(vv).toContain("\tCapabilities: [4c] Express (v2) Endpoint, MSI 00");
    expect(vv.some((l) => l.includes("FLReset+"))).toBe(true);
    expect(vv).toContain("\t\tSparse mmap: [0x0+0x1000] [0x2000+0x1000]");
    expect(vv).toContain("\tIRQ 2 (MSI-X): count=17, flags=0x3 <EVENTFD MASKABLE>");
    if (noLspci !== undefined) return console.warn(`lspci -F part skipped: ${noLspci}`);
    // The real lspci on our config-space dump: the same lines (Region lines lack the size a dump cannot carry).
    const theirs = lspciF(await lspci(["-xxxx", sock]), ["-vv"]).split("\n");
    const ours = vv.slice(
      0,
      vv.findIndex((l) => l.startsWith("\tvfio-user:")),
    );
    expect(ours.map((l) => l.replace(/ \[size=\w+\]$/, ""))).toEqual(theirs.slice(0, ours.length));
  });

  it("-v logs the virtchnl conversation; SIGTERM closes the device and removes the socket", async () => {
    const sock = join(tempDir(), "iavf.sock");
    const { proc, out } = await serve(["-v", `emu_iavf3,sock=${sock},queues=2,mac=02:00:00:00:00:03`]);
    const client = await VfioUserClient.connect(sock);
    afterThisTest(() => client.close());
    expect(await out.next()).toBe("client connected");
    // A one-message guest: a 2-entry ATQ and ARQ in 64 KiB of memfd guest memory, VERSION posted by hand.
    const mem = await client.dmaMap(0x10_0000n, 0x10000n);
    const bar = await RegionIo.open(client, 0);
    afterThisTest(() => bar.close());
    const view = new DataView(mem.bytes.buffer, mem.bytes.byteOffset, mem.bytes.length);
    const desc = (flags: number, opcode: number, datalen: number, cookieHigh: number, addr: number) => ({
      flags,
      opcode,
      datalen,
      retval: 0,
      cookieHigh,
      cookieLow: 0,
      param0: 0,
      param1: 0,
      addrHigh: 0,
      addrLow: 0x10_0000 + addr,
    });
    writeAqDescriptor(view, 0x1000, desc(AqFlag.BUF | AqFlag.LB, 0, 4096, 0, 0x8000)); // ARQ slot 0
    const v = encodeVirtchnl({ kind: "VersionRequest", major: 1, minor: 1 });
    mem.bytes.set(v.payload, 0x4000);
    writeAqDescriptor(view, 0, desc(AqFlag.SI | AqFlag.BUF | AqFlag.RD, AqOpcode.SEND_MSG_TO_PF, 8, 1, 0x4000));
    await bar.write32(BigInt(Reg.VF_ATQLEN1), 2 | AqLen.ENABLE);
    await bar.write32(BigInt(Reg.VF_ATQBAL1), 0x10_0000);
    await bar.write32(BigInt(Reg.VF_ARQLEN1), 2 | AqLen.ENABLE);
    await bar.write32(BigInt(Reg.VF_ARQBAL1), 0x10_1000);
    await bar.write32(BigInt(Reg.VF_ARQT1), 1);
    await bar.write32(BigInt(Reg.VF_ATQT1), 1);
    expect(readAqDescriptor(view, 0x1000)).toMatchObject({ cookieHigh: 1, datalen: 8 });
    expect([await out.next(), await out.next()]).toEqual(["vf→pf VERSION 8 B", "pf→vf VERSION SUCCESS 8 B"]);
    await client.close();
    expect([await out.next(), await out.next()]).toEqual(["reset (VF reset)", "client gone"]);
    proc.kill("SIGTERM");
    expect(await out.next()).toBe("closed");
    expect(await exited(proc)).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });

  it("SIGINT closes it too; bad usage and bad devargs exit 2 naming the problem, an unusable socket path 1", async () => {
    const sock = join(tempDir(), "iavf.sock");
    const { proc, out } = await serve([`emu_iavf0,sock=${sock}`]);
    proc.kill("SIGINT");
    expect(await out.next()).toBe("closed");
    expect(await exited(proc)).toBe(0);
    const run = async (argv: string[]) => {
      const o: string[] = [];
      const e: string[] = [];
      const code = await runEmuIavf(
        argv,
        { stdout: { write: (s: string) => o.push(s) }, stderr: { write: (s: string) => e.push(s) } },
        AbortSignal.abort(),
      );
      return { code, out: o.join(""), err: e.join("") };
    };
    expect(await run([])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^emu-iavf: missing <devargs>\nUsage:/),
    });
    expect(await run(["--frobnicate", "x"])).toMatchObject({
      code: 2,
      err: expect.stringContaining("unknown option --frobnicate"),
    });
    expect(await run([`emu_iavf0,sock=${sock},queues=20`])).toMatchObject({
      code: 2,
      err: 'emu-iavf: devargs "emu_iavf0": bad value "20" for key "queues": must be 1..16\n',
    });
    expect(await run([`emu_iavf0,queues=2`])).toMatchObject({
      code: 2,
      err: expect.stringContaining('missing key "sock"'),
    });
    expect(await run([`emu_iavf0,sock=/nonexistent/dir/x.sock`])).toMatchObject({
      code: 1,
      err: expect.stringContaining("cannot serve on /nonexistent/dir/x.sock"),
    });
    expect((await run(["--help"])).out).toContain("Usage: emu-iavf [options] <devargs>");
    // Served and stopped at once (the stop signal already aborted): closes cleanly.
    expect(await run(["-q", `emu_iavf0,sock=${sock}`])).toEqual({ code: 0, out: "", err: "" });
  });
});
