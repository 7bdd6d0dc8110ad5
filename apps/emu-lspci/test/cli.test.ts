// emu-lspci through injected output streams, against the test device in another process; `-x` output checked with
// the real lspci -F when pciutils is there.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { runLspci, USAGE } from "@emu/app-emu-lspci";
import { lspciF, lspciUnavailable } from "@emu/test-kit";
import { beforeAll, describe, expect, it } from "vitest";
import { startDevice } from "./helpers.js";

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
    out: () => out.join(""),
    err: () => err.join(""),
  };
}

async function lspci(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const t = io();
  const code = await runLspci(argv, t.io);
  return { code, out: t.out(), err: t.err() };
}

/** Why lspci cannot be used here, or undefined when it can. */
let noLspci: string | undefined;
beforeAll(() => {
  noLspci = lspciUnavailable();
}, 130_000);

describe("emu-lspci", () => {
  it("one line per device, then its vfio-user regions and IRQs", async () => {
    const dev = await startDevice();
    const r = await lspci([dev.socketPath]);
    expect(r.code).toBe(0);
    const lines = r.out.split("\n");
    expect(lines[0]).toBe("00:00.0 System peripheral: Device 1234:11ed (rev 02)");
    expect(lines[1]).toMatch(/^\tvfio-user: .*dev\.sock, protocol 0\.2, max_data_xfer_size 1048576, max_msg_fds 16, /);
    expect(r.out).toContain("\tDevice: flags 0x3 <RESET PCI>, 9 regions, 5 IRQs\n");
    expect(r.out).toContain(
      "\tRegion 0 (BAR0): size=0x4000 [size=16K], offset=0x0, flags=0xf <READ WRITE MMAP CAPS>\n\t\tSparse mmap: [0x1000+0x1000]\n",
    );
    expect(r.out).toContain("\tRegion 7 (CONFIG): size=0x1000 [size=4K], offset=0x0, flags=0x3 <READ WRITE>\n");
    expect(r.out).toContain("\tIRQ 2 (MSI-X): count=4, flags=0x3 <EVENTFD MASKABLE>\n");
    expect(r.out).not.toContain("Region 1 (BAR1)"); // empty regions only with -vv
  });

  it("-vv: the lspci blocks", async () => {
    const dev = await startDevice();
    const r = await lspci([dev.socketPath, "-vv"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      [
        "00:00.0 System peripheral: Device 1234:11ed (rev 02)",
        "\tSubsystem: Device 1234:0001",
        "\tControl: I/O- Mem- BusMaster- SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- SERR- FastB2B- DisINTx-",
        "\tStatus: Cap+ 66MHz- UDF- FastB2B- ParErr- DEVSEL=fast >TAbort- <TAbort- <MAbort- >SERR- <PERR- INTx-",
        "\tInterrupt: pin A routed to IRQ 0",
        "\tRegion 0: Memory at <unassigned> (64-bit, prefetchable) [disabled] [size=16K]",
        "\tRegion 2: Memory at <unassigned> (32-bit, non-prefetchable) [disabled] [size=4K]",
        "\tCapabilities: [40] Power Management version 3",
      ].join("\n"),
    );
    expect(r.out).toContain(
      "\tCapabilities: [60] MSI-X: Enable- Count=4 Masked-\n\t\tVector table: BAR=2 offset=00000800\n",
    );
    expect(r.out).toMatch(/\tCapabilities: \[[0-9a-f]+\] Express \(v2\) Endpoint, MSI 00\n\t\tDevCap:\tMaxPayload/);
    expect(r.out).toContain("\tRegion 1 (BAR1): size=0x0, offset=0x0, flags=0x0\n");
    expect(r.out.endsWith("\n\n")).toBe(true);
  });

  it("-vv agrees with lspci -F on what both print", async (ctx) => {
    if (noLspci) ctx.skip(noLspci);
    const dev = await startDevice();
    const ours = (await lspci([dev.socketPath, "-vv"])).out.split("\n");
    const dump = (await lspci([dev.socketPath, "-xxx"])).out;
    const theirs = lspciF(dump, ["-vv"]).split("\n");
    // Lines lspci prints from config space alone must be ours too; Region lines are ours plus the size we know.
    const prefixes = [
      "\tControl:",
      "\tStatus:",
      "\tInterrupt:",
      "\tCapabilities:",
      "\t\tFlags:",
      "\t\tAddress:",
      "\t\tMasking:",
      "\t\tVector table:",
      "\t\tPBA:",
      "\tRegion",
    ];
    const compared = theirs.filter((l) => prefixes.some((p) => l.startsWith(p)));
    expect(compared.length).toBeGreaterThan(10);
    for (const l of compared) {
      if (l.startsWith("\tRegion")) expect(ours.some((o) => o.startsWith(l))).toBe(true);
      else expect(ours).toContain(l);
    }
  });

  it("-x prints lspci's hex dump, and lspci -F decodes it", async (ctx) => {
    const dev = await startDevice();
    const r = await lspci([dev.socketPath, "-x"]);
    const lines = r.out.split("\n");
    expect(lines).toHaveLength(7); // header, 4 × 16 bytes, blank, end
    expect(lines[1]).toBe("00: 34 12 ed 11 00 00 10 00 02 00 80 08 00 00 00 00");
    expect(lines[2]).toBe("10: 0c 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
    expect(lines[5]).toBe("");
    expect((await lspci([dev.socketPath, "-xxx"])).out.split("\n")).toHaveLength(16 + 3);
    expect((await lspci([dev.socketPath, "-xxxx"])).out.split("\n")).toHaveLength(256 + 3);
    if (noLspci) ctx.skip(noLspci);
    const decoded = lspciF(r.out, ["-nn"]);
    expect(decoded).toBe("00:00.0 System peripheral [0880]: Device [1234:11ed] (rev 02)\n");
    const full = lspciF((await lspci([dev.socketPath, "-xxxx"])).out, ["-vv"]);
    expect(full).toContain("Capabilities: [60] MSI-X: Enable- Count=4 Masked-");
  });

  it("-n and -nn, several sockets numbered in order", async () => {
    const a = await startDevice();
    const b = await startDevice();
    expect((await lspci(["-n", a.socketPath])).out.split("\n")[0]).toBe("00:00.0 0880: 1234:11ed (rev 02)");
    expect((await lspci(["-nn", a.socketPath])).out.split("\n")[0]).toBe(
      "00:00.0 System peripheral [0880]: Device [1234:11ed] (rev 02)",
    );
    const both = (await lspci([a.socketPath, b.socketPath, "-x"])).out;
    expect(both.match(/^0\d:\d\d\.0 .*$/gm)).toEqual([
      "00:00.0 System peripheral: Device 1234:11ed (rev 02)",
      "00:01.0 System peripheral: Device 1234:11ed (rev 02)",
    ]);
  });

  it("usage errors exit 2, unreachable sockets exit 1 and the rest still print", async () => {
    expect(await lspci([])).toMatchObject({ code: 2, out: "", err: `emu-lspci: no socket given\n${USAGE}` });
    expect((await lspci(["-q", "x"])).code).toBe(2);
    expect(await lspci(["--help"])).toMatchObject({ code: 0, out: USAGE });
    const dev = await startDevice();
    const r = await lspci(["/nonexistent/x.sock", dev.socketPath]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^emu-lspci: \/nonexistent\/x\.sock: cannot connect to \/nonexistent\/x\.sock: .*ENOENT/);
    expect(r.out.split("\n")[0]).toBe("00:01.0 System peripheral: Device 1234:11ed (rev 02)");
  });

  it("the bin runs as a program", async () => {
    const dev = await startDevice();
    const bin = join(import.meta.dirname, "..", "dist", "bin.js");
    const r = spawnSync(process.execPath, [bin, dev.socketPath, "-v"], { encoding: "utf8", timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n").slice(0, 3)).toEqual([
      "00:00.0 System peripheral: Device 1234:11ed (rev 02)",
      "\tSubsystem: Device 1234:0001",
      "\tFlags: fast devsel",
    ]);
  });
});
