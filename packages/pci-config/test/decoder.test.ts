import {
  barSizeFromMask,
  capabilityTitle,
  type DecodedAer,
  type DecodedConfigSpace,
  type DecodedPcie,
  decodeConfigSpace,
  extendedCapabilityTitle,
  isPciConfigError,
  lookupPciClass,
  PciCapId,
  PciExtCapId,
  pciePowerLimitWatts,
} from "@emu/pci-config";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function ok(bytes: Uint8Array): DecodedConfigSpace {
  const r = decodeConfigSpace(bytes);
  if (!r.ok) throw r.error;
  return r.value;
}

// libvfio-user's samples/gpio-pci-idio-16 config space: the 256-byte REGION_READ(region 7) reply payload of session
// "probe-vs-gpio" (seq 55) in shared/fixtures/libvfio-user-frames.json, taken after the probe wrote COMMAND = 6.
const GPIO_CONFIG = hex(
  "4f49c80d06000000000000000000000001000000010000000100000001000000" +
    "0100000001000000000000000000000000000000000000000000000000010000" +
    "00".repeat(192),
);

describe("decodeConfigSpace: libvfio-user gpio sample", () => {
  it("decodes the header fields", () => {
    const d = ok(GPIO_CONFIG);
    expect(d.vendorId).toBe(0x494f);
    expect(d.deviceId).toBe(0x0dc8);
    expect(d.command).toBe(0x0006); // MEMORY | MASTER, as the probe wrote
    expect(d.status).toBe(0);
    expect(d.revision).toBe(0);
    expect(d.classCode).toBe(0);
    expect(d.headerType).toBe(0);
    expect(d.multiFunction).toBe(false);
    expect(d.subsystemVendorId).toBe(0);
    expect(d.subsystemId).toBe(0);
    expect(d.interruptLine).toBe(0);
    expect(d.interruptPin).toBe(1); // INTA#
    expect(d.capabilitiesPointer).toBe(0);
    expect(d.capabilities).toEqual([]);
    expect(d.extendedCapabilities).toEqual([]);
    expect(d.issues).toEqual([]);
  });

  it("decodes the BARs libvfio-user reports (every register reads 0x1: the I/O-space bit, address 0)", () => {
    const d = ok(GPIO_CONFIG);
    expect(d.bars.map((b) => [b.index, b.kind, b.address])).toEqual([
      [0, "io", 0n],
      [1, "io", 0n],
      [2, "io", 0n],
      [3, "io", 0n],
      [4, "io", 0n],
      [5, "io", 0n],
    ]);
  });

  it("sizes BAR2 from the value libvfio-user read back after writing all ones (0xffffff01 = 256-byte I/O)", () => {
    // seq 45: REGION_READ cfg@0x18 x4 after the sizing write
    expect(barSizeFromMask(0xffffff01)).toBe(0x100n);
  });
});

describe("decodeConfigSpace: hand-written vectors", () => {
  // An 82574L-like endpoint: PM @0xc8 -> MSI @0xd0 -> PCIe @0x60 -> MSI-X @0xa0; AER + DSN extended caps.
  function vector(): Uint8Array {
    const b = new Uint8Array(4096);
    b.set(hex("8680d310 0700 1000 00 00 0002 10 00 00 00"), 0x00); // ids, command, status(CAP_LIST), class 020000
    b.set(hex("0000e0fe 00000000 00000000 01e00000 0c00c0fd 00000000"), 0x10); // BAR0 mem32, BAR3 io, BAR4 mem64 pref
    b.set(hex("8680 0000"), 0x2c);
    b.set(hex("00000000 c8"), 0x30);
    b.set(hex("0b 01 00 00"), 0x3c);
    b.set(hex("01 d0 2240 0800 0000"), 0xc8); // PM v2, D0 PMCSR with no-soft-reset
    b.set(hex("05 60 8500 00f0e0fe 00000000 2540 0000"), 0xd0); // MSI 64-bit, 4 vectors capable, enabled, 1 enabled
    b.set(
      hex("10 a0 0200 c1800000 1028 1000 11ec4300 4000 1100 00000000 00000000 00000000 00000000 00000000 0000 0000"),
      0x60,
    );
    b.set(hex("11 00 0480 03000000 03200000"), 0xa0); // MSI-X 5 entries, enabled, table BAR3+0, PBA BAR3+0x2000
    b.set(hex("01000214 00000000"), 0x100); // AER v2 -> 0x140
    b.set(hex("03000100 78563412 f0debc9a"), 0x140); // DSN v1, end
    return b;
  }

  it("decodes header, BARs and the whole capability chain", () => {
    const d = ok(vector());
    expect(d.vendorId).toBe(0x8086);
    expect(d.deviceId).toBe(0x10d3);
    expect(d.baseClass).toBe(0x02);
    expect(d.subClass).toBe(0x00);
    expect(d.bars.map((b) => [b.index, b.kind, b.prefetchable, b.address])).toEqual([
      [0, "memory32", false, 0xfee00000n],
      [3, "io", false, 0xe000n],
      [4, "memory64", true, 0xfdc00000n],
    ]);
    expect(d.capabilities.map((c) => [c.id, c.offset])).toEqual([
      [PciCapId.PM, 0xc8],
      [PciCapId.MSI, 0xd0],
      [PciCapId.EXP, 0x60],
      [PciCapId.MSIX, 0xa0],
    ]);
    const [pm, msi, exp, msix] = d.capabilities;
    expect(pm).toMatchObject({
      kind: "pm",
      title: "Power Management",
      version: 2,
      dataSelect: 0,
      dataScale: 0,
      bridgeSupport: 0,
      d1: false,
      pmeSupport: 0b01000,
      powerState: 0,
      noSoftReset: true,
    });
    expect(msi).toMatchObject({
      kind: "msi",
      enabled: true,
      address64: true,
      perVectorMask: false,
      vectorsCapable: 4,
      vectorsEnabled: 1,
      address: 0xfee0f000n,
      data: 0x4025,
      maskBits: undefined,
    });
    expect(exp).toMatchObject({
      kind: "pcie",
      title: "Express",
      version: 2,
      deviceType: 0,
      deviceTypeName: "Endpoint",
      devCap: {
        maxPayloadSize: 256,
        phantomFunctionBits: 0,
        extendedTag: false,
        l0sAcceptableLatencyNs: 512,
        l1AcceptableLatencyNs: 1000,
        roleBasedErrorReporting: true,
        slotPowerLimitWatts: 0,
        flr: false,
        raw: 0x80c1,
      },
      devCtl: { maxPayloadSize: 128, maxReadRequestSize: 512, relaxedOrdering: true, noSnoop: true, raw: 0x2810 },
      devSta: { auxPowerDetected: true, correctableError: false, raw: 0x0010 },
      lnkCap: {
        maxSpeed: 1,
        maxWidth: 1,
        aspmSupport: 3,
        l0sExitLatencyNs: 4000,
        l1ExitLatencyNs: Number.POSITIVE_INFINITY,
        aspmOptionalityCompliance: true,
        clockPm: false,
      },
      lnkCtl: { aspm: 0, commonClock: true, rcb128: false },
      lnkSta: { speed: 1, width: 1, linkTraining: false },
      sltCap: undefined,
      root: undefined,
      devCap2: { completionTimeoutRanges: 0, raw: 0 },
      lnkCap2: { supportedSpeeds: 0, raw: 0 },
    });
    expect(msix).toMatchObject({
      kind: "msix",
      enabled: true,
      functionMask: false,
      tableSize: 5,
      tableBar: 3,
      tableOffset: 0,
      pbaBar: 3,
      pbaOffset: 0x2000,
    });
    expect(d.extendedCapabilities).toMatchObject([
      { id: PciExtCapId.ERR, name: "ERR", title: "Advanced Error Reporting", version: 2, offset: 0x100, next: 0x140 },
      { id: PciExtCapId.DSN, name: "DSN", version: 1, offset: 0x140, next: 0, serialNumber: 0x9abcdef012345678n },
    ]);
    expect(d.extendedCapabilities[0]).toMatchObject({ kind: "aer", root: undefined, headerLog: [0, 0, 0, 0] });
    expect(d.issues).toEqual([]);
    expect(d.capabilityChainBreak).toBeUndefined();
  });

  it("reads only 256 bytes of it as conventional space (no extended capabilities)", () => {
    const d = ok(vector().subarray(0, 256));
    expect(d.extendedCapabilities).toEqual([]);
    expect(d.capabilities).toHaveLength(4);
  });

  it("stops at a capability loop and reports it", () => {
    const b = new Uint8Array(256);
    b.set(hex("0000 0000 0000 1000"), 0);
    b[0x34] = 0x40;
    b.set(hex("09 50 04 00"), 0x40);
    b.set(hex("09 40 04 00"), 0x50); // back to 0x40
    const d = ok(b);
    expect(d.capabilities.map((c) => c.offset)).toEqual([0x40, 0x50]);
    expect(d.issues.join()).toMatch(/loops at 0x40/);
    expect(d.capabilityChainBreak).toMatchObject({ reason: "looped", offset: 0x40 });
  });

  it("ignores the low two pointer bits and stops at pointers into the header", () => {
    const b = new Uint8Array(256);
    b.set(hex("0000 0000 0000 1000"), 0);
    b[0x34] = 0x43;
    b.set(hex("01 10 0300 0000"), 0x40); // next -> 0x10 (inside the header)
    const d = ok(b);
    expect(d.capabilities.map((c) => [c.name, c.offset])).toEqual([["PM", 0x40]]);
    expect(d.issues.join()).toMatch(/into the header/);
  });

  it("does not walk the list when STATUS.CAP_LIST is clear", () => {
    const b = new Uint8Array(256);
    b[0x34] = 0x40;
    b.set(hex("05 00 0000"), 0x40);
    expect(ok(b).capabilities).toEqual([]);
  });

  it("reports an MSI capability cut off by the end of config space", () => {
    const b = new Uint8Array(256);
    b.set(hex("0000 0000 0000 1000"), 0);
    b[0x34] = 0xfc;
    b.set(hex("05 00 8001"), 0xfc);
    const d = ok(b);
    expect(d.capabilities[0]).toMatchObject({ kind: "msi", address64: true, perVectorMask: true });
    expect(d.issues.join()).toMatch(/runs past the end/);
  });

  it("stops at an extended capability loop", () => {
    const b = new Uint8Array(4096);
    b.set(hex("01000010"), 0x100); // AER -> 0x100 (itself)
    const d = ok(b);
    expect(d.extendedCapabilities).toHaveLength(1);
    expect(d.issues.join()).toMatch(/extended capability list loops/);
    expect(d.extendedCapabilityChainBreak).toMatchObject({ reason: "looped", offset: 0x100 });
  });

  it("stops at a capability whose id reads 0xff (an absent function)", () => {
    const b = new Uint8Array(256);
    b.set(hex("0000 0000 0000 1000"), 0);
    b[0x34] = 0x40;
    b.set(hex("05 50 0000"), 0x40);
    b.set(hex("ff ff ffff"), 0x50);
    const d = ok(b);
    expect(d.capabilities.map((c) => c.offset)).toEqual([0x40]);
    expect(d.capabilityChainBreak).toMatchObject({ reason: "broken", offset: 0x50 });
  });

  it("leaves out BAR registers reading all ones and reads Min_Gnt, Max_Lat and the ROM register", () => {
    const b = new Uint8Array(256);
    b.set(hex("ffffffff 00100000"), 0x10); // BAR0 all ones (nothing there), BAR1 memory at 0x1000
    b.set(hex("01 08 ff 00"), 0x30); // ROM register 0x00ff0801: address 0x00ff0800, enabled
    b.set(hex("0b 01 10 20"), 0x3c); // line 11, pin A, Min_Gnt 0x10, Max_Lat 0x20
    const d = ok(b);
    expect(d.bars.map((x) => x.index)).toEqual([1]);
    expect(d.romAddress).toEqual({ address: 0x00ff0800, enabled: true, raw: 0x00ff0801 });
    expect([d.minGrant, d.maxLatency]).toEqual([0x10, 0x20]);
  });

  it("calls capabilities what lspci calls them, and unknown ones by number", () => {
    const b = new Uint8Array(256);
    b.set(hex("0000 0000 0000 1000"), 0);
    b[0x34] = 0x40;
    b.set(hex("04 44 2503"), 0x40); // Slot ID: 5 slots, first in chassis, chassis 3
    b.set(hex("0a 48 3020"), 0x44); // debug port: BAR 1, offset 0x30
    b.set(hex("15 00 1234"), 0x48); // FPB: not known to lspci 3.9
    const [slot, dbg, fpb] = ok(b).capabilities;
    expect(slot).toMatchObject({
      kind: "slot-id",
      title: "Slot ID",
      expansionSlots: 5,
      firstInChassis: true,
      chassis: 3,
    });
    expect(dbg).toMatchObject({ kind: "debug-port", offset: 0x44, bar: 1, barOffset: 0x30 });
    expect(fpb).toMatchObject({ kind: "other", id: 0x15, name: "FPB", title: undefined, word: 0x3412 });
  });

  it("returns a tagged Truncated error for fewer than 64 bytes", () => {
    const r = decodeConfigSpace(new Uint8Array(63));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(isPciConfigError(r.error)).toBe(true);
      expect(r.error.reason).toBe("Truncated");
    }
  });

  it("never throws on random bytes of any length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 4200 }), (bytes) => {
        const r = decodeConfigSpace(bytes);
        expect(r.ok).toBe(bytes.length >= 64);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on random capability lists (status CAP_LIST set)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 256, maxLength: 256 }), (bytes) => {
        bytes[6] = (bytes[6] as number) | 0x10;
        const r = decodeConfigSpace(bytes);
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.value.capabilities.length).toBeLessThanOrEqual(48);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("decodeConfigSpace: PM, PCI Express root port with a slot (hand-written)", () => {
  // PM v3 with PMCSR 0x5608 (DSel 11, DScale 2, NoSoftRst), bridge extensions 0xc0, data 0x37; a PCI Express v2 root
  // port with a slot and every register given odd values. The comments give each register's value.
  function vector(): Uint8Array {
    const b = new Uint8Array(4096);
    b.set(hex("34120010 0000 1000 00 00 8008 00 00 00 00"), 0);
    b[0x34] = 0x40;
    b.set(hex("01 60 0300 0856 c0 37"), 0x40);
    b.set(
      hex(
        "10 00 4207" + // FLAGS 0x0742: v2, root port, slot, interrupt message 3
          "72976404" + // DEVCAP 0x04649772
          "29d6 2d00" + // DEVCTL 0xd629, DEVSTA 0x002d
          "04093d07" + // LNKCAP 0x073d0904
          "5b05 83a8" + // LNKCTL 0x055b, LNKSTA 0xa883
          "497a6400" + // SLTCAP 0x00647a49
          "a115 6101" + // SLTCTL 0x15a1, SLTSTA 0x0161
          "0900 0100 00010100" + // RTCTL 0x0009, RTCAP 0x0001, RTSTA 0x00010100
          "ffb82d81" + // DEVCAP2 0x812db8ff
          "2644 0000" + // DEVCTL2 0x4426
          "1e010080" + // LNKCAP2 0x8000011e
          "a470 03c2", // LNKCTL2 0x70a4, LNKSTA2 0xc203
      ),
      0x60,
    );
    return b;
  }

  it("PM: data select and scale, bridge support extensions, data register", () => {
    expect(ok(vector()).capabilities[0]).toMatchObject({
      kind: "pm",
      version: 3,
      noSoftReset: true,
      dataSelect: 11,
      dataScale: 2,
      bridgeSupport: 0xc0,
      b2b3: true,
      busPowerClockControl: true,
      data: 0x37,
    });
  });

  it("device capabilities, control and status", () => {
    const exp = ok(vector()).capabilities[1] as DecodedPcie;
    expect(exp).toMatchObject({ deviceType: 4, deviceTypeName: "Root Port", slotImplemented: true });
    expect(exp.interruptMessageNumber).toBe(3);
    expect(exp.devCap).toEqual({
      maxPayloadSize: 512,
      phantomFunctionBits: 2,
      extendedTag: true,
      l0sAcceptableLatencyNs: 2000,
      l1AcceptableLatencyNs: 8000,
      attentionButton: true,
      attentionIndicator: false,
      powerIndicator: false,
      roleBasedErrorReporting: true,
      slotPowerLimitWatts: 2.5,
      flr: false,
      raw: 0x04649772,
    });
    expect(exp.devCtl).toEqual({
      correctableErrorReporting: true,
      nonFatalErrorReporting: false,
      fatalErrorReporting: false,
      unsupportedRequestReporting: true,
      relaxedOrdering: false,
      maxPayloadSize: 256,
      extendedTag: false,
      phantomFunctions: true,
      auxPowerPm: true,
      noSnoop: false,
      maxReadRequestSize: 4096,
      initiateFlr: true,
      bridgeConfigRetry: true,
      raw: 0xd629,
    });
    expect(exp.devSta).toEqual({
      correctableError: true,
      nonFatalError: false,
      fatalError: true,
      unsupportedRequest: true,
      auxPowerDetected: false,
      transactionsPending: true,
      raw: 0x2d,
    });
  });

  it("link capabilities, control and status", () => {
    const exp = ok(vector()).capabilities[1] as DecodedPcie;
    expect(exp.lnkCap).toEqual({
      maxSpeed: 4,
      maxWidth: 16,
      aspmSupport: 2,
      l0sExitLatencyNs: 64,
      l1ExitLatencyNs: 4000,
      clockPm: true,
      surpriseDownReporting: true,
      dataLinkLayerActiveReporting: true,
      bandwidthNotification: true,
      aspmOptionalityCompliance: false,
      portNumber: 7,
      raw: 0x073d0904,
    });
    expect(exp.lnkCtl).toEqual({
      aspm: 3,
      rcb128: true,
      linkDisable: true,
      commonClock: true,
      extendedSynch: false,
      clockPm: true,
      hwAutonomousWidthDisable: false,
      bandwidthManagementInterrupt: true,
      autonomousBandwidthInterrupt: false,
      raw: 0x055b,
    });
    expect(exp.lnkSta).toEqual({
      speed: 3,
      width: 8,
      trainingError: false,
      linkTraining: true,
      slotClock: false,
      dataLinkLayerActive: true,
      bandwidthManagement: false,
      autonomousBandwidth: true,
      raw: 0xa883,
    });
  });

  it("slot and root registers", () => {
    const exp = ok(vector()).capabilities[1] as DecodedPcie;
    expect(exp.sltCap).toEqual({
      attentionButton: true,
      powerController: false,
      mrlSensor: false,
      attentionIndicator: true,
      powerIndicator: false,
      hotPlugSurprise: false,
      hotPlugCapable: true,
      powerLimitWatts: 350, // value 0xf4 at scale 1.0x: the extended encoding 250 + 25 × 4
      electromechanicalInterlock: false,
      noCommandCompleted: true,
      physicalSlotNumber: 12,
      raw: 0x00647a49,
    });
    expect(exp.sltCtl).toMatchObject({
      attentionButtonPressedEnable: true,
      hotPlugInterruptEnable: true,
      attentionIndicator: 2,
      powerIndicator: 1,
      powerControllerOff: true,
      dataLinkLayerStateChangedEnable: true,
      mrlSensorChangedEnable: false,
    });
    expect(exp.sltSta).toMatchObject({
      attentionButtonPressed: true,
      mrlSensorOpen: true,
      presenceDetected: true,
      dataLinkLayerStateChanged: true,
      mrlSensorChanged: false,
    });
    expect(exp.root).toEqual({
      crsSoftwareVisibilityCapable: true,
      systemErrorOnCorrectable: true,
      systemErrorOnNonFatal: false,
      systemErrorOnFatal: false,
      pmeInterruptEnable: true,
      crsSoftwareVisibilityEnable: false,
      pmeRequesterId: 0x0100,
      pmeStatus: true,
      pmePending: false,
    });
  });

  it("the version-2 registers", () => {
    const exp = ok(vector()).capabilities[1] as DecodedPcie;
    expect(exp.devCap2).toEqual({
      completionTimeoutRanges: 0xf,
      completionTimeoutDisable: true,
      ariForwarding: true,
      atomicOpRouting: true,
      atomicOp32Completer: true,
      atomicOp64Completer: false,
      cas128Completer: false,
      noRoEnabledPrPrPassing: false,
      ltr: true,
      tphCompleter: 3,
      lnSystemCls: 2,
      tag10BitCompleter: true,
      tag10BitRequester: false,
      obff: 3,
      extendedFmtField: false,
      endEndTlpPrefix: true,
      maxEndEndTlpPrefixes: 4, // field 0 means 4
      emergencyPowerReduction: 1,
      emergencyPowerReductionInitRequired: false,
      frs: true,
      raw: 0x812db8ff,
    });
    expect(exp.devCtl2).toMatchObject({ completionTimeoutValue: 6, ariForwarding: true, ltr: true, obff: 2 });
    expect(exp.lnkCap2).toEqual({
      supportedSpeeds: 0b1111,
      crosslink: true,
      retimerPresenceDetect: false,
      twoRetimersPresenceDetect: false,
      drs: true,
      raw: 0x8000011e,
    });
    expect(exp.lnkCtl2).toEqual({
      targetSpeed: 4,
      enterCompliance: false,
      hwAutonomousSpeedDisable: true,
      selectableDeemphasis: false,
      transmitMargin: 1,
      enterModifiedCompliance: false,
      complianceSos: false,
      compliancePreset: 7,
      raw: 0x70a4,
    });
    expect(exp.lnkSta2).toEqual({
      deemphasis35dB: true,
      equalizationComplete: true,
      equalizationPhase1: false,
      equalizationPhase2: false,
      equalizationPhase3: false,
      linkEqualizationRequest: false,
      retimerDetected: false,
      twoRetimersDetected: false,
      crosslinkResolution: 2,
      downstreamComponentPresence: 4,
      drsMessageReceived: true,
      raw: 0xc203,
    });
  });

  it("a root-complex integrated endpoint has no link registers; a version-1 capability no version-2 ones", () => {
    const b = vector();
    b.set(hex("9100"), 0x62); // v1, RC integrated endpoint
    const exp = ok(b).capabilities[1] as DecodedPcie;
    expect([exp.deviceTypeName, exp.lnkCap, exp.lnkSta, exp.sltCap, exp.root, exp.devCap2, exp.lnkSta2]).toEqual([
      "Root Complex Integrated Endpoint",
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe("decodeConfigSpace: extended capabilities (hand-written)", () => {
  // The root port above with AER (root registers), DSN, ARI, SR-IOV, ACS, ATS, PRI, PASID, LTR, a vendor-specific and
  // a designated vendor-specific capability, and one lspci does not know, chained from 0x100.
  function vector(): Uint8Array {
    const b = new Uint8Array(4096);
    b.set(hex("34120010 0000 1000 00 00 8008 00 00 00 00"), 0);
    b[0x34] = 0x60;
    b.set(hex("10 00 4200"), 0x60); // PCI Express v2 root port, nothing else set
    b.set(
      hex(
        "01000214" + // AER v2 -> 0x140
          "10101000 20004000 30200600" + // uncorrectable status, mask, severity
          "c1100000 00200000" + // correctable status, mask
          "f3150000" + // capabilities and control
          "04030201 08070605 0c0b0a09 100f0e0d" + // header log
          "05000000 5d000058 0001 0802", // root error command, status, source ids
      ),
      0x100,
    );
    b.set(hex("03000115 78563412 f0debc9a"), 0x140); // DSN -> 0x150
    b.set(hex("0e000116 0305 3200"), 0x150); // ARI -> 0x160
    b.set(
      hex(
        "1000011a 05006000 1900 0100 0800 0800 0400 00 00 8000 0200 0000 ed10 53050000 01000000" +
          "0c000000 01000000 000000fe 00000000 ffffffff 00000000" + // VF BAR0 64-bit pref @4G, BAR2, BAR4 all ones
          "03100000", // VF migration state: BIR 3, offset 0x1000
      ),
      0x160,
    ); // SR-IOV -> 0x1a0
    b.set(hex("0d00011b 5f08 1500"), 0x1a0); // ACS -> 0x1b0
    b.set(hex("0f00011c 0500 0280"), 0x1b0); // ATS -> 0x1c0
    b.set(hex("1300011d 0100 0101 00020000 80000000"), 0x1c0); // PRI -> 0x1d0
    b.set(hex("1b00011e 0614 0500"), 0x1d0); // PASID -> 0x1e0
    b.set(hex("1800011f 640c 0110"), 0x1e0); // LTR -> 0x1f0
    b.set(hex("0b000120 cdab8101"), 0x1f0); // vendor-specific -> 0x200
    b.set(hex("23000121 8680c200 0500"), 0x200); // DVSEC -> 0x210
    b.set(hex("2a000100"), 0x210); // id 0x2a, end
    return b;
  }

  const caps = () => ok(vector()).extendedCapabilities;

  it("walks the whole chain with lspci's names", () => {
    expect(caps().map((c) => [c.offset, c.kind, c.title ?? c.name])).toEqual([
      [0x100, "aer", "Advanced Error Reporting"],
      [0x140, "dsn", "Device Serial Number"],
      [0x150, "ari", "Alternative Routing-ID Interpretation (ARI)"],
      [0x160, "sriov", "Single Root I/O Virtualization (SR-IOV)"],
      [0x1a0, "acs", "Access Control Services"],
      [0x1b0, "ats", "Address Translation Service (ATS)"],
      [0x1c0, "pri", "Page Request Interface (PRI)"],
      [0x1d0, "pasid", "Process Address Space ID (PASID)"],
      [0x1e0, "ltr", "Latency Tolerance Reporting"],
      [0x1f0, "vsec", "Vendor Specific Information"],
      [0x200, "dvsec", "Designated Vendor-Specific"],
      [0x210, "other", "ext cap 0x002a"],
    ]);
    expect(ok(vector()).issues).toEqual([]);
  });

  it("AER: the error registers bit by bit, the header log and (for a root port) the root registers", () => {
    const aer = caps()[0] as DecodedAer;
    expect(aer.uncorrectableStatus).toMatchObject({
      dataLinkProtocol: true,
      poisonedTlp: true,
      unsupportedRequest: true,
      surpriseDown: false,
      raw: 0x00101010,
    });
    expect(aer.uncorrectableMask).toMatchObject({ surpriseDown: true, dataLinkProtocol: false, raw: 0x00400020 });
    expect(aer.uncorrectableSeverity).toEqual({
      dataLinkProtocol: true,
      surpriseDown: true,
      poisonedTlp: false,
      flowControlProtocol: true,
      completionTimeout: false,
      completerAbort: false,
      unexpectedCompletion: false,
      receiverOverflow: true,
      malformedTlp: true,
      ecrc: false,
      unsupportedRequest: false,
      acsViolation: false,
      raw: 0x00062030,
    });
    expect(aer.correctableStatus).toEqual({
      receiverError: true,
      badTlp: true,
      badDllp: true,
      replayNumRollover: false,
      replayTimerTimeout: true,
      advisoryNonFatal: false,
      raw: 0x000010c1,
    });
    expect(aer.correctableMask).toMatchObject({ advisoryNonFatal: true, receiverError: false });
    expect(aer.control).toEqual({
      firstErrorPointer: 0x13,
      ecrcGenerationCapable: true,
      ecrcGenerationEnabled: true,
      ecrcCheckCapable: true,
      ecrcCheckEnabled: true,
      multipleHeaderRecordingCapable: false,
      multipleHeaderRecordingEnabled: true,
      tlpPrefixLogPresent: false,
      completionTimeoutHeaderLogCapable: true,
      raw: 0x000015f3,
    });
    expect(aer.headerLog).toEqual([0x01020304, 0x05060708, 0x090a0b0c, 0x0d0e0f10]);
    expect(aer.root).toEqual({
      correctableReportingEnable: true,
      nonFatalReportingEnable: false,
      fatalReportingEnable: true,
      correctableReceived: true,
      multipleCorrectableReceived: false,
      uncorrectableReceived: true,
      multipleUncorrectableReceived: true,
      firstUncorrectableFatal: true,
      nonFatalReceived: false,
      fatalReceived: true,
      interruptMessageNumber: 11,
      correctableSourceId: 0x0100,
      uncorrectableSourceId: 0x0208,
    });
  });

  it("AER of an endpoint has no root registers", () => {
    const b = vector();
    b[0x62] = 0x02; // endpoint
    expect((ok(b).extendedCapabilities[0] as DecodedAer).root).toBeUndefined();
  });

  it("DSN, ARI", () => {
    const [, dsn, ari] = caps();
    expect(dsn).toMatchObject({ kind: "dsn", version: 1, serialNumber: 0x9abcdef012345678n });
    expect(ari).toMatchObject({
      kind: "ari",
      mfvcFunctionGroupsCapable: true,
      acsFunctionGroupsCapable: true,
      nextFunction: 5,
      mfvcFunctionGroupsEnabled: false,
      acsFunctionGroupsEnabled: true,
      functionGroup: 3,
    });
  });

  it("SR-IOV: header fields, VF BARs and the migration state array", () => {
    expect(caps()[3]).toMatchObject({
      kind: "sriov",
      vfMigrationCapable: true,
      vf10BitTagRequesterSupported: true,
      vfMigrationInterruptMessageNumber: 3,
      vfEnable: true,
      vfMigrationEnable: false,
      vfMigrationInterruptEnable: false,
      vfMemorySpaceEnable: true,
      ariCapableHierarchy: true,
      vf10BitTagRequesterEnable: false,
      vfMigrationStatus: true,
      initialVfs: 8,
      totalVfs: 8,
      numVfs: 4,
      functionDependencyLink: 0,
      firstVfOffset: 128,
      vfStride: 2,
      vfDeviceId: 0x10ed,
      supportedPageSizes: 0x553,
      systemPageSize: 1,
      vfBars: [
        { index: 0, kind: "memory64", prefetchable: true, address: 0x1_0000_0000n, raw: 0x0c },
        { index: 2, kind: "memory32", prefetchable: false, address: 0xfe000000n, raw: 0xfe000000 },
      ],
      vfMigrationStateOffset: 0x1000,
      vfMigrationStateBir: 3,
    });
  });

  it("ACS, ATS, PRI, PASID, LTR", () => {
    const [, , , , acs, ats, pri, pasid, ltr] = caps();
    expect(acs).toMatchObject({
      capabilities: {
        sourceValidation: true,
        translationBlocking: true,
        requestRedirect: true,
        completionRedirect: true,
        upstreamForwarding: true,
        egressControl: false,
        directTranslatedP2p: true,
      },
      control: { sourceValidation: true, translationBlocking: false, requestRedirect: true, upstreamForwarding: true },
      egressControlVectorSize: 8,
    });
    expect(ats).toMatchObject({ invalidateQueueDepth: 5, enabled: true, smallestTranslationUnit: 2 });
    expect(pri).toMatchObject({
      enabled: true,
      reset: false,
      responseFailure: true,
      unexpectedPageRequestGroupIndex: false,
      stopped: true,
      outstandingPageRequestCapacity: 0x200,
      outstandingPageRequestAllocation: 0x80,
    });
    expect(pasid).toMatchObject({
      executePermissionSupported: true,
      privilegedModeSupported: true,
      maxPasidWidth: 0x14,
      enabled: true,
      executePermissionEnabled: false,
      privilegedModeEnabled: true,
    });
    // 100 × 2^(5×3) ns and 1 × 2^(5×4) ns
    expect(ltr).toMatchObject({ maxSnoopLatencyNs: 3_276_800, maxNoSnoopLatencyNs: 1_048_576 });
  });

  it("vendor-specific headers", () => {
    const [vsec, dvsec] = caps().slice(9);
    expect(vsec).toMatchObject({ vsecId: 0xabcd, vsecRevision: 1, vsecLength: 0x18 });
    expect(dvsec).toMatchObject({ dvsecVendorId: 0x8086, dvsecRevision: 2, dvsecLength: 12, dvsecId: 5 });
  });

  it("reports an extended capability cut off by the end of the bytes", () => {
    const b = new Uint8Array(0x104 + 8);
    b.set(hex("10000100"), 0x100); // SR-IOV needs 0x40 bytes
    const d = ok(b);
    expect(d.extendedCapabilities[0]?.kind).toBe("sriov");
    expect(d.issues.join()).toMatch(/SRIOV extended capability at 0x100 runs past the end/);
  });
});

describe("decodeConfigSpace: virtio vendor capabilities", () => {
  it("decodes virtio_pci_cap for a virtio device, the bare header for others", () => {
    const b = new Uint8Array(256);
    b.set(hex("f41a4110 0000 1000"), 0); // 1af4:1041 (virtio-net, modern)
    b[0x34] = 0x40;
    b.set(hex("09 54 14 02 04 000000 00300000 00100000 04000000"), 0x40); // notify cfg, BAR4 +0x3000, 0x1000, mult 4
    b.set(hex("09 00 10 01 04 000000 00000000 00100000"), 0x54); // common cfg, BAR4 +0, 0x1000
    const [notify, common] = ok(b).capabilities;
    expect(notify).toMatchObject({
      kind: "vendor",
      length: 20,
      virtio: { cfgType: 2, bar: 4, offset: 0x3000, length: 0x1000, notifyOffMultiplier: 4 },
    });
    expect(common).toMatchObject({
      virtio: { cfgType: 1, bar: 4, offset: 0, length: 0x1000, notifyOffMultiplier: undefined },
    });
    b.set(hex("3412"), 0); // another vendor: no virtio decoding
    expect(ok(b).capabilities[0]).toMatchObject({ kind: "vendor", virtio: undefined });
  });
});

describe("names and helpers", () => {
  it("capability titles as lspci prints them", () => {
    expect([capabilityTitle(PciCapId.PM), capabilityTitle(PciCapId.EXP), capabilityTitle(0x15)]).toEqual([
      "Power Management",
      "Express",
      undefined,
    ]);
    expect([extendedCapabilityTitle(PciExtCapId.ERR), extendedCapabilityTitle(PciExtCapId.SRIOV)]).toEqual([
      "Advanced Error Reporting",
      "Single Root I/O Virtualization (SR-IOV)",
    ]);
  });

  it("PCIe power limits, with the extended encodings at scale 1.0x", () => {
    expect(pciePowerLimitWatts(25, 1)).toBe(2.5);
    expect(pciePowerLimitWatts(75, 0)).toBe(75);
    expect(pciePowerLimitWatts(0xf0, 0)).toBe(250);
    expect(pciePowerLimitWatts(0xfe, 0)).toBe(600);
    expect(pciePowerLimitWatts(0xff, 0)).toBe(Number.POSITIVE_INFINITY);
    expect(pciePowerLimitWatts(0xff, 1)).toBeCloseTo(25.5);
  });

  it("class names and where they come from", () => {
    expect(lookupPciClass(0x020000)).toEqual({ name: "Ethernet controller", from: "subclass" });
    expect(lookupPciClass(0x067700)).toEqual({ name: "Bridge", from: "base" });
    expect(lookupPciClass(0xee0000)).toEqual({ name: "Class ee00", from: "none" });
  });
});

describe("barSizeFromMask", () => {
  it("sizes memory and I/O BARs", () => {
    expect(barSizeFromMask(0xfffff000)).toBe(0x1000n);
    expect(barSizeFromMask(0xfffff008)).toBe(0x1000n); // prefetchable flag ignored
    expect(barSizeFromMask(0x0000000c, 0xfffffffe)).toBe(0x2_0000_0000n); // 64-bit, 8 GiB
    expect(barSizeFromMask(0xffffffe1)).toBe(0x20n);
    expect(barSizeFromMask(0)).toBe(0n);
  });
});
