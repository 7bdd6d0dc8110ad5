// The driver in-process: devargs (with the key and value named in errors), configure, attributes, the NIC view.
import { join } from "node:path";
import { type EmudevDriver, EmudevRegistry, isEmudevError } from "@emu/emudev";
import { MAX_VECTORS } from "@emu/iavf-common";
import { iavf, iavfDriver, rxQueueId, txQueueId } from "@emu/iavf-emu";
import { afterThisTest, tempDir } from "@emu/test-kit";
import { describe, expect, it } from "vitest";

function registry() {
  const emu = new EmudevRegistry({
    onError: (e) => {
      throw e;
    },
  });
  emu.registerDriver(iavfDriver);
  afterThisTest(() => emu.closeAll());
  return emu;
}

const sock = () => join(tempDir({ prefix: "iavf-drv-" }), "s.sock");

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isEmudevError(e)) return `${e.reason}: ${e.message}`;
    if (e instanceof Error) return `${e.name}: ${e.message}`;
  }
  return "no error";
}

describe("emu_iavf devargs and settings", () => {
  it("reads queues, mac, mtu, speed and link; refuses bad values naming the key", () => {
    const emu = registry();
    const dev = emu.create(`emu_iavf0,sock=${sock()},queues=16,mac=02:11:22:33:44:55,mtu=9000,speed=100000,link=up`);
    expect(dev.info).toEqual({ type: "iavf", queueCount: 32, features: 0x900a1n });
    expect([dev.attribute("queues"), dev.attribute("mac"), dev.attribute("mtu")]).toEqual([
      16,
      "02:11:22:33:44:55",
      9000,
    ]);
    expect([dev.attribute("link"), dev.attribute("speed")]).toEqual([true, 100000]);
    const d1 = emu.create(`emu_iavf1,sock=${sock()}`);
    expect(d1.attribute("queues")).toBe(1);
    expect(d1.attribute("link")).toBe(false);
    expect(d1.attribute("mac")).toMatch(/^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/); // random, unicast, locally administered
    const bad = (args: string) => refusal(() => emu.create(`emu_iavf9,sock=/tmp/x${args}`));
    expect(bad(",queues=17")).toBe('Devargs: devargs "emu_iavf9": bad value "17" for key "queues": must be 1..16');
    expect(bad(",queues=0")).toMatch(/must be 1..16/);
    expect(bad(",mac=01:00:5e:00:00:01")).toMatch(/key "mac": a multicast address cannot be a port's MAC/);
    expect(bad(",mac=00:00:00:00:00:00")).toMatch(/key "mac": the zero MAC/);
    expect(bad(",mac=xyz")).toMatch(/key "mac": not a MAC address/);
    expect(bad(",link=sideways")).toMatch(/key "link": must be auto/);
    expect(bad(",mtu=10000")).toMatch(/key "mtu": must be 68..9702/);
    expect(bad(",qeueus=2")).toMatch(/unknown key "qeueus" for emu_iavf \(accepted: queues, mac, mtu, speed, link\)/);
  });

  it("configure checks its settings; attributes check their values; read-only ones refuse", () => {
    const emu = registry();
    const dev = emu.create(`emu_iavf0,sock=${sock()}`);
    expect(refusal(() => dev.configure({ verbose: true }))).toMatch(/unknown settings verbose/);
    expect(refusal(() => dev.configure({ resetDelayMs: -1 }))).toMatch(/resetDelayMs must be 0..1000/);
    expect(refusal(() => dev.configure({ onVirtchnl: 3 }))).toMatch(/onVirtchnl must be a function/);
    dev.configure({ resetDelayMs: 0, onVirtchnl: () => {} });
    expect(refusal(() => dev.setAttribute("link", "up"))).toMatch(/link is true \(up\) or false \(down\)/);
    expect(refusal(() => dev.setAttribute("speed", 1.5))).toMatch(/not a 32-bit count/);
    expect(refusal(() => dev.setAttribute("mac", "02:00:00:00:00:02"))).toBe(
      'InvalidValue: attribute "mac" is read-only',
    );
    dev.setAttribute("link", true);
    expect(iavf(dev).link).toEqual({ up: true, speedMbps: 25000 });
  });

  it("the NIC view is typed and refuses other drivers' devices; queue ids pair up", () => {
    const emu = registry();
    const dev = emu.create(`emu_iavf0,sock=${sock()},queues=4,mac=02:00:00:00:00:07`);
    const nic = iavf(dev);
    expect([nic._tag, nic.queuePairs, nic.vsiId, nic.defaultMac, nic.capabilities]).toEqual([
      "IavfNic",
      4,
      1,
      "02:00:00:00:00:07",
      0,
    ]);
    expect(nic.filters().macs).toEqual([{ mac: "02:00:00:00:00:07", type: 1 }]);
    expect(nic.rss().lut.slice(0, 6)).toEqual(Uint8Array.of(0, 1, 2, 3, 0, 1));
    expect(nic.interrupt(1)).toBe("dropped"); // not started
    expect(nic.itr(MAX_VECTORS, 0)).toBe(0);
    expect([rxQueueId(3), txQueueId(3)]).toEqual([6, 7]);
    const other: EmudevDriver = {
      name: "other",
      args: {},
      create: () => ({
        info: { type: "x", queueCount: 0, features: 0n },
        model: () => ({ pci: { vendorId: 1, deviceId: 2, classCode: 0 } }),
      }),
    };
    emu.registerDriver(other);
    expect(refusal(() => iavf(emu.create(`other0,sock=${sock()}`)))).toBe(
      "TypeError: other0 is not an emu_iavf device",
    );
  });
});
