import { formatAddress, isVfioDeviceError, parseAddress, sameAddress } from "@emu/vfio-device";
import { describe, expect, it } from "vitest";

describe("device addresses", () => {
  it("parses full and short BDFs", () => {
    expect(parseAddress("0000:3b:00.1")).toEqual({ kind: "pci", domain: 0, bus: 0x3b, device: 0, function: 1 });
    expect(parseAddress("3B:1f.7")).toEqual({ kind: "pci", domain: 0, bus: 0x3b, device: 0x1f, function: 7 });
    expect(parseAddress("10000:00:02.0")).toEqual({ kind: "pci", domain: 0x10000, bus: 0, device: 2, function: 0 });
    expect(formatAddress(parseAddress("3b:00.1"))).toBe("0000:3b:00.1");
  });
  it("parses mdev UUIDs in canonical lower case", () => {
    const a = parseAddress("83B8F4F2-509F-382F-3C1E-E6BFE0FA1001");
    expect(a).toEqual({ kind: "mdev", uuid: "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001" });
    expect(sameAddress(a, parseAddress("83b8f4f2-509f-382f-3c1e-e6bfe0fa1001"))).toBe(true);
  });
  it("parses vfio-user sockets", () => {
    expect(parseAddress("vfio-user:/tmp/x.sock")).toEqual({ kind: "vfio-user", socketPath: "/tmp/x.sock" });
    expect(parseAddress("/run/dev.sock")).toEqual({ kind: "vfio-user", socketPath: "/run/dev.sock" });
    expect(formatAddress(parseAddress("/run/dev.sock"))).toBe("vfio-user:/run/dev.sock");
  });
  it.each(["", "00:20.0", "00:1f.8", "xyz", "0000:3b:00", "83b8f4f2-509f-382f-3c1e-e6bfe0fa100", "vfio-user:"])(
    "refuses %j with a tagged error",
    (text) => {
      let err: unknown;
      try {
        parseAddress(text);
      } catch (e) {
        err = e;
      }
      expect(isVfioDeviceError(err)).toBe(true);
      expect((err as { reason: string }).reason).toBe("BadAddress");
    },
  );
  it("says what is wrong, and with what text", () => {
    expect(() => parseAddress("0000:3b:20.0")).toThrow(
      '"0000:3b:20.0" is not a PCI address: its device is 0x20, not 0..0x1f',
    );
    expect(() => parseAddress("0000:zz:01.0")).toThrow(
      /^"0000:zz:01\.0" is not a PCI address \(dddd:bb:dd\.f\), an mdev UUID/,
    );
    expect(() => parseAddress("vfio-user:")).toThrow('empty vfio-user socket path in "vfio-user:"');
  });
});
