// emu-lspci -vv against the real lspci (pciutils) reading the hex dump emu-lspci writes (-xxxx): for the config-space
// part both must print the same lines. Only the first line differs by design (lspci has pci.ids names, we print
// IDs), and Region lines are ours plus the [size=...] that lspci cannot know from a dump. Skipped, with the reason,
// where lspci is missing and cannot be installed.
import { join } from "node:path";
import { type DeviceReport, formatLspci, runLspci } from "@emu/app-emu-lspci";
import { lspciF, lspciUnavailable, tempDir } from "@emu/test-kit";
import type { RegionInfo } from "@emu/vfio-device";
import { VfioUserClient } from "@emu/vfio-user-client";
import { PciRegion } from "@emu/vfio-user-proto";
import { beforeAll, describe, expect, it } from "vitest";
import { forkFixture, startDevice } from "./helpers.js";

let noLspci: string | undefined;
beforeAll(() => {
  noLspci = lspciUnavailable();
}, 130_000);

async function cli(argv: string[]): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runLspci(argv, {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
  });
  expect({ code, err: err.join("") }).toEqual({ code: 0, err: "" });
  return out.join("");
}

/** The config-space block of one device's -vv output: the lines after the first, up to our vfio-user lines. */
function configBlock(text: string): string[] {
  const lines = text.split("\n").slice(1);
  const end = lines.findIndex((l) => l.startsWith("\tvfio-user:") || l === "");
  return end < 0 ? lines : lines.slice(0, end);
}

/** Splits a block at its first capability line: [header lines, capability lines]. */
function sections(block: string[]): [string[], string[]] {
  const i = block.findIndex((l) => l.startsWith("\tCapabilities:"));
  return i < 0 ? [block, []] : [block.slice(0, i), block.slice(i)];
}

/** emu-lspci -vv against lspci -F on emu-lspci -xxxx, for one device: capabilities line for line, header lines too. */
function expectSameAsLspci(ours: string, dump: string): { header: string[]; capabilities: string[] } {
  const [ourHeader, ourCaps] = sections(configBlock(ours));
  const [theirHeader, theirCaps] = sections(configBlock(lspciF(dump, ["-vv"])));
  expect(ourCaps).toEqual(theirCaps);
  // Header lines: identical, except that a Region line of ours may add the size lspci cannot know from a dump, and we
  // show regions whose register reads 0 (lspci -F cannot tell them from nothing).
  const isRegion = (l: string) => /^\t(Region \d+:|Expansion ROM at)/.test(l);
  expect(ourHeader.filter((l) => !isRegion(l))).toEqual(theirHeader.filter((l) => !isRegion(l)));
  for (const l of theirHeader.filter(isRegion)) {
    const o = ourHeader.find((x) => x.startsWith(l));
    expect(o?.slice(l.length), l).toMatch(/^( \[size=\w+\])?$/);
  }
  return { header: ourHeader, capabilities: ourCaps };
}

// libvfio-user's samples/gpio-pci-idio-16 config space: the 256-byte REGION_READ(region 7) reply of session
// "probe-vs-gpio" (seq 55) in shared/fixtures/libvfio-user-frames.json, after the probe wrote COMMAND = 6. With the
// region info that session reported (BAR2: 256 bytes; config: 256 bytes).
const GPIO_CONFIG = Uint8Array.from(
  Buffer.from(
    "4f49c80d06000000000000000000000001000000010000000100000001000000" +
      "0100000001000000000000000000000000000000000000000000000000010000" +
      "00".repeat(192),
    "hex",
  ),
);

function gpioReport(): DeviceReport {
  const region = (index: number, size: bigint): RegionInfo => ({
    index,
    flags: size === 0n ? 0 : 3,
    readable: size !== 0n,
    writable: size !== 0n,
    mmappable: false,
    size,
    offset: 0n,
    msixMappable: false,
    otherCapabilities: [],
  });
  return {
    address: { kind: "vfio-user", socketPath: "gpio.sock" },
    // Only what the vfio-user lines print; the session itself is not under test here.
    negotiated: {
      major: 0,
      minor: 2,
      server: { maxDataXferSize: 1048576, maxMsgFds: 8 },
      twinSocket: false,
      writeMultiple: false,
    } as unknown as NonNullable<DeviceReport["negotiated"]>,
    info: { flags: 3, resettable: true, pci: true, numRegions: 9, numIrqs: 5 },
    regions: [0n, 0n, 0x100n, 0n, 0n, 0n, 0n, 0x100n, 0n].map((size, i) => region(i, size)),
    irqs: [],
    config: GPIO_CONFIG,
  };
}

const hex = (s: string) => ({ hex: s.replace(/\s+/g, "") });

/**
 * An endpoint with PM, MSI, MSI-X and PCI Express and the extended capabilities AER, DSN, ARI and SR-IOV, served by
 * our server: the register values are the builder's, the AER/DSN/ARI/SR-IOV bodies the bytes below.
 */
const AER_DEVICE = {
  vendorId: 0x1234,
  deviceId: 0x11ee,
  subsystemVendorId: 0x1234,
  subsystemId: 0x0002,
  revision: 1,
  classCode: 0x020000,
  interruptPin: 1,
  bars: [
    { index: 0, kind: "memory64", size: 0x20000, prefetchable: true },
    { index: 2, kind: "memory32", size: 0x4000 },
    { index: 4, kind: "io", size: 32 },
  ],
  rom: { size: 0x10000 },
  capabilities: [
    { kind: "pm", d1: true, pmeSupport: 0b11001, auxCurrent: 2 },
    { kind: "msi", vectors: 8, perVectorMask: true },
    { kind: "msix", tableSize: 16, tableBar: 2, tableOffset: 0, pbaBar: 2, pbaOffset: 0x2000 },
    {
      kind: "pcie",
      maxPayloadSize: 512,
      interruptMessageNumber: 1,
      link: { maxSpeed: 4, maxWidth: 8, speed: 3, width: 4, aspmSupport: 3 },
    },
  ],
  extendedCapabilities: [
    {
      id: 0x01, // AER: uncorrectable severity at its reset value, ECRC generation and check capable
      version: 2,
      data: hex("00000000 00000000 30204600 00000000 00200000 a0000000 00000000 00000000 00000000 00000000"),
    },
    { id: 0x03, version: 1, data: hex("efbeadde 78563412") }, // DSN 12345678deadbeef
    { id: 0x0e, version: 1, data: hex("0001 0000") }, // ARI: next function 1
    {
      id: 0x10, // SR-IOV: 4 of 8 VFs at offset 128, stride 2, VF device 11ef; VF BAR0 64-bit prefetchable
      version: 1,
      data: hex(
        "00000000 0000 0000 0800 0800 0400 00 00 8000 0200 0000 ef11 53050000 01000000" +
          "0c000000 00000000 00000000 00000000 00000000 00000000 00000000",
      ),
    },
  ],
} as const;

async function startPciDevice(description: unknown) {
  const socketPath = join(tempDir(), "pci.sock");
  await forkFixture("pci-device-server.ts", [socketPath, JSON.stringify(description)]);
  return socketPath;
}

describe("emu-lspci -vv prints what lspci -F prints for the same config space", () => {
  it("libvfio-user's gpio sample (no capabilities, six I/O BARs)", async (ctx) => {
    if (noLspci) ctx.skip(noLspci);
    const report = gpioReport();
    const { header, capabilities } = expectSameAsLspci(
      formatLspci(report, { verbose: 2 }),
      formatLspci(report, { hex: 4 }),
    );
    expect(capabilities).toEqual([]);
    expect(header).toContain("\tRegion 2: I/O ports at <unassigned> [disabled] [size=256]");
  });

  it("the client tests' device (PM, MSI, MSI-X, PCI Express), through the CLI", async (ctx) => {
    if (noLspci) ctx.skip(noLspci);
    const dev = await startDevice();
    const { capabilities } = expectSameAsLspci(
      await cli([dev.socketPath, "-vv"]),
      await cli([dev.socketPath, "-xxxx"]),
    );
    expect(capabilities).toContain("\t\tDevCap:\tMaxPayload 256 bytes, PhantFunc 0, Latency L0s <64ns, L1 <1us");
    expect(capabilities).toContain(
      "\t\tLnkCap2: Supported Link Speeds: 2.5-8GT/s, Crosslink- Retimer- 2Retimers- DRS-",
    );
  });

  it("an endpoint with AER, DSN, ARI and SR-IOV, after a driver programmed it, through the CLI", async (ctx) => {
    if (noLspci) ctx.skip(noLspci);
    const socketPath = await startPciDevice(AER_DEVICE);
    // What a driver does first: BAR addresses, COMMAND, MSI-X on, device control.
    const c = await VfioUserClient.connect(socketPath);
    const le32 = (v: number) => Uint8Array.of(v, v >> 8, v >> 16, v >>> 24);
    const cfg = (offset: number, data: Uint8Array) => c.regionWrite(PciRegion.CONFIG, BigInt(offset), data);
    await cfg(0x10, le32(0xfe000000));
    await cfg(0x18, le32(0xfd000000));
    await cfg(0x20, le32(0xc000));
    await cfg(0x30, le32(0xfc000001));
    await cfg(0x04, Uint8Array.of(0x07, 0x04)); // I/O, memory, bus master, INTx disabled
    await c.close();
    const ours = await cli([socketPath, "-vv"]);
    const { header, capabilities } = expectSameAsLspci(ours, await cli([socketPath, "-xxxx"]));
    expect(header).toContain("\tRegion 0: Memory at fe000000 (64-bit, prefetchable) [size=128K]");
    expect(header).toContain("\tExpansion ROM at fc000000 [size=64K]");
    expect(capabilities.filter((l) => /^\tCapabilities: \[\w+ v\d\]/.test(l))).toEqual([
      "\tCapabilities: [100 v2] Advanced Error Reporting",
      "\tCapabilities: [12c v1] Device Serial Number 12-34-56-78-de-ad-be-ef",
      "\tCapabilities: [138 v1] Alternative Routing-ID Interpretation (ARI)",
      "\tCapabilities: [140 v1] Single Root I/O Virtualization (SR-IOV)",
    ]);
    expect(capabilities).toContain(
      "\t\tUESvrt:\tDLP+ SDES+ TLP- FCP+ CmpltTO- CmpltAbrt- UnxCmplt- RxOF+ MalfTLP+ ECRC- UnsupReq- ACSViol-",
    );
    expect(capabilities).toContain("\t\tRegion 0: Memory at 0000000000000000 (64-bit, prefetchable)");
  });
});
